/**
 * Where everything lives inside a certified package (a BagIt 1.0 bag, RFC 8493). One place, so
 * build.ts writes and verify.ts reads the same paths. All paths are relative to the bag root.
 */
import type { Artifact } from '../../schemas/artifact.js';

const seq12 = (seq: number) => String(seq).padStart(12, '0');

export const bagPaths = {
  bagit: 'bagit.txt',
  bagInfo: 'bag-info.txt',
  manifest: (alg: 'sha256' | 'sha512') => `manifest-${alg}.txt`,
  tagmanifest: (alg: 'sha256' | 'sha512') => `tagmanifest-${alg}.txt`,
  readme: 'data/README.txt',
  verifyTxt: 'data/VERIFY.txt',
  certificateHtml: 'data/certificate.html',
  certificatePdf: 'data/certificate.pdf',
  captureDir: (captureId: string) => `data/captures/${captureId}/`,
  captureManifest: (captureId: string) => `data/captures/${captureId}/manifest.json`,
  captureSig: (captureId: string) => `data/captures/${captureId}/manifest.sig`,
  captureSignature: (captureId: string) => `data/captures/${captureId}/manifest.signature.json`,
  captureToken: (captureId: string, n: number) => `data/captures/${captureId}/timestamps/${n}.tsr`,
  captureTimestamp: (captureId: string, n: number) => `data/captures/${captureId}/timestamps/${n}.json`,
  /** Originals under `artifacts/<name>`; derivatives (with `derivedFrom`) under `derived/<name without its derived/ prefix>`. */
  artifact: (captureId: string, a: Pick<Artifact, 'name' | 'derivedFrom'>) =>
    a.derivedFrom ? `data/captures/${captureId}/derived/${a.name.replace(/^derived\//, '')}` : `data/captures/${captureId}/artifacts/${a.name}`,
  /** The offline replay viewer (ReplayWeb.page under `rwp/`), one page per capture. */
  replayIndex: 'data/replay/index.html',
  replayPage: (captureId: string) => `data/replay/${captureId}.html`,
  events: 'data/custody/events.jsonl',
  head: (seq: number) => `data/custody/heads/${seq12(seq)}.json`,
  headSig: (seq: number) => `data/custody/heads/${seq12(seq)}.sig`,
  headSignature: (seq: number) => `data/custody/heads/${seq12(seq)}.signature.json`,
  headToken: (seq: number, n: number) => `data/custody/heads/${seq12(seq)}.timestamp-${n}.tsr`,
  headTimestamp: (seq: number, n: number) => `data/custody/heads/${seq12(seq)}.timestamp-${n}.json`,
  /** Public key by fingerprint (`sha256:<hex>` → `data/keys/<hex>.pem`). */
  key: (fingerprint: string) => `data/keys/${fingerprint.replace(/^sha256:/, '')}.pem`,
  /** Signing-key rotation statements (signed by the outgoing key), by the new key's fingerprint. */
  rotation: (next: string) => `data/keys/rotations/${next.replace(/^sha256:/, '')}.json`,
  rotationSignature: (next: string) => `data/keys/rotations/${next.replace(/^sha256:/, '')}.signature.json`,
  rotationSig: (next: string) => `data/keys/rotations/${next.replace(/^sha256:/, '')}.sig`,
  /** What the package holds, fixed before it was built; its digest is in the `packaged` custody event. */
  contentManifest: 'data/package-content.json',
  /** Analyst tags and notes of the packaged captures (not evidence), derived from the custody events the bag carries. */
  annotations: 'data/annotations.json',
  /** The seal over every file of the bag (tag files at the bag root). */
  seal: 'package-seal.json',
  sealSig: 'package-seal.sig',
  sealSignature: 'package-seal.signature.json',
  sealToken: (n: number) => `package-seal.timestamp-${n}.tsr`,
  sealTimestamp: (n: number) => `package-seal.timestamp-${n}.json`,
  /** One WACZ of every packaged capture's WARCs (option caseWacz). */
  caseWacz: 'data/case.wacz',
  /** A package built for a partner (`exhibit share`): the signed share record. */
  shareRecord: 'data/share/record.json',
  shareRecordSig: 'data/share/record.sig',
  shareRecordSignature: 'data/share/record.signature.json',
  /** A package received from a partner (`exhibit import`), byte-identical, and its import record. */
  receivedZip: (sha256: string) => `data/received/${sha256.replace(/^sha256:/, '')}/package.zip`,
  receivedRecord: (sha256: string) => `data/received/${sha256.replace(/^sha256:/, '')}/record.json`,
  /** Derived analysis products (never evidence themselves): built from the sealed captures in this package. */
  analysisDir: 'data/analysis/',
  analysis: (name: string) => `data/analysis/${name}`,
  /** The case graph: node-link JSON (what verify reads), GraphML and a rendered SVG figure. */
  caseGraphJson: 'data/analysis/case-graph.json',
  caseGraphml: 'data/analysis/case-graph.graphml',
  tsaCa: 'data/tsa/ca.pem',
  tsaCerts: 'data/tsa/tsa.pem',
} as const;

/** Files the package seal does not list: the BagIt manifests (made after it) and the seal's own signature and tokens. */
export function unsealedByDesign(p: string): boolean {
  return /^(tag)?manifest-sha(256|512)\.txt$/.test(p) || p === bagPaths.seal || p === bagPaths.sealSig || p === bagPaths.sealSignature || /^package-seal\.timestamp-\d+\.(tsr|json)$/.test(p);
}

/**
 * Whether an artifact name (from a manifest, i.e. possibly hostile) is safe as a relative path:
 * no absolute path, no `.`/`..`/empty segments, no backslash, no control characters.
 */
export function isSafeRelativeName(name: string): boolean {
  if (!name || name.length > 1000 || name.startsWith('/') || name.includes('\\')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return false;
  return name.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** The one-line command that serves the offline replay viewer, run in the directory that holds bagit.txt. */
export const OFFLINE_REPLAY_COMMAND = 'python3 -m http.server --bind 127.0.0.1 --directory data 8080';
/** Where the browser opens it (service workers need a loopback http origin). */
export const OFFLINE_REPLAY_URL = 'http://127.0.0.1:8080/replay/';

/** The layout description shipped as data/README.txt (and quoted in the project README). */
export const PACKAGE_LAYOUT_TEXT = `Exhibit certified package: layout
=================================

This is a BagIt 1.0 bag (RFC 8493). Everything of evidential value is under data/; the files at
the top level describe and protect it.

bagit.txt                         BagIt version and encoding
bag-info.txt                      case id, legal basis, operator(s), capture count, Bagging-Date, Payload-Oxum
manifest-sha256.txt               SHA-256 of every file under data/ ("<hex>  data/<path>", sha256sum -c format)
manifest-sha512.txt               SHA-512 of every file under data/
tagmanifest-sha256.txt            SHA-256 of bagit.txt, bag-info.txt, the two manifests and the package-seal files
tagmanifest-sha512.txt            SHA-512 of the same
package-seal.json                 the seal over the whole package: SHA-256 of EVERY file in the bag (this
                                  README, the certificate, bag-info.txt, VERIFY.txt, the custody files...)
                                  except the BagIt manifests and the seal's own .sig/.tsr files
package-seal.sig                  raw Ed25519 signature over the SHA-256 of package-seal.json
package-seal.signature.json       the same signature with the key fingerprint and signing time
package-seal.timestamp-<n>.tsr    RFC 3161 time-stamp responses over the SHA-256 of package-seal.json
package-seal.timestamp-<n>.json   what was checked on receipt

data/README.txt                   this file
data/VERIFY.txt                   how to verify this package with standard tools
data/certificate.html             human-readable certificate (open in any browser)
data/certificate.pdf              the same certificate as PDF
data/annotations.json             ANALYST ANNOTATIONS, NOT EVIDENCE: the tags and notes analysts added to
                                  the packaged captures after they were sealed (who, when, what), derived
                                  from the tag-added, tag-removed and note-added events of the custody log
                                  below; they change nothing in the captures
data/package-content.json         what the package holds, fixed before it was built (capture files, keys,
                                  TSA CA file, case facts, the selection and any sealed capture left out,
                                  with the reason); its SHA-256 is in the "packaged" custody event
data/captures/<captureId>/
    manifest.json                 capture manifest: the exact canonical (RFC 8785) bytes that were
                                  signed and timestamped; sha256sum of this file is the digest
                                  inside its signature and its timestamp tokens
    manifest.sig                  raw 64-byte Ed25519 signature over the 32-byte SHA-256 of manifest.json
    manifest.signature.json       the same signature with the key fingerprint and signing time
    timestamps/<n>.tsr            RFC 3161 time-stamp responses over the SHA-256 of manifest.json,
                                  one per time-stamping authority, as received
    timestamps/<n>.json           what was checked on receipt (TSA time, local time, clock skew, ...)
    artifacts/<name>              original artifacts, byte-identical to what was captured
                                  (screenshot, DOM, MHTML, WARC, media, page facts, environment)
    derived/<name>                derivatives made from originals (thumbnails, extracted metadata,
                                  <warc>.wacz: the WARC as recorded with its index, for replay in
                                  ReplayWeb.page); each is labelled in manifest.json with its source
                                  and method
data/analysis/                    ONLY WHEN REQUESTED (--graph): derived analysis products, not evidence:
    README.txt                    what was derived, from which captures, and how
    case-graph.json               the case graph (accounts, posts, hashtags, URLs, media and who mentions,
                                  replies to, forwards and shares media with whom), built from the
                                  sealed post.json of the captures in this package only; every node
                                  and edge names the captures (and JSON pointers) it was read from
    case-graph.graphml            the same graph for yEd, Gephi, networkx, Neo4j
    case-graph.svg                a rendered figure of the graph
data/replay/index.html            offline replay of each capture's web archive in ReplayWeb.page (its
                                  files in data/replay/rwp/, licence AGPL-3.0 in rwp/LICENSE). In the
                                  directory that holds bagit.txt run
                                    ${OFFLINE_REPLAY_COMMAND}
                                  then open ${OFFLINE_REPLAY_URL}
data/replay/<captureId>.html      the replay page of one capture (reads its archive under data/captures/)
data/case.wacz                    (when asked for) one WACZ of every capture's WARC, byte-identical,
                                  for replaying the whole case in ReplayWeb.page
data/custody/events.jsonl         the case's custody log up to the signed head below: one event per
                                  line, exact stored bytes; each event holds the hash of the one before.
                                  A package of chosen captures elides the events it does not disclose
                                  (other captures, their reads, other packages) to one line each with
                                  only seq, prevHash and hash ("exhibit.custody-elided/1")
data/custody/heads/<seq>.json     signed custody-log heads (latest sequence number and hash)
data/custody/heads/<seq>.sig      raw Ed25519 signature over the SHA-256 of <seq>.json
data/custody/heads/<seq>.signature.json, <seq>.timestamp-<n>.tsr, <seq>.timestamp-<n>.json
data/keys/<fingerprint>.pem       Ed25519 public key(s); the file name is the SHA-256 of the raw 32-byte key.
                                  They are information, not proof: confirm the fingerprint with the sender
data/keys/rotations/<new>.json    key rotation statements (old and new fingerprint, time), each signed by
                                  the OUTGOING key (.sig, .signature.json): a pinned old key vouches for
                                  its successor
data/share/record.json            only in a package shared with a partner agency: sender, recipient, legal
                                  basis, TLP 2.0 marking, expiry, the captures disclosed and each artifact
                                  withheld (name, role, size, SHA-256/512 as its signed manifest states
                                  them; the file itself is not in the bag); .sig and .signature.json: its
                                  Ed25519 signature. Its SHA-256 is in the "shared" custody event
data/received/<sha256>/package.zip  a package received from a partner agency, byte-identical (its own
                                  captures, custody segment, keys, tokens and seal inside); verify it
                                  on its own as well. record.json beside it: the import record (partner,
                                  origin organisation, case and head); the "received" events of this
                                  log name both digests: the hand-over between the two custody chains
data/tsa/ca.pem                   root certificate(s) of the time-stamping authorities (information: pin
                                  your own copy)
data/tsa/tsa.pem                  the time-stamping authorities' signing certificates
`;
