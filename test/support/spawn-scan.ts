/**
 * Finds the external programs a TypeScript source spawns, so a test can hold them to the program list in ./exhibit.
 *
 * Read from the syntax tree (the TypeScript compiler's parser): calls of `spawn`, `spawnSync`,
 * `execFile`, `execFileSync` (and `exec`/`execSync`, whose argument is a shell command) imported
 * from `node:child_process`, and of anything built on them in the same file or imported from
 * another: `promisify(execFile)` aliases and wrapper functions that pass a parameter on as the
 * program (`run(file, args)`) or as a shell script (`sh(cmd)`). Playwright's `executablePath:` is a
 * spawn too. The program is read from a string literal, a constant or parameter default holding
 * one (`process.env.EXHIBIT_PYTHON || 'python3'`), `process.execPath` (node), a known setting
 * (a config key's last part such as `chromiumPath`, or an environment variable such as
 * `EXHIBIT_MINIO_BIN`), or the last part of `path.join(…, 'name')`. `bash -c`/`sh -c` scripts and
 * `exec` commands are split into their commands. A spawn whose program cannot be read this way is
 * reported unresolved, unless a `// spawns: name …` comment on its line or the line before says
 * what it runs (`// spawns: listed` for code that runs whichever listed program it is given,
 * `// spawns: -` for none).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface SpawnSite {
  file: string;
  line: number;
  /** The call as written (shortened). */
  call: string;
  /** Programs it may run (base names). */
  programs: string[];
  /** Expressions it may run that could not be read; empty when every one was. */
  unresolved: string[];
}

export interface ScanOptions {
  /** Setting name → program: a config key's last part (`chromiumPath`) or an environment variable (`EXHIBIT_MINIO_BIN`). */
  settings: ReadonlyMap<string, string>;
}

interface Wrapper {
  /** `program`: the argument is the program; `shell`: the argument is a shell command. */
  kind: 'program' | 'shell';
  index: number;
}

interface Resolved {
  programs: Set<string>;
  /** Indices of parameters of the function the value comes from (the function is then a wrapper). */
  params: Set<number>;
  /** That function: the nearest one around the call that declares the parameter. */
  owner?: ts.SignatureDeclaration;
  unresolved: string[];
}

const FILE_SPAWNERS = new Set(['spawn', 'spawnSync', 'execFile', 'execFileSync']);
const SHELL_SPAWNERS = new Set(['exec', 'execSync']);
const SHELLS = new Set(['bash', 'sh', 'dash']);
/** Shell words a command follows (`if cmd`, `! cmd`, `exec cmd`). */
const SHELL_PREFIXES = new Set(['if', 'then', 'else', 'elif', 'do', 'while', 'until', '!', 'time', 'exec', 'command']);
/** Shell builtins and keywords that run no program. */
const SHELL_BUILTINS = new Set(['fi', 'done', 'esac', 'for', 'case', 'in', 'cd', 'echo', 'printf', 'test', '[', '[[', 'true', 'false', 'set', 'export', 'read', 'local', 'return', 'exit', 'source', '.', 'eval', 'wait', 'trap', 'shift', ':']);
const HOLE = '\u0000';

const empty = (): Resolved => ({ programs: new Set(), params: new Set(), unresolved: [] });
const union = (...rs: Resolved[]): Resolved => {
  const owner = rs.find((r) => r.owner)?.owner;
  return {
    programs: new Set(rs.flatMap((r) => [...r.programs])),
    params: new Set(rs.flatMap((r) => [...r.params])),
    ...(owner ? { owner } : {}),
    unresolved: rs.flatMap((r) => r.unresolved),
  };
};
const short = (node: ts.Node): string => node.getText().replace(/\s+/g, ' ').slice(0, 120);

/** The commands a shell script runs: the first word of each simple command (builtins, variables and assignments skipped). */
export function shellCommands(script: string): { programs: string[]; unresolved: string[] } {
  // Here-document bodies are data for the command, not commands.
  const text = script.replace(/<<-?\s*(['"]?)(\w+)\1[^\n]*\n[\s\S]*?\n\s*\2\s*(?:\n|$)/g, '\n');
  const programs: string[] = [];
  const unresolved: string[] = [];
  for (const segment of text.split(/\|\||&&|\$\(|[|;&\n`()]/)) {
    const words = segment.trim().split(/\s+/).filter((w) => w !== '');
    const first = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w) && !SHELL_PREFIXES.has(w));
    if (!first || SHELL_BUILTINS.has(first)) continue;
    const word = first.replace(/^["']+|["']+$/g, '');
    if (word === '' || /^[<>0-9]/.test(word) || word.startsWith('-')) continue;
    if (word.includes(HOLE) || word.startsWith('$')) unresolved.push(word.replaceAll(HOLE, '${…}'));
    else programs.push(path.basename(word));
  }
  return { programs, unresolved };
}

/** Scan several files; wrappers a file exports are followed into the files that import them by name. */
export function scanSources(files: ReadonlyArray<{ file: string; text: string }>, opts: ScanOptions): SpawnSite[] {
  const exported = new Map<string, Wrapper>();
  const parsed = files.map((f) => ts.createSourceFile(f.file, f.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS));
  let sites: SpawnSite[] = [];
  for (let pass = 0; pass < 4; pass++) {
    const before = exported.size;
    sites = parsed.flatMap((sf) => scanFile(sf, opts, exported));
    if (exported.size === before) break;
  }
  return sites;
}

/** Scan one source text on its own. */
export function scanSource(file: string, text: string, opts: ScanOptions): SpawnSite[] {
  return scanSources([{ file, text }], opts);
}

function functionName(fn: ts.SignatureDeclaration): { name: string; exported: boolean } | null {
  const isExported = (n: ts.Node) => ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  if (ts.isFunctionDeclaration(fn) && fn.name) return { name: fn.name.text, exported: isExported(fn) };
  if ((ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) && ts.isVariableDeclaration(fn.parent) && ts.isIdentifier(fn.parent.name)) {
    const statement = fn.parent.parent.parent;
    return { name: fn.parent.name.text, exported: statement !== undefined && isExported(statement) };
  }
  return null;
}

function enclosingFunction(node: ts.Node): ts.SignatureDeclaration | null {
  for (let n = node.parent; n; n = n.parent) if (ts.isFunctionDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isMethodDeclaration(n)) return n;
  return null;
}

/** The nearest function around `id` with a parameter of that name, and the parameter's index. */
function paramOf(id: ts.Identifier): { fn: ts.SignatureDeclaration; index: number } | null {
  for (let fn = enclosingFunction(id); fn; fn = enclosingFunction(fn)) {
    const index = fn.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === id.text);
    if (index >= 0) return { fn, index };
  }
  return null;
}

function annotation(sf: ts.SourceFile, node: ts.Node): string[] | null {
  const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
  const lines = sf.text.split('\n');
  for (const l of [lines[line], lines[line - 1]]) {
    const m = /\/\/\s*spawns:\s*([A-Za-z0-9._+ -]+)/.exec(l ?? '');
    // `spawns: listed`: runs whichever listed program it is given (the doctor's version check);
    // `spawns: -`: runs no external program (one the test made and then removed, say).
    if (m) return ['listed', '-'].includes(m[1]!.trim()) ? [] : m[1]!.trim().split(/\s+/);
  }
  return null;
}

function scanFile(sf: ts.SourceFile, opts: ScanOptions, exported: Map<string, Wrapper>): SpawnSite[] {
  const spawners = new Map<string, Wrapper>();
  const namespaces = new Set<string>();
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier) || !st.importClause?.namedBindings) continue;
    const fromChildProcess = /^(node:)?child_process$/.test(st.moduleSpecifier.text);
    const nb = st.importClause.namedBindings;
    if (ts.isNamespaceImport(nb)) {
      if (fromChildProcess) namespaces.add(nb.name.text);
      continue;
    }
    for (const el of nb.elements) {
      const imported = (el.propertyName ?? el.name).text;
      if (fromChildProcess && FILE_SPAWNERS.has(imported)) spawners.set(el.name.text, { kind: 'program', index: 0 });
      else if (fromChildProcess && SHELL_SPAWNERS.has(imported)) spawners.set(el.name.text, { kind: 'shell', index: 0 });
      else if (!fromChildProcess && exported.has(imported)) spawners.set(el.name.text, exported.get(imported)!);
    }
  }

  const declarations = new Map<string, ts.Node[]>();
  const collect = (n: ts.Node): void => {
    if ((ts.isVariableDeclaration(n) || ts.isBindingElement(n)) && ts.isIdentifier(n.name)) declarations.set(n.name.text, [...(declarations.get(n.name.text) ?? []), n]);
    ts.forEachChild(n, collect);
  };
  collect(sf);

  const resolveIndexed = (expr: ts.Expression, index: number, depth: number): Resolved => {
    if (ts.isParenthesizedExpression(expr)) return resolveIndexed(expr.expression, index, depth);
    if (ts.isConditionalExpression(expr)) return union(resolveIndexed(expr.whenTrue, index, depth), resolveIndexed(expr.whenFalse, index, depth));
    if (ts.isArrayLiteralExpression(expr)) {
      const el = expr.elements[index];
      return el ? resolve(el, depth + 1) : { ...empty(), unresolved: [short(expr)] };
    }
    return { ...empty(), unresolved: [short(expr)] };
  };

  const resolveIdentifier = (id: ts.Identifier, depth: number): Resolved => {
    const param = paramOf(id);
    if (param) {
      const r: Resolved = { ...empty(), params: new Set([param.index]), owner: param.fn };
      const init = param.fn.parameters[param.index]!.initializer;
      return init ? union(r, resolve(init, depth + 1)) : r;
    }
    const decls = declarations.get(id.text) ?? [];
    const results: Resolved[] = [];
    for (const d of decls) {
      if (ts.isVariableDeclaration(d) && d.initializer) results.push(resolve(d.initializer, depth + 1));
      else if (ts.isBindingElement(d) && ts.isArrayBindingPattern(d.parent) && ts.isVariableDeclaration(d.parent.parent) && d.parent.parent.initializer) {
        results.push(resolveIndexed(d.parent.parent.initializer, d.parent.elements.indexOf(d), depth));
      } else if (ts.isBindingElement(d) && d.initializer) results.push(resolve(d.initializer, depth + 1));
    }
    const setting = opts.settings.get(id.text);
    if (setting) results.push({ ...empty(), programs: new Set([setting]) });
    return results.length ? union(...results) : { ...empty(), unresolved: [id.text] };
  };

  const resolve = (expr: ts.Expression, depth = 0): Resolved => {
    if (depth > 8) return { ...empty(), unresolved: [short(expr)] };
    if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr)) return { ...empty(), programs: new Set([path.basename(expr.text)]) };
    if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr) || ts.isNonNullExpression(expr) || ts.isSatisfiesExpression(expr) || ts.isTypeAssertionExpression(expr)) return resolve(expr.expression, depth);
    if (ts.isConditionalExpression(expr)) return union(resolve(expr.whenTrue, depth + 1), resolve(expr.whenFalse, depth + 1));
    if (ts.isBinaryExpression(expr) && (expr.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken || expr.operatorToken.kind === ts.SyntaxKind.BarBarToken)) {
      const r = union(resolve(expr.left, depth + 1), resolve(expr.right, depth + 1));
      // `override ?? 'default'`: an option or variable overriding a known default is that program.
      return r.programs.size > 0 ? { ...r, unresolved: [] } : r;
    }
    if (ts.isIdentifier(expr)) return resolveIdentifier(expr, depth);
    if (ts.isPropertyAccessExpression(expr)) {
      const text = expr.getText();
      if (text === 'process.execPath') return { ...empty(), programs: new Set(['node']) };
      const name = expr.name.text;
      const setting = opts.settings.get(name);
      if (setting) return { ...empty(), programs: new Set([setting]) };
      return { ...empty(), unresolved: [short(expr)] };
    }
    if (ts.isCallExpression(expr) && /^(path\.)?(join|resolve)$/.test(expr.expression.getText()) && expr.arguments.length > 0) {
      return resolve(expr.arguments[expr.arguments.length - 1]!, depth + 1);
    }
    return { ...empty(), unresolved: [short(expr)] };
  };

  const resolveScript = (expr: ts.Expression, depth = 0): Resolved => {
    if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr)) {
      const c = shellCommands(expr.text);
      return { programs: new Set(c.programs), params: new Set(), unresolved: c.unresolved };
    }
    if (ts.isTemplateExpression(expr)) {
      const text = expr.head.text + expr.templateSpans.map((s) => HOLE + s.literal.text).join('');
      const c = shellCommands(text);
      return { programs: new Set(c.programs), params: new Set(), unresolved: c.unresolved };
    }
    if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr)) return resolveScript(expr.expression, depth);
    if (ts.isIdentifier(expr) && depth < 8) {
      const param = paramOf(expr);
      if (param) return { ...empty(), params: new Set([param.index]), owner: param.fn };
      const inits = (declarations.get(expr.text) ?? []).flatMap((d) => (ts.isVariableDeclaration(d) && d.initializer ? [d.initializer] : []));
      if (inits.length) return union(...inits.map((i) => resolveScript(i, depth + 1)));
    }
    return { ...empty(), unresolved: [short(expr)] };
  };

  /** What a call of a spawner runs: the program, and for a shell with `-c` the script's commands. */
  const callTargets = (call: ts.CallExpression, w: Wrapper): { resolved: Resolved; kind: Wrapper['kind'] } | null => {
    const arg = call.arguments[w.index];
    if (!arg) return null;
    if (w.kind === 'shell') return { resolved: resolveScript(arg), kind: 'shell' };
    const program = resolve(arg);
    const argv = call.arguments[w.index + 1];
    if ([...program.programs].some((p) => SHELLS.has(p)) && argv && ts.isArrayLiteralExpression(argv)) {
      const c = argv.elements.findIndex((e) => ts.isStringLiteral(e) && e.text === '-c');
      const script = c >= 0 ? argv.elements[c + 1] : undefined;
      if (script && !ts.isSpreadElement(script)) {
        const inner = resolveScript(script);
        // A shell wrapper: the parameter is the script, not the program.
        if (inner.params.size) return { resolved: { ...union(program, { ...inner, params: new Set() }), params: inner.params, ...(inner.owner ? { owner: inner.owner } : {}) }, kind: 'shell' };
        return { resolved: union(program, inner), kind: 'program' };
      }
    }
    return { resolved: program, kind: 'program' };
  };

  const sites: SpawnSite[] = [];
  const spawnerOf = (call: ts.CallExpression): Wrapper | null => {
    const callee = call.expression;
    if (ts.isIdentifier(callee)) return spawners.get(callee.text) ?? null;
    if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && namespaces.has(callee.expression.text)) {
      const name = callee.name.text;
      if (FILE_SPAWNERS.has(name)) return { kind: 'program', index: 0 };
      if (SHELL_SPAWNERS.has(name)) return { kind: 'shell', index: 0 };
    }
    return null;
  };

  // Aliases and wrappers may be declared after their first use: find them until nothing new turns up.
  for (let round = 0; round < 6; round++) {
    const before = spawners.size;
    sites.length = 0;
    const visit = (n: ts.Node): void => {
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && ts.isCallExpression(n.initializer) && n.initializer.expression.getText() === 'promisify') {
        const target = n.initializer.arguments[0];
        const w = target && ts.isIdentifier(target) ? spawners.get(target.text) : undefined;
        if (w) spawners.set(n.name.text, w);
      }
      if (ts.isPropertyAssignment(n) && n.name.getText() === 'executablePath') {
        const r = resolve(n.initializer);
        sites.push(site(sf, n, r));
      }
      if (ts.isCallExpression(n)) {
        const w = spawnerOf(n);
        const t = w ? callTargets(n, w) : null;
        if (t) {
          const fn = t.resolved.params.size ? (t.resolved.owner ?? null) : null;
          const named = fn ? functionName(fn) : null;
          if (named) {
            const wrapper: Wrapper = { kind: t.kind, index: Math.min(...t.resolved.params) };
            spawners.set(named.name, wrapper);
            if (named.exported) exported.set(named.name, wrapper);
          }
          // A pure forwarder is not a spawn of its own: its callers are. One that cannot be followed
          // (an anonymous callback's parameter, a method's) is a spawn nobody can name: unresolved.
          const forwards = t.resolved.params.size > 0 && t.resolved.programs.size === 0 && t.resolved.unresolved.length === 0;
          if (forwards && !named) sites.push(site(sf, n, { ...t.resolved, unresolved: [`a parameter of an anonymous function or method (${short(n.arguments[w!.index]!)})`] }));
          else if (!forwards) sites.push(site(sf, n, t.resolved));
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    if (spawners.size === before) break;
  }
  return sites;

  function site(file: ts.SourceFile, node: ts.Node, r: Resolved): SpawnSite {
    const declared = annotation(file, node);
    return {
      file: file.fileName,
      line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1,
      call: short(node),
      programs: declared ?? [...r.programs],
      unresolved: declared ? [] : r.unresolved,
    };
  }
}

/** The source files of the project's code, tests and benchmarks (TypeScript and JavaScript). */
export function projectSources(root: string, dirs: readonly string[] = ['schemas', 'lib', 'collectors', 'evidence', 'workers', 'app', 'test', 'bench']): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  for (const dir of dirs) {
    for (const rel of readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (!/\.(ts|mts|cts|js|mjs|cjs)$/.test(rel) || rel.split(path.sep).includes('node_modules')) continue;
      const file = path.join(dir, rel);
      out.push({ file, text: readFileSync(path.join(root, file), 'utf8') });
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

/**
 * What is wrong with a set of spawn sites against a list of known programs: each program not on
 * the list, and each spawn whose program could not be read, as `file:line: problem`.
 */
export function spawnProblems(sites: readonly SpawnSite[], known: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const s of sites) {
    for (const p of s.programs) if (!known.has(p)) problems.push(`${s.file}:${s.line}: ${p} is spawned but not in the program list in ./exhibit (${s.call})`);
    for (const u of s.unresolved) problems.push(`${s.file}:${s.line}: cannot tell which program ${u} is (${s.call}); use a literal, a setting of the program list in ./exhibit, or a "// spawns: name" comment`);
  }
  return problems;
}
