import { loadEmbeddedHelserefusjon } from './src/helserefusjon/embedded.ts';
import { expectValidFhir } from './test/support/fhir.ts';
const t0 = Date.now();
const h = loadEmbeddedHelserefusjon('data/helserefusjon', { asOf: '2026-11-22' });
console.log('load ms', Date.now() - t0);
console.log(h.codeSystems.map((c) => `${c.id} ${c.url} ${c.version} ${c.count} ${c.content}`).join('\n'));
console.log(h.valueSets.length, h.conceptMaps.length, h.conceptMaps[0].group?.[0].element.length);
console.log(h.warnings);
console.log(JSON.stringify(h.provenance));
const t1 = Date.now();
for (const r of [...h.codeSystems, ...h.valueSets, ...h.conceptMaps]) {
  try { expectValidFhir(r); } catch (e) { console.log('INVALID', r.resourceType, r.id, (e as Error).message.slice(0, 600)); }
}
console.log('validate ms', Date.now() - t1);
const nlk = h.codeSystems.find((c) => c.id === 'nlk-7280')!;
console.log(JSON.stringify(nlk.concept!.find((c) => c.code === 'NPU03230')));
console.log(JSON.stringify(nlk.concept!.find((c) => c.code === 'NOR05001')));
console.log(JSON.stringify(nlk.concept!.find((c) => c.code === 'NPU62708')));
const le = h.codeSystems.filter((c) => c.url?.endsWith('takstkoder-le'));
for (const cs of le) console.log(cs.id, cs.version, JSON.stringify(cs.extension), cs.concept?.find((c) => c.code === '1ad')?.property?.find((p) => p.code === 'honorar'));
const { extension, concept, ...rest } = le[0];
console.log(JSON.stringify(rest, null, 1));
