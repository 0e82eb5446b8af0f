import { ConfigError } from '../lib/errors.js';

/**
 * Collector options on the command line (STYLE: `--collectors.<id>.<opt>`). Commander cannot
 * declare dynamic dotted flags, so {@link rewriteCollectorFlags} turns `--collectors.<id>.<opt> <value>`
 * (or `=<value>`) into the declared global option `--collector-option <id>.<opt>=<value>` before
 * commander parses argv, and {@link collectorOverrides} folds those into a `collectors` config tree.
 */

const FLAG = /^--collectors\.([^=\s]+)(?:=(.*))?$/s;

/** argv with every `--collectors.<id>.<opt>[=]<value>` rewritten as `--collector-option <id>.<opt>=<value>`. Stops at `--`. */
export function rewriteCollectorFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = FLAG.exec(arg);
    if (!m) {
      out.push(arg);
      continue;
    }
    let value = m[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined) throw new ConfigError(`${arg}: missing value`);
      i += 1;
    }
    out.push('--collector-option', `${m[1]}=${value}`);
  }
  return out;
}

/** A value as JSON when it parses (`true`, `3`, `["a","b"]`, `{"k":1}`), else the string itself. */
export function parseOptionValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/**
 * `["mastodon.hosts=[\"a\"]", "x.syndication=http://…"]` → `{ mastodon: { hosts: ["a"] }, x: { syndication: "http://…" } }`.
 * Deeper keys (`<id>.<opt>.<sub>`) nest; later flags win.
 * @throws ConfigError for a spec without `<id>.<opt>=`.
 */
export function collectorOverrides(specs: readonly string[]): Record<string, Record<string, unknown>> {
  const tree: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = eq === -1 ? '' : spec.slice(0, eq);
    const parts = key.split('.');
    if (eq === -1 || parts.length < 2 || parts.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) {
      throw new ConfigError(`--collector-option ${JSON.stringify(spec)}: expected <collector id>.<option>=<value>, e.g. mastodon.hosts='["social.example"]'`);
    }
    const value = parseOptionValue(spec.slice(eq + 1));
    let node: Record<string, unknown> = (tree[parts[0]!] ??= {});
    for (const p of parts.slice(1, -1)) {
      const next = node[p];
      node = (node[p] = next && typeof next === 'object' && !Array.isArray(next) ? next : {}) as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = value;
  }
  return tree;
}
