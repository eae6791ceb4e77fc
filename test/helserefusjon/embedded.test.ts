import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { EmbeddedDataError, loadEmbeddedHelserefusjon, todayInNorway } from '../../src/helserefusjon/embedded.ts';
import { indexCodeSystem } from '../../src/terminology/codesystem-index.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { expandValueSet } from '../../src/terminology/expand.ts';
import { lookupCode } from '../../src/terminology/lookup.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { translateCode } from '../../src/terminology/translate.ts';
import { expectValidFhir } from '../support/fhir.ts';

const DATA = join(import.meta.dirname, '../../data/helserefusjon');
const BASE = 'https://no-fhir-facade.example/fhir';
const NLK = 'urn:oid:2.16.578.1.12.4.1.1.7280';
const h = loadEmbeddedHelserefusjon(DATA);
const all = [...h.codeSystems, ...h.valueSets, ...h.conceptMaps];

describe('loadEmbeddedHelserefusjon', () => {
  test('the code systems, by id, url and version', () => {
    expect(h.codeSystems.map((cs) => `${cs.id} ${cs.version} ${cs.count} ${cs.content}`)).toEqual([
      'fagomraader 2025-06-04 23 complete',
      'praksistyper 2025-06-04 56 fragment',
      'takstkoder-fy 2019-07-01 3 fragment',
      'takstkoder-logo-0-udatert 0-udatert 2 fragment',
      'takstkoder-logo-2013-07-01 2013-07-01 4 fragment',
      'takstkoder-logo-2014-07-01 2014-07-01 4 fragment',
      'takstkoder-logo-2016-07-01 2016-07-01 5 fragment',
      'takstkoder-logo-2018-07-01 2018-07-01 8 fragment',
      'takstkoder-logo 2019-07-01 8 fragment',
      'takstkoder-th 0-udatert 1 fragment',
      'takstkoder-le-0-udatert 0-udatert 46 fragment',
      'takstkoder-le-2019-07-01 2019-07-01 22 fragment',
      'takstkoder-le-2020-11-01 2020-11-01 34 fragment',
      'takstkoder-le-2021-07-01 2021-07-01 5 fragment',
      'takstkoder-le 2023-07-01 33 fragment',
      'nlk-7280 7280.77 11391 complete',
    ]);
  });

  test('ids are unique per type, and so is url|version', () => {
    const ids = all.map((r) => `${r.resourceType}/${r.id}`);
    expect(new Set(ids).size).toBe(ids.length);
    const canonicals = all.map((r) => `${r.resourceType}|${r.url}|${r.version}`);
    expect(new Set(canonicals).size).toBe(canonicals.length);
  });

  test('every CodeSystem names its all-codes ValueSet, which is emitted', () => {
    const vs = new Set(h.valueSets.map((v) => `${v.url}|${v.version}`));
    for (const cs of h.codeSystems) expect(vs.has(cs.valueSet!)).toBe(true);
    // plus the 23 praksistyper-<fagområde> value sets
    expect(h.valueSets).toHaveLength(h.codeSystems.length + 23);
    expect(h.conceptMaps.map((c) => c.id)).toEqual(['nlk-7280-erstattes-av']);
  });

  test('every resource names its source and NLOD 2.0, and is published by this service', () => {
    for (const r of all) {
      expect(r.publisher).toMatch(/^no-fhir-facade \(data fra .+\)$/);
      expect(r.copyright).toMatch(/^Kilde: /);
      expect(r.copyright).toContain('https://data.norge.no/nlod/no/2.0');
      expect(r.copyright).toContain('ikke utgitt, kontrollert eller godkjent av');
    }
  });

  test('takstkoder versions name their own publications', () => {
    const le = h.codeSystems.find((cs) => cs.id === 'takstkoder-le')!;
    expect(le.publisher).toBe(
      'no-fhir-facade (data fra Normaltariffen (Den norske legeforening, normaltariffen.legeforeningen.no))',
    );
    expect(le.copyright).toContain('https://normaltariffen.legeforeningen.no/book/Fastlegetariffen-2023-2024/m-639');
    expect(le.copyright).not.toContain('Fastlegetariffen-2020/');
    expect(h.codeSystems.find((cs) => cs.id === 'takstkoder-fy')!.publisher).toBe(
      'no-fhir-facade (data fra Helfo / Helsedirektoratet takstsider for andre behandlergrupper)',
    );
  });

  test('aliases and provenance', () => {
    expect(h.aliases).toEqual([
      { type: 'CodeSystem', alias: 'http://helsedir.no/fhir/CodeSystem/no-kodeverk-7280-nlk', url: NLK },
      { type: 'CodeSystem', alias: 'http://ehelse.no/fhir/CodeSystem/no-kodeverk-7280-nlk', url: NLK },
      { type: 'CodeSystem', alias: 'http://helsenorge.no/fhir/CodeSystem/no-kodeverk-7280-nlk.codesystem', url: NLK },
    ]);
    expect(h.provenance).toEqual({
      source: 'embedded',
      date: '2025-09-23',
      datasets: [
        {
          name: 'fagomraader og praksistyper',
          version: '2025-06-04',
          date: '2025-06-04',
          files: ['kodeverk/fagomraader.json'],
        },
        {
          name: 'takstkoder',
          version: '2023-07-01',
          date: '2023-07-01',
          files: [
            'takstkoder/andre-fagomraader.json',
            'takstkoder/normaltariff-2019-2020.json',
            'takstkoder/normaltariff-2020-2021.json',
            'takstkoder/normaltariff-2021-2022.json',
            'takstkoder/normaltariff-2023-2024.json',
            'takstkoder/normaltariff-udatert.json',
          ],
        },
        { name: 'NLK', version: '7280.77', date: '2025-09-23', files: ['nlk/nlk-7280.77.csv'] },
      ],
    });
    expect(h.warnings).toHaveLength(4);
  });

  test('NLK: retired codes are present and, on 2026-11-22, inactive; 1 221 replacements in the ConceptMap', () => {
    const idx = indexCodeSystem(h.codeSystems.find((cs) => cs.id === 'nlk-7280')!);
    const retired = idx.concepts.filter((c) => idx.isInactive(c, '2026-11-22'));
    expect(retired).toHaveLength(1_712);
    expect(retired.every((c) => idx.status(c, '2026-11-22') === 'retired')).toBe(true);
    expect(h.conceptMaps[0].group![0].element).toHaveLength(1_221);
  });

  test('every emitted resource is valid FHIR R4', () => {
    for (const r of all) expectValidFhir(r);
  });

  test('todayInNorway is the date in Europe/Oslo', () => {
    expect(todayInNorway(new Date('2026-06-30T22:30:00Z'))).toBe('2026-07-01');
    expect(todayInNorway(new Date('2026-12-31T22:59:00Z'))).toBe('2026-12-31');
  });
});

describe('works with the terminology engine (the known expectations)', () => {
  const store = new TerminologyStore();
  for (const r of all) store.add(r);
  for (const a of h.aliases) store.addAlias(a.type, a.alias, a.url);
  const ctx = new TxContext(store);
  const prop = (props: { code: string; value: unknown }[], code: string) => props.find((p) => p.code === code)?.value;

  test.each([
    NLK,
    'http://helsedir.no/fhir/CodeSystem/no-kodeverk-7280-nlk',
    'http://ehelse.no/fhir/CodeSystem/no-kodeverk-7280-nlk',
  ])('$lookup NPU03230 in %s: P-Kalium, unit mmol/L', (system) => {
    const res = lookupCode(ctx, { system, code: 'NPU03230' });
    expect(res.display).toBe('P-Kalium');
    expect(prop(res.properties, 'enhet')).toBe('mmol/L');
  });

  test('$lookup NOR05001: valid from 2013-01-25, retired 2020-02-29, inactive', () => {
    const res = lookupCode(ctx, { system: NLK, code: 'NOR05001' });
    expect(prop(res.properties, 'fradato')).toBe('2013-01-25');
    expect(prop(res.properties, 'tildato')).toBe('2020-02-29');
    expect(prop(res.properties, 'status')).toBe('retired');
    expect(prop(res.properties, 'inactive')).toBe(true);
  });

  test('$translate NOR05001 gives NPU29069', () => {
    const res = translateCode(ctx, { codings: [{ system: NLK, code: 'NOR05001' }] });
    expect(res.result).toBe(true);
    expect(res.matches.map((m) => m.concept?.code)).toEqual(['NPU29069']);
  });

  test.each<[string | undefined, number]>([
    ['2020-11-01', 73],
    ['2023-07-01', 80],
    [undefined, 80],
  ])('$lookup 1ad in takstkoder-le version %s: honorar %i', (version, honorar) => {
    const res = lookupCode(ctx, { system: `${BASE}/CodeSystem/takstkoder-le`, version, code: '1ad' });
    expect(prop(res.properties, 'honorar')).toBe(honorar);
  });

  test('$expand praksistyper-le contains FALE and LEVA, not FYNO', () => {
    const codes = expandValueSet(ctx, store.get('ValueSet', 'praksistyper-le')!).expansion?.contains?.map(
      (c) => c.code,
    );
    expect(codes).toContain('FALE');
    expect(codes).toContain('LEVA');
    expect(codes).not.toContain('FYNO');
  });
});

describe('errors', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const copy = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'helserefusjon-'));
    dirs.push(dir);
    cpSync(DATA, dir, { recursive: true });
    return dir;
  };

  test('a malformed takstkoder file names the file and the field', () => {
    const dir = copy();
    writeFileSync(
      join(dir, 'takstkoder/normaltariff-2021-2022.json'),
      JSON.stringify({ source: 'x', takstkoder: [{ takstkode: '2ad', fagomraade: 'LE', honorar: 'mye' }] }),
    );
    expect(() => loadEmbeddedHelserefusjon(dir)).toThrow(EmbeddedDataError);
    expect(() => loadEmbeddedHelserefusjon(dir)).toThrow(
      /normaltariff-2021-2022\.json: takstkoder\[0\]\.honorar: expected a number, got "mye"/,
    );
  });

  test('a tariff file without its source is refused', () => {
    const dir = copy();
    writeFileSync(join(dir, 'takstkoder/normaltariff-2021-2022.json'), JSON.stringify({ takstkoder: [] }));
    expect(() => loadEmbeddedHelserefusjon(dir)).toThrow(/no "source"/);
  });

  test('a missing NLK release is refused', () => {
    const dir = copy();
    rmSync(join(dir, 'nlk/nlk-7280.77.csv'));
    expect(() => loadEmbeddedHelserefusjon(dir)).toThrow(/expected one NLK release CSV, found 0/);
  });

  test('a missing folder is refused', () => {
    expect(() => loadEmbeddedHelserefusjon(join(tmpdir(), 'no-such-dir-helserefusjon'))).toThrow(EmbeddedDataError);
  });
});
