import { extractImageMetadata } from './evidence/metadata.js';
for (const f of process.argv.slice(2)) {
  const r = await extractImageMetadata(f);
  console.log(f.split('/').pop(), r.ok ? 'OK ' + Object.keys(r.data).join(',') + ' flags=' + JSON.stringify(r.flags) + ' ' + JSON.stringify(r.facts).slice(0, 300) : 'FAIL ' + r.error);
}
