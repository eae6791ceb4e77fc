import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { toCodeSystemFagomraader } from '../../mappings/fagomraader.ts';
import {
  praksistyperOf,
  toCodeSystemPraksistyper,
  toValueSetsPraksistyperPerFagomraade,
} from '../../mappings/praksistyper.ts';
import { helserefusjonApiSource, helserefusjonDocumentationSource } from '../../mappings/systems.ts';
import { parseFagomraader } from '../../src/upstream/helserefusjon.ts';
import { expectValidFhir } from '../support/fhir.ts';

const BASE = 'https://no-fhir-facade.example/fhir';
const embedded = parseFagomraader(
  JSON.parse(readFileSync(join(import.meta.dirname, '../../data/helserefusjon/kodeverk/fagomraader.json'), 'utf8')),
);
const ctx = {
  version: '2025-06-04',
  date: '2025-06-04',
  source: helserefusjonDocumentationSource('2025-06-04'),
  content: 'complete' as const,
};

describe('toCodeSystemFagomraader', () => {
  const { codeSystem, valueSet } = toCodeSystemFagomraader(embedded, ctx);

  test('all 23 fagområder of the documentation, texts verbatim', () => {
    expect(codeSystem.concept?.map((c) => `${c.code} ${c.display}`)).toEqual([
      'AP Audiopedagog',
      'APO Apotek',
      'BE Behandlingsreiser i utlandet',
      'BI Bidragsreiser',
      'FBV Fritt behandlingsvalg',
      'FY Fysioterapi',
      'HS Helsestasjon',
      'JO Jordmor',
      'KI Kiropraktor',
      'KU Kurssentra',
      'LE Lege',
      'LOGO Logoped',
      'LR Privat lab/radiologi',
      'MU Multidose',
      'OP Optiker',
      'OR Ortoptist',
      'PO Poliklinikk',
      'PR Pasientreiser',
      'PS Psykolog',
      'PT Primærhelseteam',
      'RE Rehabiliteringsinstitusjon',
      'TH Tannhelse',
      'TP Tannpleier',
    ]);
  });

  test('metadata and the all-codes ValueSet', () => {
    expect(codeSystem).toMatchObject({
      id: 'fagomraader',
      url: `${BASE}/CodeSystem/fagomraader`,
      version: '2025-06-04',
      content: 'complete',
      count: 23,
      valueSet: `${BASE}/ValueSet/fagomraader|2025-06-04`,
      publisher: 'no-fhir-facade (data fra Helsedirektoratet/Helfo, dokumentasjonen av Helserefusjon – åpne data)',
    });
    expect(codeSystem.copyright).toContain('NLOD) 2.0');
    expect(valueSet.compose?.include).toEqual([{ system: `${BASE}/CodeSystem/fagomraader`, version: '2025-06-04' }]);
    expectValidFhir(codeSystem);
    expectValidFhir(valueSet);
  });
});

describe('toCodeSystemPraksistyper', () => {
  const { codeSystem, valueSet } = toCodeSystemPraksistyper(embedded, { ...ctx, content: 'fragment' });

  test('56 praksistyper, each with its fagområde as a Coding property', () => {
    expect(codeSystem.count).toBe(56);
    expect(praksistyperOf(embedded)).toHaveLength(56);
    expect(codeSystem.concept?.find((c) => c.code === 'FALE')).toEqual({
      code: 'FALE',
      display: 'Fastlege',
      property: [
        { code: 'fagomraade', valueCoding: { system: `${BASE}/CodeSystem/fagomraader`, code: 'LE', display: 'Lege' } },
      ],
    });
    expect(codeSystem.property).toEqual([
      { code: 'fagomraade', type: 'Coding', description: 'Fagområdet praksistypen hører til' },
    ]);
    expect(codeSystem.content).toBe('fragment');
  });

  test.each<[string, string]>([
    ['FYNO', 'FY'],
    ['LEVA', 'LE'],
    ['URRE', 'LE'],
    ['SYKE', 'PO'],
    ['TAPO', 'TP'],
    ['PSUT', 'PS'],
  ])('%s belongs to %s', (code, fagomraade) => {
    const c = codeSystem.concept?.find((x) => x.code === code);
    expect(c?.property?.[0]?.valueCoding?.code).toBe(fagomraade);
  });

  test('valid FHIR R4', () => {
    expectValidFhir(codeSystem);
    expectValidFhir(valueSet);
  });
});

describe('toValueSetsPraksistyperPerFagomraade', () => {
  const valueSets = toValueSetsPraksistyperPerFagomraade(embedded, ctx);

  test('one ValueSet per fagområde, a compose filter on the fagomraade property', () => {
    expect(valueSets).toHaveLength(23);
    const le = valueSets.find((v) => v.id === 'praksistyper-le');
    expect(le).toMatchObject({
      url: `${BASE}/ValueSet/praksistyper-le`,
      version: '2025-06-04',
      name: 'HelserefusjonPraksistyperLE',
      title: 'Praksistyper i fagområde LE (Lege)',
      compose: {
        include: [
          {
            system: `${BASE}/CodeSystem/praksistyper`,
            version: '2025-06-04',
            filter: [{ property: 'fagomraade', op: '=', value: 'LE' }],
          },
        ],
      },
    });
  });

  test('the LE filter selects FALE and LEVA and not FYNO', () => {
    const { codeSystem } = toCodeSystemPraksistyper(embedded, ctx);
    const le = valueSets.find((v) => v.id === 'praksistyper-le')!;
    const value = le.compose!.include[0].filter![0].value;
    const members = codeSystem
      .concept!.filter((c) => c.property?.some((p) => p.code === 'fagomraade' && p.valueCoding?.code === value))
      .map((c) => c.code);
    expect(members).toContain('FALE');
    expect(members).toContain('LEVA');
    expect(members).not.toContain('FYNO');
    expect(members).toHaveLength(23);
  });

  test('valid FHIR R4', () => {
    for (const vs of valueSets) expectValidFhir(vs);
  });
});

test('live rows map the same way, with the live source named', () => {
  const live = parseFagomraader(
    JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/helserefusjon/fagomraader.json'), 'utf8')),
  );
  const liveCtx = { version: '2026-11-22', source: helserefusjonApiSource('2026-11-22'), content: 'complete' as const };
  const { codeSystem } = toCodeSystemPraksistyper(live, liveCtx);
  expect(codeSystem.concept?.map((c) => [c.code, c.property?.[0]?.valueCoding?.code])).toEqual([
    ['FALE', 'LE'],
    ['LEVA', 'LE'],
    ['FYNO', 'FY'],
  ]);
  expect(codeSystem.copyright).toContain('hentet 2026-11-22');
  expectValidFhir(codeSystem);
});
