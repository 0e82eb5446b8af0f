import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCollectorDocs } from './collector-docs.js';

/** `npm run docs:cli`: regenerate docs/collectors.md from the collectors' configSchemas. */
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'collectors.md');
writeFileSync(out, renderCollectorDocs());
process.stdout.write(`wrote ${out}\n`);
