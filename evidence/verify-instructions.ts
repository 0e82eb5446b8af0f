/**
 * The plain-language VERIFY.txt shipped in every package: exact commands for sha256sum, openssl
 * and a BagIt validator, filled in with this package's capture ids, keys and tokens.
 */
import { bagPaths } from './package-layout.js';

export interface VerifyTextInput {
  caseId: string;
  captures: Array<{ captureId: string; keyFingerprint: string | null; tokens: number }>;
  head: { seq: number; keyFingerprint: string; tokens: number } | null;
  genesisHash: string;
}

/** VERIFY.txt for one package. */
export function verifyInstructions(input: VerifyTextInput): string {
  const lines: string[] = [];
  const p = (s = '') => lines.push(s);
  p(`How to verify this package (case ${input.caseId}) with standard tools`);
  p('===================================================================');
  p();
  p('You need: unzip, sha256sum/sha512sum (GNU coreutils), OpenSSL 3, and optionally Python 3 with');
  p('the "bagit" package. Nothing from the software that made this package is needed.');
  p();
  p('0. Unzip the package and change into the directory that holds bagit.txt:');
  p('     unzip package.zip && cd <that directory>');
  p();
  p('1. Every file is complete and unchanged (BagIt manifests; the format is exactly sha256sum -c):');
  p('     sha256sum -c manifest-sha256.txt');
  p('     sha512sum -c manifest-sha512.txt');
  p('     sha256sum -c tagmanifest-sha256.txt');
  p('   Each line must say OK. Also check no file was added: the number of files under data/');
  p('   must equal the number of lines in manifest-sha256.txt:');
  p('     find data -type f | wc -l; wc -l < manifest-sha256.txt');
  p('   Any BagIt validator does all of this, e.g.:  python3 -m bagit --validate .');
  p();
  p('2. Each capture manifest is signed with Ed25519 over the SHA-256 of its exact bytes.');
  p('   The signature file holds the raw 64-byte signature; the key file name is the SHA-256 of the');
  p('   raw 32-byte public key. For each capture:');
  for (const c of input.captures) {
    p();
    p(`   Capture ${c.captureId}:`);
    if (!c.keyFingerprint) {
      p('     (this capture is NOT signed: it was stored unsealed)');
    } else {
      const key = bagPaths.key(c.keyFingerprint);
      p(`     openssl dgst -sha256 -binary ${bagPaths.captureManifest(c.captureId)} > manifest.sha256.bin`);
      p(`     openssl pkeyutl -verify -pubin -inkey ${key} -rawin -in manifest.sha256.bin -sigfile ${bagPaths.captureSig(c.captureId)}`);
      p('       → "Signature Verified Successfully"');
    }
    for (let n = 1; n <= c.tokens; n++) {
      p(`     openssl ts -verify -data ${bagPaths.captureManifest(c.captureId)} -in ${bagPaths.captureToken(c.captureId, n)} -CAfile ${bagPaths.tsaCa} -untrusted ${bagPaths.tsaCerts}`);
      p('       → "Verification: OK"');
    }
    if (c.tokens === 0) p('     (no RFC 3161 timestamp token: this capture is unsealed)');
  }
  p();
  p('   The same check by digest:  openssl ts -verify -digest "$(sha256sum <manifest.json> | cut -c1-64)" -in <n>.tsr ...');
  p('   To read the time a token certifies:  openssl ts -reply -in <n>.tsr -text');
  p('   To check a key file name:  openssl pkey -pubin -in data/keys/<hex>.pem -outform DER | tail -c 32 | sha256sum');
  p();
  p(`   IMPORTANT: ${bagPaths.tsaCa} is included for convenience. A token only proves the time if that`);
  p('   CA is one you trust: compare it with the certificate the time-stamping authority publishes, or');
  p('   pass your own copy to -CAfile.');
  p();
  p('3. The custody log (data/custody/events.jsonl) is hash-chained: each line is one event in');
  p('   canonical JSON (RFC 8785); its "hash" is the SHA-256 of the event without "hash", and its');
  p('   "prevHash" is the previous event\'s hash. The first event\'s prevHash is');
  p(`   sha256("exhibit.custody-genesis/1\\n" + case id) = ${input.genesisHash}.`);
  if (input.head) {
    const h = input.head;
    p(`   The log head (event ${h.seq}) is signed and timestamped:`);
    p(`     openssl dgst -sha256 -binary ${bagPaths.head(h.seq)} > head.sha256.bin`);
    p(`     openssl pkeyutl -verify -pubin -inkey ${bagPaths.key(h.keyFingerprint)} -rawin -in head.sha256.bin -sigfile ${bagPaths.headSig(h.seq)}`);
    for (let n = 1; n <= h.tokens; n++) {
      p(`     openssl ts -verify -data ${bagPaths.head(h.seq)} -in ${bagPaths.headToken(h.seq, n)} -CAfile ${bagPaths.tsaCa} -untrusted ${bagPaths.tsaCerts}`);
    }
    p(`   ${bagPaths.head(h.seq)} names the last event's sequence number and hash; it must equal the`);
    p('   last line of events.jsonl, which shows the log was not cut short or rewritten.');
  } else {
    p('   (this package has no signed log head)');
  }
  p('   The chain itself can be checked with Python 3 alone (Python\'s sorted compact JSON equals');
  p('   RFC 8785 for these events, which hold only strings, integers, booleans, lists and objects):');
  p();
  p("     python3 - <<'EOF'");
  p('     import json, hashlib');
  p(`     prev = ${JSON.stringify(input.genesisHash)}`);
  p("     for i, line in enumerate(open('data/custody/events.jsonl', encoding='utf-8'), 1):");
  p('         e = json.loads(line); h = e.pop("hash")');
  p("         body = json.dumps(e, sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode()");
  p('         assert e["seq"] == i, f"line {i}: seq {e[\'seq\']}"');
  p('         assert "sha256:" + hashlib.sha256(body).hexdigest() == h, f"event {i} was altered"');
  p('         assert e["prevHash"] == prev, f"event {i} does not link to the one before"');
  p('         prev = h');
  p('     print("custody chain OK, head", i, prev)');
  p('     EOF');
  p();
  p('4. Read data/certificate.html (or .pdf) for the facts of each capture; the evidence itself is');
  p('   under data/captures/<capture id>/artifacts/ (originals, byte-identical) and derived/ (labelled');
  p('   derivatives, each naming its source and method in manifest.json).');
  p();
  return `${lines.join('\n')}\n`;
}
