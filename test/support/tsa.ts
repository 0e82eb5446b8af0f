/**
 * A local RFC 3161 Time Stamping Authority on loopback, answered by real OpenSSL
 * (`openssl ts -reply`). It generates a throw-away test CA (optionally an intermediate) and a TSA
 * certificate (extendedKeyUsage critical timeStamping) into a temp dir; how OpenSSL answers (signer
 * digest, ESS id v1/v2, chain certificates) is set per TSA or per token (`createTsaSigner().stamp`). Used by integration tests and by `./exhibit demo`, so it
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
import * as pkijs from 'pkijs';

const run = promisify(execFile);

export type TsaDigest = 'sha256' | 'sha384' | 'sha512';

/** How `openssl ts -reply` answers (one `[tsa]` config section). */
export interface TsaReplyOptions {
  /** Hash the TSA signs with (`signer_digest`). @defaultValue sha256 */
  signerDigest?: TsaDigest;
  /** Hash of the ESS certificate id (`ess_cert_id_alg`): sha1 gives ESSCertID (v1), the others ESSCertIDv2. @defaultValue sha256 */
  essCertIdAlg?: 'sha1' | TsaDigest;
  /** ESS ids for the chain certificates too (`ess_cert_id_chain`). @defaultValue false */
  essCertIdChain?: boolean;
  /** Put the intermediate CA certificate into tokens that carry certificates (`certs`). @defaultValue false */
  includeChain?: boolean;
  /** Answer like a TSA that ignores `certReq`: tokens carry no certificates. @defaultValue false */
  omitCertificates?: boolean;
}

/** One token made with `openssl ts -query` then `openssl ts -reply`. */
export interface StampOptions extends TsaReplyOptions {
  /** Message imprint algorithm of the request. @defaultValue sha256 */
  imprint?: TsaDigest;
  /** Ask for the TSA certificate in the token (`-cert`). @defaultValue true */
  certReq?: boolean;
  /** Policy to ask for. */
  policy?: string;
}

/** The TSA's keys, certificates and OpenSSL configuration, without a server. */
export interface TsaSigner {
  dir: string;
  caCertPem: string;
  caCertPath: string;
  tsaCertPath: string;
  /** The intermediate CA between the root and the TSA certificate, when asked for. */
  intermediateCertPath: string | null;
  /** The TSA's default policy OID. */
  policy: string;
  /** Answer a DER TimeStampReq (a DER TimeStampResp comes back). */
  reply(query: Buffer, opts?: TsaReplyOptions): Promise<Buffer>;
  /** Timestamp `data`: OpenSSL builds the request, OpenSSL answers it. */
  stamp(data: Buffer, opts?: StampOptions): Promise<Buffer>;
  /** Removes the temp dir (not a caller's `dir`). */
  close(): Promise<void>;
}

export interface LocalTsa {
  /** `http://127.0.0.1:<port>/tsa` */
  url: string;
  caCertPem: string;
  caCertPath: string;
  tsaCertPath: string;
  intermediateCertPath: string | null;
  /** The TSA's default policy OID. */
  policy: string;
  /** Requests answered so far (including injected failures). */
  requests(): number;
  close(): Promise<void>;
}

export interface TsaPkiOptions {
  /** Common name of the generated CA. @defaultValue `Exhibit Test TSA CA` */
  caName?: string;
  /** Certificate validity in days. @defaultValue 36500 */
  days?: number;
  /** Issue the TSA certificate from an intermediate CA instead of the root. @defaultValue false */
  intermediate?: boolean;
  /** TSA certificate validity as `openssl ca` dates (`YYYYMMDDHHMMSSZ`), instead of `days` from now. */
  tsaValidity?: { start: string; end: string };
  /**
   * Keep the TSA's keys and certificates in this directory and reuse them on the next start (the
   * demo does, so tokens from earlier runs still chain to the CA it packages). Default: a fresh
   * temporary directory, removed by `close()`.
   */
  dir?: string;
}

export interface LocalTsaOptions extends TsaPkiOptions {
  /** Answer the first N requests with HTTP 503 (to exercise retries). @defaultValue 0 */
  failFirst?: number;
  /** How the server's answers are made. */
  reply?: TsaReplyOptions;
}

const DEFAULT_POLICY = '1.3.6.1.4.1.99999.3161.1';

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd, maxBuffer: 4 * 1024 * 1024 });
}

const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n';
const TSA_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n';

/** Issue `<name>.pem` from `<name>.csr` with `openssl ca`, which (unlike `x509 -req` in OpenSSL 3.0) takes start and end dates. */
async function issueWithDates(dir: string, issuer: string, name: string, ext: string, validity: { start: string; end: string }): Promise<void> {
  await mkdir(path.join(dir, 'newcerts'), { recursive: true });
  await writeFile(path.join(dir, 'index.txt'), '');
  await writeFile(path.join(dir, 'ca.serial'), '1000\n');
  await writeFile(
    path.join(dir, 'ca.cnf'),
    ['[ ca ]', 'default_ca = ca1', '[ ca1 ]', `dir = ${dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir/newcerts', 'serial = $dir/ca.serial',
      'default_md = sha256', 'policy = any', 'unique_subject = no', 'email_in_dn = no', '[ any ]', 'organizationName = optional', 'commonName = supplied', ''].join('\n'),
  );
  await openssl(['ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', `${issuer}.pem`, '-keyfile', `${issuer}.key`, '-in', `${name}.csr`, '-out', `${name}.pem`,
    '-startdate', validity.start, '-enddate', validity.end, '-extfile', ext], dir);
}

/** Generate the CA (and intermediate), the TSA key/cert and the default OpenSSL config into `dir`. */
async function makePki(dir: string, opts: TsaPkiOptions): Promise<void> {
  const days = String(opts.days ?? 36500);
  const caName = opts.caName ?? 'Exhibit Test TSA CA';
  await openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', days, '-subj', `/O=Exhibit Test/CN=${caName}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  let issuer = 'ca';
  if (opts.intermediate) {
    await writeFile(path.join(dir, 'inter.ext'), CA_EXT);
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'inter.key', '-out', 'inter.csr', '-subj', `/O=Exhibit Test/CN=${caName} Intermediate`], dir);
    await openssl(['x509', '-req', '-in', 'inter.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'inter.pem', '-days', days, '-extfile', 'inter.ext', '-sha256'], dir);
    issuer = 'inter';
  }
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tsa.key', '-out', 'tsa.csr', '-subj', '/O=Exhibit Test/CN=Exhibit Test TSA'], dir);
  await writeFile(path.join(dir, 'tsa.ext'), TSA_EXT);
  if (opts.tsaValidity) await issueWithDates(dir, issuer, 'tsa', 'tsa.ext', opts.tsaValidity);
  else await openssl(['x509', '-req', '-in', 'tsa.csr', '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', 'tsa.pem', '-days', days, '-extfile', 'tsa.ext', '-sha256'], dir);
  await writeFile(path.join(dir, 'serial'), '01\n');
  await writeReplyConfig(dir, path.join(dir, 'tsa.cnf'), {});
}

async function writeReplyConfig(dir: string, file: string, r: TsaReplyOptions): Promise<void> {
  const chain = path.join(dir, 'inter.pem');
  await writeFile(
    file,
    [
      '[ tsa ]',
      'default_tsa = tsa_config1',
      '[ tsa_config1 ]',
      `dir = ${dir}`,
      'serial = $dir/serial',
      'crypto_device = builtin',
      'signer_cert = $dir/tsa.pem',
      'signer_key = $dir/tsa.key',
      ...(r.includeChain && existsSync(chain) ? ['certs = $dir/inter.pem'] : []),
      `signer_digest = ${r.signerDigest ?? 'sha256'}`,
      `default_policy = ${DEFAULT_POLICY}`,
      'other_policies = 1.3.6.1.4.1.99999.3161.2',
      'digests = sha256, sha384, sha512',
      'accuracy = secs:1',
      'clock_precision_digits = 3',
      'ordering = yes',
      'tsa_name = yes',
      `ess_cert_id_chain = ${r.essCertIdChain ? 'yes' : 'no'}`,
      `ess_cert_id_alg = ${r.essCertIdAlg ?? 'sha256'}`,
      '',
    ].join('\n'),
  );
}

/** The same TimeStampReq with `certReq` false. */
function withoutCertReq(query: Buffer): Buffer {
  const req = pkijs.TimeStampReq.fromBER(new Uint8Array(query));
  req.certReq = false;
  return Buffer.from(req.toSchema().toBER(false));
}

/**
 * Make (or, with `dir`, reuse) the TSA's PKI and answer requests with `openssl ts -reply`, one at a
 * time (it bumps the serial file).
 */
export async function createTsaSigner(opts: TsaPkiOptions = {}): Promise<TsaSigner> {
  const keep = opts.dir !== undefined;
  const dir = keep ? path.resolve(opts.dir!) : await mkdtemp(path.join(os.tmpdir(), 'exhibit-tsa-'));
  if (keep) await mkdir(dir, { recursive: true, mode: 0o700 });
  const reuse = keep && existsSync(path.join(dir, 'tsa.cnf')) && existsSync(path.join(dir, 'tsa.pem'));
  if (!reuse) await makePki(dir, opts);
  let count = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const job = queue.then(fn);
    queue = job.catch(() => undefined);
    return job;
  };
  const configFor = async (r: TsaReplyOptions): Promise<string> => {
    // One config file per distinct answer (omitCertificates changes the query, not the config).
    const key = JSON.stringify([r.signerDigest, r.essCertIdAlg, r.essCertIdChain, r.includeChain]);
    if (key === JSON.stringify([undefined, undefined, undefined, undefined])) return path.join(dir, 'tsa.cnf');
    const file = path.join(dir, `tsa-${Buffer.from(key).toString('hex').slice(0, 60)}.cnf`);
    if (!existsSync(file)) await writeReplyConfig(dir, file, r);
    return file;
  };
  const reply = (query: Buffer, r: TsaReplyOptions = {}): Promise<Buffer> =>
    serially(async () => {
      const id = `${process.pid}-${++count}`;
      const q = path.join(dir, `q-${id}.tsq`);
      const out = path.join(dir, `r-${id}.tsr`);
      await writeFile(q, r.omitCertificates ? withoutCertReq(query) : query);
      try {
        await openssl(['ts', '-reply', '-config', await configFor(r), '-queryfile', q, '-out', out], dir);
        return await readFile(out);
      } finally {
        await rm(q, { force: true });
        await rm(out, { force: true });
      }
    });
  const stamp = async (data: Buffer, s: StampOptions = {}): Promise<Buffer> => {
    const id = `${process.pid}-s${++count}`;
    const d = path.join(dir, `d-${id}.bin`);
    const q = path.join(dir, `q-${id}.tsq`);
    await writeFile(d, data);
    try {
      await openssl(['ts', '-query', '-data', d, `-${s.imprint ?? 'sha256'}`, ...(s.certReq === false ? [] : ['-cert']), ...(s.policy ? ['-tspolicy', s.policy] : []), '-out', q], dir);
      return await reply(await readFile(q), s);
    } finally {
      await rm(d, { force: true });
      await rm(q, { force: true });
    }
  };
  const inter = path.join(dir, 'inter.pem');
  return {
    dir,
    caCertPem: await readFile(path.join(dir, 'ca.pem'), 'utf8'),
    caCertPath: path.join(dir, 'ca.pem'),
    tsaCertPath: path.join(dir, 'tsa.pem'),
    intermediateCertPath: existsSync(inter) ? inter : null,
    policy: DEFAULT_POLICY,
    reply,
    stamp,
    close: async () => {
      if (!keep) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Start the TSA; `close()` stops the server and removes the temp dir (not a caller's `dir`). */
export async function startLocalTsa(opts: LocalTsaOptions = {}): Promise<LocalTsa> {
  const signer = await createTsaSigner(opts);
  let count = 0;
  let failuresLeft = opts.failFirst ?? 0;

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
      count++;
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(503, { 'content-type': 'text/plain' }).end('injected failure\n');
        return;
      }
      signer.reply(Buffer.concat(parts), opts.reply).then(
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
    caCertPem: signer.caCertPem,
    caCertPath: signer.caCertPath,
    tsaCertPath: signer.tsaCertPath,
    intermediateCertPath: signer.intermediateCertPath,
    policy: signer.policy,
    requests: () => count,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await signer.close();
    },
  };
}
