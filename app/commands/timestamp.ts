import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { readCertificates, verifyTimestampToken, type TimestampFacts } from '../../evidence/timestamp.js';
import { ExhibitError, PermanentError } from '../../lib/errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { err, out } from './common.js';

/** Tokens and certificate files are small; anything larger is not one. */
const MAX_SMALL_FILE = 1024 * 1024;

export interface TimestampVerifyOptions {
  /** Trust anchor files (PEM or DER) the TSA certificate must chain to. */
  tsaCa?: string[];
  /** Untrusted certificate files (PEM or DER) to build the chain, for tokens that carry none. */
  untrusted?: string[];
  json: boolean;
}

async function readSmallFile(file: string, what: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new PermanentError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_INPUT', `cannot read ${what} ${file}: ${(cause as Error).message}`, { cause });
  }
  try {
    const { size } = await fh.stat();
    if (size > MAX_SMALL_FILE) throw new PermanentError('INVALID_INPUT', `${what} ${file} is ${size} bytes; more than 1 MiB is not a ${what}`);
    const buf = Buffer.alloc(size);
    const { bytesRead } = await fh.read(buf, 0, size, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function certificateFile(file: string, what: string): Promise<Buffer> {
  const bytes = await readSmallFile(file, what);
  readCertificates(bytes, `${what} ${file}`); // a file with no certificate is a usage error, not an empty anchor set
  return bytes;
}

function printFacts(f: TimestampFacts, file: string, tokenFile: string): void {
  out(`Timestamp token ${tokenFile} (${f.tokenForm})`);
  out(`  file        ${file}`);
  out(`  imprint     ${f.messageImprint} — matches the file`);
  out(`  genTime     ${f.genTime}`);
  out(`  TSA name    ${f.tsaName ?? '(not stated in the token)'}`);
  out(`  policy      ${f.policy}`);
  out(`  serial      ${f.serialNumber}`);
  if (f.nonce) out(`  nonce       ${f.nonce}`);
  out(`  signer      ${f.signerSubject} (found by its ${f.signerIdentifiedBy.attribute}, ${f.signerIdentifiedBy.hashAlgorithm}; ${f.signerCertSha256})`);
  out(`  chain       ${f.anchored ? `validated as of genTime ${f.chainValidatedAt}` : 'as far as the certificates at hand go (not validated: no anchor pinned)'}`);
  f.chain.forEach((c, i) => {
    const role = i === 0 ? 'signer' : f.anchored && i === f.chain.length - 1 ? 'pinned anchor' : 'CA';
    out(`    ${i + 1}. ${c.subject} [${role}; from ${c.origin === 'anchor' ? 'your --tsa-ca' : c.origin === 'untrusted' ? 'your --untrusted' : 'the token'}] valid ${c.notBefore} to ${c.notAfter}${c.expiredSince ? ' — EXPIRED since genTime' : ''}`);
  });
  if (f.expiredSinceGenTime) out(`  note        a certificate on the chain has expired since; it was valid at genTime, so it still vouches for this token (checked ${f.checkedAt})`);
  for (const c of f.ignoredCertificates) out(`  ignored     ${c.subject} (${c.sha256}): carried in the token, not on the signer's chain`);
  out('  revocation  not checked (offline)');
  out(`  anchor      ${f.anchored ? 'pinned (--tsa-ca)' : 'NONE pinned'}`);
}

/**
 * `exhibit timestamp verify <file> <token>`: check any RFC 3161 token (TimeStampResp or bare
 * TimeStampToken) against any file, offline. Exit 0 verified against a pinned anchor; 10 when the
 * token is consistent but no anchor was given (the TSA is not authenticated); 8 when it fails.
 */
export async function timestampVerifyCommand(file: string, tokenFile: string, opts: TimestampVerifyOptions): Promise<ExitCode> {
  const token = await readSmallFile(tokenFile, 'timestamp token');
  const info = await stat(file).catch((cause: NodeJS.ErrnoException) => {
    throw new PermanentError(cause.code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_INPUT', `cannot read ${file}: ${cause.message}`, { cause });
  });
  if (!info.isFile()) throw new PermanentError('INVALID_INPUT', `${file} is not a file`);
  const trustAnchors = await Promise.all((opts.tsaCa ?? []).map((f) => certificateFile(f, 'trust anchor')));
  const untrusted = await Promise.all((opts.untrusted ?? []).map((f) => certificateFile(f, 'untrusted certificate')));

  let facts: TimestampFacts;
  try {
    facts = await verifyTimestampToken(token, { data: () => createReadStream(file, { highWaterMark: 1 << 20 }), trustAnchors, untrusted, allowUnanchored: true });
  } catch (e) {
    // A refused or broken token is a failed check; unreadable inputs keep their own exit codes.
    if (!(e instanceof ExhibitError) || !(e.kind === 'integrity' || e.code === 'TIMESTAMP_FAILED')) throw e;
    if (opts.json) out(JSON.stringify({ result: 'failed', file, token: tokenFile, anchorPinned: trustAnchors.length > 0, failure: e.toFailure() }, null, 2));
    else {
      out(`Timestamp token ${tokenFile}, file ${file}`);
      out(`NOT VERIFIED: ${e.message}`);
      err('exhibit: the timestamp token does not verify');
    }
    return EXIT.INTEGRITY;
  }
  const result = facts.anchored ? 'verified' : 'unauthenticated';
  if (opts.json) {
    out(JSON.stringify({ result, file, token: tokenFile, anchorPinned: facts.anchored, facts }, null, 2));
  } else {
    printFacts(facts, file, tokenFile);
    out(facts.anchored
      ? `VERIFIED: the token covers this file; issued at ${facts.genTime} by ${facts.signerSubject}, which chains to the anchor you pinned`
      : 'NOT AUTHENTICATED: the token covers this file and its signature verifies, but no --tsa-ca was given, so nothing says who the TSA is; pin the TSA\'s CA certificate (obtained independently) with --tsa-ca');
  }
  return facts.anchored ? EXIT.OK : EXIT.UNAUTHENTICATED;
}
