import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Config } from '../schemas/config.js';
import { ConfigError } from './errors.js';

export type { Config };

/** Environment variables Exhibit reads, and where each lands in the config. The only reader of process.env. */
const ENV_MAP: ReadonlyArray<[string, string, 'string' | 'number' | 'boolean' | 'list' | 'json-object']> = [
  ['EXHIBIT_STATE_DIR', 'stateDir', 'string'],
  ['EXHIBIT_REDIS_URL', 'redis.url', 'string'],
  ['EXHIBIT_REDIS_PREFIX', 'redis.prefix', 'string'],
  ['EXHIBIT_STORE', 'store.kind', 'string'],
  ['EXHIBIT_STORE_DIR', 'store.fsRoot', 'string'],
  ['EXHIBIT_S3_ENDPOINT', 'store.s3.endPoint', 'string'],
  ['EXHIBIT_S3_PORT', 'store.s3.port', 'number'],
  ['EXHIBIT_S3_USE_SSL', 'store.s3.useSSL', 'boolean'],
  ['EXHIBIT_S3_ACCESS_KEY', 'store.s3.accessKey', 'string'],
  ['EXHIBIT_S3_SECRET_KEY', 'store.s3.secretKey', 'string'],
  ['EXHIBIT_S3_BUCKET', 'store.s3.bucket', 'string'],
  ['EXHIBIT_S3_RETENTION_MODE', 'store.s3.retentionMode', 'string'],
  ['EXHIBIT_S3_RETENTION_DAYS', 'store.s3.retentionDays', 'number'],
  ['EXHIBIT_S3_REQUEST_TIMEOUT_MS', 'store.s3.requestTimeoutMs', 'number'],
  ['EXHIBIT_REDIS_COMMAND_TIMEOUT_MS', 'redis.commandTimeoutMs', 'number'],
  ['EXHIBIT_QUEUE_RETRY_BUDGET_MS', 'queue.retryBudgetMs', 'number'],
  ['EXHIBIT_SPOOL_DIR', 'spoolDir', 'string'],
  ['EXHIBIT_CAPTURE_CONCURRENCY', 'capture.concurrency', 'number'],
  ['EXHIBIT_ALLOW_PRIVATE_NETWORK', 'capture.allowPrivateNetwork', 'boolean'],
  ['EXHIBIT_EGRESS_ECHO_URL', 'capture.egressEchoUrl', 'string'],
  ['EXHIBIT_UPSTREAM_PROXY', 'capture.upstreamProxy', 'string'],
  ['EXHIBIT_CHROMIUM', 'capture.chromiumPath', 'string'],
  ['EXHIBIT_SEAL_CONCURRENCY', 'seal.concurrency', 'number'],
  ['EXHIBIT_KEYS_DIR', 'keys.dir', 'string'],
  ['EXHIBIT_TRUST_FILE', 'trust.file', 'string'],
  ['EXHIBIT_PARTNERS_FILE', 'trust.partnersFile', 'string'],
  ['EXHIBIT_TSA_URLS', 'tsa.urls', 'list'],
  ['EXHIBIT_TSA_CA_FILES', 'tsa.caFiles', 'list'],
  ['EXHIBIT_REPLAY_PORT', 'replay.port', 'number'],
  ['EXHIBIT_REPLAY_HOST', 'replay.host', 'string'],
  ['EXHIBIT_REPLAY_ORIGIN', 'replay.publicOrigin', 'string'],
  ['EXHIBIT_WORKER_METRICS_PORT', 'worker.metricsPort', 'number'],
  ['EXHIBIT_WORKER_METRICS_HOST', 'worker.metricsHost', 'string'],
  ['EXHIBIT_LOG_LEVEL', 'log.level', 'string'],
  ['EXHIBIT_LOG_FORMAT', 'log.format', 'string'],
  ['EXHIBIT_ACCOUNTS_KEY', 'accounts.key', 'string'],
  ['EXHIBIT_COLLECTORS', 'collectors', 'json-object'],
];

type Tree = Record<string, unknown>;

function setPath(tree: Tree, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined || next === null || typeof next !== 'object') node[part] = {};
    node = node[part] as Tree;
  }
  node[parts[parts.length - 1]!] = value;
}

function mergeDeep(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev) ? mergeDeep(prev as Tree, v as Tree) : v;
  }
  return out;
}

function coerce(name: string, raw: string, type: 'string' | 'number' | 'boolean' | 'list' | 'json-object'): unknown {
  switch (type) {
    case 'string':
      return raw;
    case 'number': {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new ConfigError(`${name}: expected a number, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(`${name}: expected true or false, got ${JSON.stringify(raw)}`);
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'json-object': {
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch (cause) {
        throw new ConfigError(`${name}: expected a JSON object, got invalid JSON: ${(cause as Error).message}`, { cause });
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${name}: expected a JSON object, e.g. {"mastodon":{"hosts":["social.example"]}}`);
      return v;
    }
  }
}

export interface LoadConfigOptions {
  /** YAML file; defaults to $EXHIBIT_CONFIG, then ./exhibit.yaml if present. */
  file?: string;
  /** Highest-precedence values (from CLI flags), as a partial config tree. */
  overrides?: Tree;
  /** Environment to read; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Load, merge (CLI > env > YAML > default), validate, and make paths absolute. Throws ConfigError. */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.EXHIBIT_CONFIG ?? (existsSync('exhibit.yaml') ? 'exhibit.yaml' : undefined);
  let fromFile: Tree = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new ConfigError(`cannot read config file ${file}: ${(cause as Error).message}`, { cause });
    }
    try {
      fromFile = (parseYaml(text) as Tree | null) ?? {};
    } catch (cause) {
      throw new ConfigError(`config file ${file} is not valid YAML: ${(cause as Error).message}`, { cause });
    }
  }
  const fromEnv: Tree = {};
  for (const [name, key, type] of ENV_MAP) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') setPath(fromEnv, key, coerce(name, raw, type));
  }
  const merged = mergeDeep(mergeDeep(fromFile, fromEnv), opts.overrides ?? {});
  const parsed = Config.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${issues}`);
  }
  return resolvePaths(parsed.data);
}

/** Paths in the config that are relative are taken relative to stateDir (itself relative to cwd). */
export function resolvePaths(config: Config): Config {
  const stateDir = path.resolve(config.stateDir);
  const under = (p: string) => (path.isAbsolute(p) ? p : path.join(stateDir, p));
  return {
    ...config,
    stateDir,
    spoolDir: under(config.spoolDir),
    store: { ...config.store, fsRoot: under(config.store.fsRoot) },
    keys: { ...config.keys, dir: under(config.keys.dir) },
    trust: { ...config.trust, file: under(config.trust.file), partnersFile: under(config.trust.partnersFile) },
    accounts: { ...config.accounts, dir: under(config.accounts.dir) },
  };
}

/** Config for in-process use and tests: defaults plus the given tree, no env, no file. */
export function configFrom(tree: Tree = {}): Config {
  return loadConfig({ env: {}, file: '/dev/null', overrides: tree });
}

/**
 * Where to look for the external programs of the program list in ./exhibit: PATH, and the `EXHIBIT_*` variables
 * outside the config that name a program's path (`EXHIBIT_MINIO_BIN`, `EXHIBIT_PYTHON`, set by
 * `./exhibit`). Config keys (`capture.chromiumPath`) are read from the loaded config instead.
 */
export function programSearchEnv(env: NodeJS.ProcessEnv = process.env): { PATH: string; vars: Record<string, string> } {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (name.startsWith('EXHIBIT_') && value) vars[name] = value;
  return { PATH: env.PATH ?? '', vars };
}
