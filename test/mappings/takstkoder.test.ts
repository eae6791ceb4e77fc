import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeSystem } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import {
  FACADE_CANONICAL_BASE,
  helserefusjonApiSource,
  takstkoderSystem,
  VALID_FROM_PROPERTY_URI,
  VALID_TO_PROPERTY_URI,
} from '../../mappings/systems.ts';
import { TAKSTKODER_PROPERTIES, toCodeSystemsTakstkoder, toConceptTakstkode } from '../../mappings/takstkoder.ts';
import { parseTakstkoder, type TakstkodeDto } from '../../src/upstream/helserefusjon.ts';
import { expectValidFhir } from '../support/fhir.ts';

const SOURCE = helserefusjonApiSource('2026-11-22');
const LE_URL = 'https://no-fhir-facade.example/fhir/CodeSystem/takstkoder-le';
const LE_VS = 'https://no-fhir-facade.example/fhir/ValueSet/takstkoder-le';

const fixtureRows = (): TakstkodeDto[] =>
  parseTakstkoder(
    JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/helserefusjon/takstkoder-le.json'), 'utf8')),
  );

function row(over: Partial<TakstkodeDto>): TakstkodeDto {
  return {
    takst_id: null,
    takstkode: 'X',
    fagomraade: 'LE',
    fradato: null,
    tildato: null,
    honorar: null,
    refusjon: null,
    egenandel: null,
    pasient_egenbetaling: null,
    maks_repetisjoner: null,
    repetisjonsprosent: null,
    redusert_ref_fra_repetisjon: null,
    redusert_repetisjonsprosent: null,
    spesialisttakst: null,
    ugyldig_kombinasjon: null,
    krever_takst: null,
    krever_prosedyre: null,
    krever_diagnose: null,
    maks_antall_per_aar: null,
    maks_antall_per_kalender_aar: null,
    maks_antall_gjelder_pasient: null,
    minimum_tidsbruk: null,
    beskrivelse: null,
    resource_id: null,
    tidsbruk_per_rep: null,
    ...over,
  };
}

const prop = (cs: CodeSystem, code: string, property: string) =>
  cs.concept?.find((c) => c.code === code)?.property?.filter((p) => p.code === property);

describe('toConceptTakstkode', () => {
  test('every upstream field with a value becomes a typed property named like the field', () => {
    const [r] = fixtureRows();
    expect(toConceptTakstkode(r, 'Lege')).toEqual({
      code: '1ad',
      display: r.beskrivelse,
      property: [
        { code: 'takst_id', valueString: '90001' },
        {
          code: 'fagomraade',
          valueCoding: {
            system: 'https://no-fhir-facade.example/fhir/CodeSystem/fagomraader',
            code: 'LE',
            display: 'Lege',
          },
        },
        { code: 'fradato', valueDateTime: '2023-07-01' },
        { code: 'tildato', valueDateTime: '2024-06-30' },
        { code: 'honorar', valueDecimal: 80 },
        { code: 'refusjon', valueDecimal: 19 },
        { code: 'egenandel', valueDecimal: 61 },
        { code: 'maks_repetisjoner', valueInteger: 0 },
        { code: 'spesialisttakst', valueBoolean: false },
        {
          code: 'ugyldig_kombinasjon',
          valueString: '1ak, b, f, g, 2, 3, 4, 11, 12, 13, 14, 15, 21, 217c, 612, 621, 622, 623, 624',
        },
        { code: 'krever_prosedyre', valueString: 'false' },
        { code: 'krever_diagnose', valueString: 'J' },
        { code: 'beskrivelse', valueString: r.beskrivelse },
        { code: 'resource_id', valueString: 'r-1ad' },
      ],
    });
  });

  test('the maks_* and minimum_tidsbruk fields', () => {
    const c = toConceptTakstkode(
      row({
        takstkode: 'K01a',
        maks_antall_per_aar: 1,
        maks_antall_per_kalender_aar: 500,
        maks_antall_gjelder_pasient: false,
        minimum_tidsbruk: 7.5,
        repetisjonsprosent: 50,
        redusert_ref_fra_repetisjon: 3,
        redusert_repetisjonsprosent: 25,
        pasient_egenbetaling: 10,
        tidsbruk_per_rep: 15,
        krever_takst: '2ad',
      }),
    );
    expect(c.property?.filter((p) => p.code !== 'fagomraade')).toEqual([
      { code: 'pasient_egenbetaling', valueDecimal: 10 },
      { code: 'repetisjonsprosent', valueDecimal: 50 },
      { code: 'redusert_ref_fra_repetisjon', valueInteger: 3 },
      { code: 'redusert_repetisjonsprosent', valueDecimal: 25 },
      { code: 'krever_takst', valueString: '2ad' },
      { code: 'maks_antall_per_aar', valueInteger: 1 },
      { code: 'maks_antall_per_kalender_aar', valueInteger: 500 },
      { code: 'maks_antall_gjelder_pasient', valueBoolean: false },
      { code: 'minimum_tidsbruk', valueDecimal: 7.5 },
      { code: 'tidsbruk_per_rep', valueDecimal: 15 },
    ]);
    expect(c.display).toBeUndefined();
  });

  test('a description is the display verbatim, line breaks and odd spacing included', () => {
    const text = 'Full undersøkelse .\nTaksten kan kun benyttes av nevrolog.';
    expect(toConceptTakstkode(row({ beskrivelse: text })).display).toBe(text);
  });

  test('fradato and tildato are declared as the validity (first and last valid day)', () => {
    const uri = new Map(TAKSTKODER_PROPERTIES.map((p) => [p.code, p.uri]));
    expect(uri.get('fradato')).toBe(VALID_FROM_PROPERTY_URI);
    expect(uri.get('tildato')).toBe(VALID_TO_PROPERTY_URI);
    // the engine names them under the service's canonical base: they move with it
    expect(VALID_FROM_PROPERTY_URI.startsWith(`${FACADE_CANONICAL_BASE}/`)).toBe(true);
    expect(VALID_TO_PROPERTY_URI.startsWith(`${FACADE_CANONICAL_BASE}/`)).toBe(true);
  });

  test('every property used is declared with the type of its value', () => {
    const types = new Map(TAKSTKODER_PROPERTIES.map((p) => [p.code, p.type]));
    const valueType: Record<string, string> = {
      valueString: 'string',
      valueDecimal: 'decimal',
      valueInteger: 'integer',
      valueBoolean: 'boolean',
      valueDateTime: 'dateTime',
      valueCoding: 'Coding',
    };
    for (const r of fixtureRows()) {
      for (const p of toConceptTakstkode(r).property ?? []) {
        const key = Object.keys(p).find((k) => k.startsWith('value'))!;
        expect([p.code, types.get(p.code)]).toEqual([p.code, valueType[key]]);
      }
    }
  });
});

describe('toCodeSystemsTakstkoder', () => {
  const rows = [
    row({ takstkode: '1ad', fradato: '2020-11-01', tildato: '2021-06-30', honorar: 73, beskrivelse: 'Enkel 2020' }),
    row({ takstkode: '1ak', fradato: '2020-11-01', tildato: '2021-06-30', honorar: 91 }),
    row({ takstkode: '1ad', fradato: '2023-07-01', tildato: '2024-06-30', honorar: 80, beskrivelse: 'Enkel 2023' }),
    row({ takstkode: 'H1', honorar: 152 }),
    row({ takstkode: 'A1', fagomraade: 'FY', fradato: '2019-07-01', honorar: 309 }),
  ];
  const res = toCodeSystemsTakstkoder(rows, {
    fagomraade: 'LE',
    fagomraadeBeskrivelse: 'Lege',
    source: SOURCE,
    content: 'complete',
  });

  test('one version per tariff period, the undated rows in version 0-udatert', () => {
    expect(res.codeSystems.map((cs) => [cs.id, cs.url, cs.version, cs.count, cs.extension?.[0]?.valuePeriod])).toEqual([
      ['takstkoder-le-0-udatert', LE_URL, '0-udatert', 1, undefined],
      ['takstkoder-le-2020-11-01', LE_URL, '2020-11-01', 2, { start: '2020-11-01', end: '2021-06-30' }],
      ['takstkoder-le', LE_URL, '2023-07-01', 1, { start: '2023-07-01', end: '2024-06-30' }],
    ]);
    expect(res.codeSystems.map((cs) => cs.extension?.[0]?.url ?? null)).toEqual([
      null,
      'http://hl7.org/fhir/StructureDefinition/resource-effectivePeriod',
      'http://hl7.org/fhir/StructureDefinition/resource-effectivePeriod',
    ]);
  });

  test('the same code answers per period: 1ad honorar 73 in 2020-21 and 80 in 2023-24', () => {
    const [, v2020, v2023] = res.codeSystems;
    expect(prop(v2020, '1ad', 'honorar')).toEqual([{ code: 'honorar', valueDecimal: 73 }]);
    expect(prop(v2023, '1ad', 'honorar')).toEqual([{ code: 'honorar', valueDecimal: 80 }]);
    expect(v2023.concept?.find((c) => c.code === '1ad')?.display).toBe('Enkel 2023');
  });

  test('rows of other fagområder are left out with a warning', () => {
    expect(res.codeSystems.flatMap((cs) => cs.concept ?? []).map((c) => c.code)).not.toContain('A1');
    expect(res.warnings).toEqual(['takstkoder LE: 1 rows of other fagområder left out']);
  });

  test('metadata: title, dates, publisher and licence, content, the all-codes ValueSet', () => {
    const cs = res.codeSystems[2];
    expect(cs).toMatchObject({
      name: 'TakstkoderLE',
      title: 'Takstkoder LE (Lege), 2023-07-01 – 2024-06-30',
      status: 'active',
      experimental: false,
      date: '2023-07-01',
      publisher: 'no-fhir-facade (data fra Helsedirektoratet/Helfo, Helserefusjon – åpne data)',
      caseSensitive: true,
      content: 'complete',
      valueSet: `${LE_VS}|2023-07-01`,
    });
    expect(cs.copyright).toContain('Norsk lisens for offentlige data (NLOD) 2.0, https://data.norge.no/nlod/no/2.0');
    expect(cs.copyright).toContain('ikke utgitt, kontrollert eller godkjent av Helsedirektoratet eller Helfo');
    expect(cs.property?.map((p) => p.code)).toEqual(TAKSTKODER_PROPERTIES.map((p) => p.code));
    expect(res.codeSystems[0].description).toContain('velges aldri ut fra dato');
  });

  test('each version has its all-codes ValueSet, pinned to that version', () => {
    expect(res.valueSets.map((vs) => [vs.id, vs.url, vs.version, vs.compose?.include])).toEqual([
      ['takstkoder-le-0-udatert', LE_VS, '0-udatert', [{ system: LE_URL, version: '0-udatert' }]],
      ['takstkoder-le-2020-11-01', LE_VS, '2020-11-01', [{ system: LE_URL, version: '2020-11-01' }]],
      ['takstkoder-le', LE_VS, '2023-07-01', [{ system: LE_URL, version: '2023-07-01' }]],
    ]);
    expect(res.valueSets[2].extension).toEqual(res.codeSystems[2].extension);
    expect(res.valueSets[2].copyright).toBe(res.codeSystems[2].copyright);
  });

  test('overlapping rows of one code keep the later one, with a warning', () => {
    const out = toCodeSystemsTakstkoder(
      [
        row({ takstkode: '2ad', fradato: '2023-07-01', tildato: '2024-06-30', honorar: 1 }),
        row({ takstkode: '2ad', fradato: '2024-01-01', tildato: '2024-06-30', honorar: 2 }),
      ],
      { fagomraade: 'LE', source: SOURCE, content: 'complete' },
    );
    expect(out.codeSystems.map((cs) => [cs.version, prop(cs, '2ad', 'honorar')?.[0]?.valueDecimal])).toEqual([
      ['2023-07-01', 1],
      ['2024-01-01', 2],
    ]);
    expect(out.warnings).toEqual([
      'takstkoder LE 2ad: several rows valid in version 2024-01-01; kept the one from 2024-01-01',
    ]);
  });

  test('the source may differ per version', () => {
    const out = toCodeSystemsTakstkoder(rows.slice(0, 4), {
      fagomraade: 'LE',
      source: (vrows) => ({ origin: `${vrows.length} rader`, copyright: 'c' }),
      content: 'fragment',
    });
    expect(out.codeSystems.map((cs) => cs.publisher)).toEqual([
      'no-fhir-facade (data fra 1 rader)',
      'no-fhir-facade (data fra 2 rader)',
      'no-fhir-facade (data fra 1 rader)',
    ]);
    expect(out.codeSystems[0].description).toContain('Utdrag');
  });

  test('ids and urls follow the fagområde in lower case', () => {
    expect(takstkoderSystem('LOGO')).toBe('https://no-fhir-facade.example/fhir/CodeSystem/takstkoder-logo');
  });

  test('every resource is valid FHIR R4', () => {
    for (const r of [...res.codeSystems, ...res.valueSets]) expectValidFhir(r);
  });
});
