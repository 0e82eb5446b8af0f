import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSchemaText, PUBLISHED_SCHEMAS } from '../../../schemas/json-schemas.js';

const dir = path.resolve('schemas/json');

describe('checked-in JSON Schema files', () => {
  for (const [name, schema] of Object.entries(PUBLISHED_SCHEMAS)) {
    it(`${name}.schema.json matches the zod schema (run npm run schemas:json when this fails)`, () => {
      const onDisk = readFileSync(path.join(dir, `${name}.schema.json`), 'utf8');
      expect(onDisk).toBe(jsonSchemaText(name, schema));
    });
  }
  it('has no stale files for schemas that no longer exist', () => {
    const expected = Object.keys(PUBLISHED_SCHEMAS).map((n) => `${n}.schema.json`).sort();
    expect(readdirSync(dir).sort()).toEqual(expected);
  });
});
