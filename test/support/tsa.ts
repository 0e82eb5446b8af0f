/**
 * A local RFC 3161 Time Stamping Authority on loopback, answered by real OpenSSL
 * (`openssl ts -reply`). It generates a throw-away test CA and a TSA certificate (extendedKeyUsage
 * critical timeStamping) into a temp dir. Used by integration tests and by `./exhibit demo`, so it
 * must not import vitest.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LocalTsa {
  /** `http://127.0.0.1:<port>/tsa` */
  url: string;
  caCertPem: string;
  caCertPath: string;
  tsaCertPath: string;
  /** The TSA's default policy OID. */
  policy: string;
  /** Requests answered so far (including injected failures). */
  requests(): number;
  close(): Promise<void>;
}

export interface LocalTsaOptions {
  /** Answer the first N requests with HTTP 503 (to exercise retries). @defaultValue 0 */
  failFirst?: number;
  /** Common name of the generated CA. @defaultValue `Exhibit Test TSA CA` */
  caName?: string;
  /** Certificate validity in days. @defaultValue 36500 */
  days?: number;
  /**
   * Keep the TSA's keys and certificates in this directory and reuse them on the next start (the
   * demo does, so tokens from earlier runs still chain to the CA it packages). Default: a fresh
   * temporary directory, removed by `close()`.
   */
  dir?: string;
}

const DEFAULT_POLICY = '1.3.6.1.4.1.99999.3161.1';

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd, maxBuffer: 4 * 1024 * 1024 });
}

/** Generate the CA, TSA key/cert and OpenSSL config into `dir`. */
async function makePki(dir: string, opts: LocalTsaOptions): Promise<{ policy: string; config: string }> {
  const days = String(opts.days ?? 36500);
  const caName = opts.caName ?? 'Exhibit Test TSA CA';
  await openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', days, '-subj', `/O=Exhibit Test/CN=${caName}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tsa.key', '-out', 'tsa.csr', '-subj', '/O=Exhibit Test/CN=Exhibit Test TSA'], dir);
  await writeFile(
    path.join(dir, 'tsa.ext'),
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  );
  await openssl(['x509', '-req', '-in', 'tsa.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tsa.pem', '-days', days, '-extfile', 'tsa.ext', '-sha256'], dir);
  await writeFile(path.join(dir, 'serial'), '01\n');
  const policy = DEFAULT_POLICY;
  const config = path.join(dir, 'tsa.cnf');
  await writeFile(
    config,
    [
      '[ tsa ]',
      'default_tsa = tsa_config1',
      '[ tsa_config1 ]',
      `dir = ${dir}`,
      'serial = $dir/serial',
      'crypto_device = builtin',
      'signer_cert = $dir/tsa.pem',
      'signer_key = $dir/tsa.key',
      'signer_digest = sha256',
      `default_policy = ${policy}`,
      'other_policies = 1.3.6.1.4.1.99999.3161.2',
      'digests = sha256, sha384, sha512',
      'accuracy = secs:1',
      'clock_precision_digits = 3',
      'ordering = yes',
      'tsa_name = yes',
      'ess_cert_id_chain = no',
      'ess_cert_id_alg = sha256',
      '',
    ].join('\n'),
  );
  return { policy, config };
}

/** Start the TSA; `close()` stops the server and removes the temp dir (not a caller's `dir`). */
export async function startLocalTsa(opts: LocalTsaOptions = {}): Promise<LocalTsa> {
  const keep = opts.dir !== undefined;
  const dir = keep ? path.resolve(opts.dir!) : await mkdtemp(path.join(os.tmpdir(), 'exhibit-tsa-'));
  if (keep) await mkdir(dir, { recursive: true, mode: 0o700 });
  const reuse = keep && existsSync(path.join(dir, 'tsa.cnf')) && existsSync(path.join(dir, 'tsa.pem'));
  const { policy, config } = reuse ? { policy: DEFAULT_POLICY, config: path.join(dir, 'tsa.cnf') } : await makePki(dir, opts);
  let count = 0;
  let failuresLeft = opts.failFirst ?? 0;
  // `openssl ts -reply` bumps the serial file: one request at a time.
  let chain: Promise<unknown> = Promise.resolve();

  const answer = async (body: Buffer): Promise<Buffer> => {
    const id = `${process.pid}-${++count}`;
    const q = path.join(dir, `q-${id}.tsq`);
    const r = path.join(dir, `r-${id}.tsr`);
    await writeFile(q, body);
    try {
      await openssl(['ts', '-reply', '-config', config, '-queryfile', q, '-out', r], dir);
      return await readFile(r);
    } finally {
      await rm(q, { force: true });
      await rm(r, { force: true });
    }
  };

  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.headers['content-type'] !== 'application/timestamp-query') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('expected POST application/timestamp-query\n');
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) req.destroy();
      else parts.push(c);
    });
    req.on('end', () => {
      if (failuresLeft > 0) {
        failuresLeft--;
        count++;
        res.writeHead(503, { 'content-type': 'text/plain' }).end('injected failure\n');
        return;
      }
      const job = chain.then(() => answer(Buffer.concat(parts)));
      chain = job.catch(() => undefined);
      job.then(
        (tsr) => res.writeHead(200, { 'content-type': 'application/timestamp-reply', 'content-length': tsr.length }).end(tsr),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`openssl failed: ${err.message}\n`),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/tsa`,
    caCertPem: await readFile(path.join(dir, 'ca.pem'), 'utf8'),
    caCertPath: path.join(dir, 'ca.pem'),
    tsaCertPath: path.join(dir, 'tsa.pem'),
    policy,
    requests: () => count,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!keep) await rm(dir, { recursive: true, force: true });
    },
  };
}
