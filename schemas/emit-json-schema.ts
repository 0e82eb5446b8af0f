import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonSchemaText, PUBLISHED_SCHEMAS } from './json-schemas.js';

/** `npm run schemas:json`: regenerate schemas/json/*.schema.json from the zod schemas. */
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'json');
mkdirSync(outDir, { recursive: true });
for (const [name, schema] of Object.entries(PUBLISHED_SCHEMAS)) {
  writeFileSync(path.join(outDir, `${name}.schema.json`), jsonSchemaText(name, schema));
}
process.stdout.write(`wrote ${Object.keys(PUBLISHED_SCHEMAS).length} JSON Schema files to ${outDir}\n`);
