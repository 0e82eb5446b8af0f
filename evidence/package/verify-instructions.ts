/**
 * The plain-language VERIFY.txt shipped in every package: exact commands for sha256sum, openssl
 * and a BagIt validator, filled in with this package's capture ids, keys and tokens.
 */
import { bagPaths, OFFLINE_REPLAY_COMMAND, OFFLINE_REPLAY_URL } from './layout.js';

export interface VerifyTextInput {
  caseId: string;
  captures: Array<{ captureId: string; keyFingerprint: string | null; tokens: number }>;
  head: { seq: number; keyFingerprint: string; tokens: number } | null;
  genesisHash: string;
  /** The package seal's signing key and the TSA roots in data/tsa/ca.pem (what a recipient must confirm). */
  seal?: { keyFingerprint: string; tsaRoots: Array<{ fingerprint: string; subject: string }> };
  /** The package carries a case graph under data/analysis/. */
  caseGraph?: boolean;
}

type Line = (s?: string) => void;

/** Steps 0 and 1: unzip, and the BagIt manifests. */
function bagSteps(p: Line, input: VerifyTextInput): void {
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
  p('   (The commands below write their scratch files to /tmp: a file added inside the package would');
  p('   rightly fail the package seal check in step 4.)');
  p();
}

/** Step 2: each capture's signature and tokens. */
function captureSteps(p: Line, input: VerifyTextInput): void {
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
      p(`     openssl dgst -sha256 -binary ${bagPaths.captureManifest(c.captureId)} > /tmp/manifest.sha256.bin`);
      p(`     openssl pkeyutl -verify -pubin -inkey ${key} -rawin -in /tmp/manifest.sha256.bin -sigfile ${bagPaths.captureSig(c.captureId)}`);
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
}

/** Step 3: the custody log's hash chain and its signed head. */
function custodySteps(p: Line, input: VerifyTextInput): void {
  p('3. The custody log (data/custody/events.jsonl) is hash-chained: each line is one event in');
  p('   canonical JSON (RFC 8785); its "hash" is the SHA-256 of the event without "hash", and its');
  p('   "prevHash" is the previous event\'s hash. The first event\'s prevHash is');
  p(`   sha256("exhibit.custody-genesis/1\\n" + case id) = ${input.genesisHash}.`);
  p('   A package of chosen captures does not disclose the events of other captures: such a line is');
  p('   "exhibit.custody-elided/1" with only seq, prevHash and hash. Its content cannot be recomputed,');
  p('   but the next line must link to its hash, so the chain still runs unbroken to the signed head.');
  if (input.head) {
    const h = input.head;
    p(`   The log head (event ${h.seq}) is signed and timestamped:`);
    p(`     openssl dgst -sha256 -binary ${bagPaths.head(h.seq)} > /tmp/head.sha256.bin`);
    p(`     openssl pkeyutl -verify -pubin -inkey ${bagPaths.key(h.keyFingerprint)} -rawin -in /tmp/head.sha256.bin -sigfile ${bagPaths.headSig(h.seq)}`);
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
  p('         if e["schemaVersion"] != "exhibit.custody-elided/1":  # elided: not disclosed, hash only');
  p('             assert "sha256:" + hashlib.sha256(body).hexdigest() == h, f"event {i} was altered"');
  p('         assert e["prevHash"] == prev, f"event {i} does not link to the one before"');
  p('         prev = h');
  p('     print("custody chain OK, head", i, prev)');
  p('     EOF');
  p();
}

/** Step 4: the package seal, the content manifest, and whom to ask about the keys. */
function sealSteps(p: Line, s: NonNullable<VerifyTextInput['seal']>): void {
  p('4. The package is sealed as a whole: package-seal.json (at the top, beside bagit.txt) lists the');
  p('   SHA-256 of every file in the bag except the BagIt manifests and the seal\'s own .sig and .tsr');
  p('   files, and is signed and timestamped like a manifest:');
  p(`     openssl dgst -sha256 -binary ${bagPaths.seal} > /tmp/seal.sha256.bin`);
  p(`     openssl pkeyutl -verify -pubin -inkey ${bagPaths.key(s.keyFingerprint)} -rawin -in /tmp/seal.sha256.bin -sigfile ${bagPaths.sealSig}`);
  p(`     openssl ts -verify -data ${bagPaths.seal} -in ${bagPaths.sealToken(1)} -CAfile ${bagPaths.tsaCa} -untrusted ${bagPaths.tsaCerts}`);
  p('   Every file it lists must be unchanged, and no other file may be present:');
  p();
  p("     python3 - <<'EOF'");
  p('     import json, hashlib, os');
  p(`     seal = json.load(open(${JSON.stringify(bagPaths.seal)}, encoding="utf-8"))`);
  p('     listed = {f["path"]: f["sha256"] for f in seal["files"]}');
  p('     skip = lambda p: p.startswith(("manifest-", "tagmanifest-", "package-seal."))');
  p('     found = [os.path.relpath(os.path.join(d, n)).replace(os.sep, "/") for d, _, ns in os.walk(".") for n in ns]');
  p('     for p in sorted(found):');
  p('         if skip(p): continue');
  p('         assert p in listed, f"{p} is not listed in the seal"');
  p('         assert "sha256:" + hashlib.sha256(open(p, "rb").read()).hexdigest() == listed[p], f"{p} changed"');
  p('     for p in listed: assert os.path.exists(p), f"{p} is missing"');
  p('     print("package seal OK,", len(listed), "files")');
  p('     EOF');
  p();
  p(`   ${bagPaths.contentManifest} is what the package holds, fixed before it was built; its SHA-256 is`);
  p('   recorded in the "packaged" event of the custody log, which the last signed head covers:');
  p(`     sha256sum ${bagPaths.contentManifest}`);
  p();
  p('   WHO VOUCHES FOR THIS PACKAGE. The keys and certificates inside it only show that it is');
  p('   internally consistent: anyone can make a consistent package with their own key and a public');
  p('   time-stamping authority. Confirm these fingerprints independently (with the sending agency by');
  p('   phone or letter; with the TSA\'s published certificate) before relying on the package:');
  p(`     signing key  ${s.keyFingerprint}`);
  for (const r of s.tsaRoots) p(`     TSA root     ${r.fingerprint}  (${r.subject})`);
  p('   A TSA root fingerprint is the SHA-256 of its DER:  openssl x509 -in data/tsa/ca.pem -outform DER | sha256sum');
  p('   and pass your own confirmed copy of the CA to -CAfile above.');
  p();
}

/** VERIFY.txt for one package. */
export function verifyInstructions(input: VerifyTextInput): string {
  const lines: string[] = [];
  const p: Line = (s = '') => lines.push(s);
  bagSteps(p, input);
  captureSteps(p, input);
  custodySteps(p, input);
  if (input.seal) sealSteps(p, input.seal);
  p(`${input.seal ? '5' : '4'}. Read data/certificate.html (or .pdf) for the facts of each capture; the evidence itself is`);
  p('   under data/captures/<capture id>/artifacts/ (originals, byte-identical) and derived/ (labelled');
  p('   derivatives, each naming its source and method in manifest.json).');
  p();
  p(`${input.seal ? '6' : '5'}. To replay the captured pages offline (ReplayWeb.page, in any current browser), run in the`);
  p('   directory that holds bagit.txt, then open the address below and pick a capture:');
  p(`     ${OFFLINE_REPLAY_COMMAND}`);
  p(`     ${OFFLINE_REPLAY_URL}`);
  p('   (Service workers need http://127.0.0.1 or http://localhost; opening the file directly does not work.)');
  p('   The replay reads the archives under data/captures/ as they are; the viewer files in data/replay/');
  p('   are covered by the checks above like every other file.');
  p();
  if (input.caseGraph) {
    p(`${input.seal ? '7' : '6'}. ${bagPaths.analysisDir} holds a case graph: a DERIVED analysis product, not evidence (see its`);
    p('   README.txt). Each of its nodes and edges names the captures it was read from; every one must be');
    p('   a capture in this package:');
    p();
    p("     python3 - <<'EOF'");
    p('     import json, os');
    p(`     g = json.load(open(${JSON.stringify(bagPaths.caseGraphJson)}, encoding="utf-8"))`);
    p('     held = set(os.listdir("data/captures"))');
    p('     bad = [(x["id"], p["captureId"]) for x in g["nodes"] + g["edges"] for p in x["provenance"] if p["basis"] == "observed" and p["captureId"] not in held]');
    p('     for item, c in bad: print(item, "names capture", c, "which is not in this package")');
    p('     assert not bad, "the case graph names captures this package does not hold"');
    p('     print("case graph OK:", len(g["nodes"]), "nodes and", len(g["edges"]), "edges, each naming captures in this package")');
    p('     EOF');
    p();
  }
  return `${lines.join('\n')}\n`;
}
