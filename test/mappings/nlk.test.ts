import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeSystemConcept } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { fromNlkReleaseRow, mergeNlkRows, NLK_PROPERTIES, toCodeSystemNlk } from '../../mappings/nlk.ts';
import { helserefusjonApiSource, NLK_ALIASES, nlkReleaseSource } from '../../mappings/systems.ts';
import { parseNlkReleaseCsv } from '../../src/helserefusjon/nlk-release.ts';
import { indexCodeSystem } from '../../src/terminology/codesystem-index.ts';
import { VALID_FROM_PROPERTY_URI, VALID_TO_PROPERTY_URI } from '../../src/terminology/validity.ts';
import { parseNlkkoder } from '../../src/upstream/helserefusjon.ts';
import { expectValidFhir } from '../support/fhir.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/helserefusjon');
const releaseRows = () =>
  parseNlkReleaseCsv(readFileSync(join(FIXTURES, 'nlk-excerpt.csv'), 'utf8')).map(fromNlkReleaseRow);
const apiRows = () => parseNlkkoder(JSON.parse(readFileSync(join(FIXTURES, 'nlkkoder-po.json'), 'utf8')));

const NLK = 'urn:oid:2.16.578.1.12.4.1.1.7280';
const ctx = { version: '7280.77', source: nlkReleaseSource('7280.77') };
const res = toCodeSystemNlk(releaseRows(), ctx);
const concept = (code: string): CodeSystemConcept => res.codeSystem.concept!.find((c) => c.code === code)!;

describe('toCodeSystemNlk (release file)', () => {
  test('the code system: the OID as url and identifier, the release as version', () => {
    const { concept: _c, property: _p, ...cs } = res.codeSystem;
    expect(cs).toMatchObject({
      resourceType: 'CodeSystem',
      id: 'nlk-7280',
      url: NLK,
      identifier: [{ system: 'urn:ietf:rfc:3986', value: NLK }],
      version: '7280.77',
      name: 'NorskLaboratoriekodeverk',
      title: 'Norsk laboratoriekodeverk (NLK)',
      status: 'active',
      date: '2025-09-23',
      publisher: 'no-fhir-facade (data fra Helsedirektoratet, Norsk laboratoriekodeverk 7280.77)',
      caseSensitive: true,
      content: 'complete',
      count: 7,
      valueSet: 'https://no-fhir-facade.example/fhir/ValueSet/nlk-7280|7280.77',
    });
    expect(cs.copyright).toContain('Kilde: Helsedirektoratet');
    expect(cs.copyright).toContain('NLOD) 2.0');
    expect(cs.copyright).toContain('ikke utgitt, kontrollert eller godkjent av Helsedirektoratet');
    expect(res.codeSystem.property).toEqual(NLK_PROPERTIES);
  });

  test('NPU03230: display P-Kalium, unit mmol/L among the properties', () => {
    expect(concept('NPU03230')).toEqual({
      code: 'NPU03230',
      display: 'P-Kalium',
      definition: 'P—Potassium ion; subst.c. = ? mmol/L',
      property: [
        { code: 'fradato', valueDateTime: '2013-01-25' },
        { code: 'sistEndretDato', valueDateTime: '2021-11-23' },
        { code: 'komponent', valueString: 'Kaliumion' },
        { code: 'system', valueString: 'Plasma' },
        { code: 'egenskapsart', valueString: 'stoffkonsentrasjon' },
        { code: 'enhet', valueString: 'mmol/L' },
        { code: 'npuDefinisjon', valueString: 'P—Potassium ion; subst.c. = ? mmol/L' },
        { code: 'fagomraadeNlk', valueString: 'Medisinsk biokjemi' },
        { code: 'gruppering', valueString: 'Elektrolytter' },
      ],
    });
  });

  test('NOR05001: valid from 2013-01-25 to 2020-02-29, replaced by NPU29069', () => {
    expect(concept('NOR05001')).toEqual({
      extension: [
        {
          url: 'http://hl7.org/fhir/StructureDefinition/codesystem-replacedby',
          valueCoding: { system: NLK, code: 'NPU29069', display: 'P-ACE' },
        },
      ],
      code: 'NOR05001',
      display: 'P-ACE',
      property: [
        { code: 'fradato', valueDateTime: '2013-01-25' },
        { code: 'tildato', valueDateTime: '2020-02-29' },
        { code: 'erstattesAv', valueCode: 'NPU29069' },
        { code: 'fagomraadeNlk', valueString: 'Medisinsk biokjemi' },
      ],
    });
  });

  test('fradato and tildato are declared as the validity (first and last valid day)', () => {
    const defs = res.codeSystem.property!.filter((p) => p.code === 'fradato' || p.code === 'tildato');
    expect(defs.map((p) => [p.code, p.uri])).toEqual([
      ['fradato', VALID_FROM_PROPERTY_URI],
      ['tildato', VALID_TO_PROPERTY_URI],
    ]);
    expect(res.codeSystem.property!.map((p) => p.code)).not.toContain('status');
  });

  test.each<[string, string | undefined, boolean]>([
    ['2013-01-24', undefined, true],
    ['2013-01-25', 'active', false],
    ['2020-02-29', 'active', false],
    ['2020-03-01', 'retired', true],
  ])(
    'the engine reads NOR05001 on %s as status %s, inactive %s (tildato is the last valid day)',
    (day, status, inactive) => {
      const idx = indexCodeSystem(res.codeSystem);
      const c = idx.get('NOR05001')!;
      expect(idx.status(c, day)).toBe(status);
      expect(idx.isInactive(c, day)).toBe(inactive);
    },
  );

  test('specifications, secondary fagområde and verbatim definitions', () => {
    const props = (code: string) =>
      Object.fromEntries(concept(code).property!.map((p) => [p.code, p.valueString ?? p.valueCode]));
    expect(props('NOR35342')).toMatchObject({ komponent: 'Etanol', komponentSpesifikasjon: 'estimert', enhet: 'g/kg' });
    expect(props('NOR15150')).toMatchObject({
      systemSpesifikasjon: 'spesifikasjon',
      egenskapsartSpesifikasjon: 'prosedyreavhengig',
      fagomraadeSekundaert: 'Immunologi og transfusjonsmedisin',
    });
    expect(concept('NOR35348').definition).toBe(
      'Feces—Enterococcus(Linezolid resistant);  taxon(enriched medium; proc.) = ?',
    );
  });

  test('a code listed twice is one concept from the earlier start, without the self-replacement', () => {
    expect(res.codeSystem.concept!.filter((c) => c.code === 'NPU62708')).toHaveLength(1);
    const c = concept('NPU62708');
    expect(c.extension).toBeUndefined();
    expect(c.property!.filter((p) => ['status', 'fradato', 'tildato', 'erstattesAv'].includes(p.code!))).toEqual([
      { code: 'fradato', valueDateTime: '2025-03-23' },
    ]);
    expect(res.warnings).toEqual(['NLK NPU62708: 2 rows merged into one concept, valid from 2025-03-23T00:00:00']);
  });

  test('the all-codes ValueSet', () => {
    expect(res.valueSet).toMatchObject({
      id: 'nlk-7280',
      url: 'https://no-fhir-facade.example/fhir/ValueSet/nlk-7280',
      version: '7280.77',
      compose: { include: [{ system: NLK, version: '7280.77' }] },
    });
  });

  test('erstattesAv as a ConceptMap NLK → NLK', () => {
    const cm = res.conceptMap;
    expect(cm).toMatchObject({
      id: 'nlk-7280-erstattes-av',
      url: 'https://no-fhir-facade.example/fhir/ConceptMap/nlk-7280-erstattes-av',
      version: '7280.77',
      sourceCanonical: 'https://no-fhir-facade.example/fhir/ValueSet/nlk-7280',
      targetCanonical: 'https://no-fhir-facade.example/fhir/ValueSet/nlk-7280',
    });
    expect(cm.group).toEqual([
      {
        source: NLK,
        sourceVersion: '7280.77',
        target: NLK,
        targetVersion: '7280.77',
        element: [
          {
            code: 'NOR05001',
            display: 'P-ACE',
            target: [
              {
                code: 'NPU29069',
                display: 'P-ACE',
                equivalence: 'relatedto',
                comment: 'Erstattes av (kildekoden gyldig til og med 2020-02-29)',
              },
            ],
          },
        ],
      },
    ]);
  });

  test('a replacement that is not in the release gives a warning', () => {
    const rows = releaseRows().filter((r) => r.nlkKode !== 'NPU29069');
    const out = toCodeSystemNlk(rows, ctx);
    expect(out.warnings).toContain('NLK NOR05001: erstattesAv NPU29069 is not an NLK code in this version');
    expect(out.conceptMap.group![0].element[0].target![0]).not.toHaveProperty('display');
  });

  test('every resource is valid FHIR R4', () => {
    expectValidFhir(res.codeSystem);
    expectValidFhir(res.valueSet);
    expectValidFhir(res.conceptMap);
  });
});

describe('toCodeSystemNlk (live API rows)', () => {
  const rows = apiRows();
  const live = toCodeSystemNlk(rows, {
    version: '2026-11-22',
    source: helserefusjonApiSource('2026-11-22'),
    refusjon: { PO: rows, LR: [{ ...rows[0], refusjonskategori: '7' }] },
  });
  const c = (code: string) => live.codeSystem.concept!.find((x) => x.code === code)!;

  test('refusjonskategori per samhandlertype, as Codings in that samhandlertype’s system', () => {
    expect(c('NPU03230').property!.filter((p) => p.code === 'refusjonskategori')).toEqual([
      {
        code: 'refusjonskategori',
        valueCoding: { system: 'https://no-fhir-facade.example/fhir/CodeSystem/refusjonskategorier-po', code: '1' },
      },
      {
        code: 'refusjonskategori',
        valueCoding: { system: 'https://no-fhir-facade.example/fhir/CodeSystem/refusjonskategorier-lr', code: '7' },
      },
    ]);
    expect(c('NPU29069').property!.filter((p) => p.code === 'refusjonskategori')).toEqual([
      {
        code: 'refusjonskategori',
        valueCoding: { system: 'https://no-fhir-facade.example/fhir/CodeSystem/refusjonskategorier-po', code: '3' },
      },
    ]);
    expect(c('NOR05001').property!.some((p) => p.code === 'refusjonskategori')).toBe(false);
  });

  test('API-only fields become properties too', () => {
    expect(
      c('NPU03230').property!.filter((p) => ['nlkKodeid', 'npuSpesialitet', 'stjernekode'].includes(p.code!)),
    ).toEqual([
      { code: 'npuSpesialitet', valueString: 'Klinisk biokjemi' },
      { code: 'nlkKodeid', valueString: '501' },
      { code: 'stjernekode', valueString: 'false' },
    ]);
    expect(live.codeSystem.publisher).toBe(
      'no-fhir-facade (data fra Helsedirektoratet/Helfo, Helserefusjon – åpne data)',
    );
  });

  test('valid FHIR R4', () => {
    expectValidFhir(live.codeSystem);
    expectValidFhir(live.conceptMap);
  });

  test('a release without replacements: the ConceptMap has no group (never an empty one), and is valid', () => {
    const none = toCodeSystemNlk(
      rows.map((r) => ({ ...r, erstattesAv: null })),
      { version: '2026-11-22', source: helserefusjonApiSource('2026-11-22') },
    );
    expect(none.conceptMap).not.toHaveProperty('group');
    expectValidFhir(none.conceptMap);
  });
});

describe('mergeNlkRows', () => {
  const base = releaseRows()[0];
  test('rows that do not touch keep the open-ended one only', () => {
    const rows = [
      { ...base, nlkKode: 'X', fradato: '2010-01-01', tildato: '2011-12-31' },
      { ...base, nlkKode: 'X', fradato: '2015-01-01', tildato: null },
    ];
    expect(mergeNlkRows(rows).rows.map((r) => [r.fradato, r.tildato])).toEqual([['2015-01-01', null]]);
  });
  test('contiguous rows are joined', () => {
    const rows = [
      { ...base, nlkKode: 'X', fradato: '2010-01-01', tildato: '2014-12-31' },
      { ...base, nlkKode: 'X', fradato: '2015-01-01', tildato: '2020-12-31' },
    ];
    expect(mergeNlkRows(rows).rows.map((r) => [r.fradato, r.tildato])).toEqual([['2010-01-01', '2020-12-31']]);
  });
});

test('the NLK aliases are the helsedir.no, ehelse.no and helsenorge.no canonicals', () => {
  expect(NLK_ALIASES).toEqual([
    'http://helsedir.no/fhir/CodeSystem/no-kodeverk-7280-nlk',
    'http://ehelse.no/fhir/CodeSystem/no-kodeverk-7280-nlk',
    'http://helsenorge.no/fhir/CodeSystem/no-kodeverk-7280-nlk.codesystem',
  ]);
});
