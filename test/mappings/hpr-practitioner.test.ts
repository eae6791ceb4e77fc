import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeSystem, Coding, Practitioner } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import {
  HPR_SOURCE_TAG,
  isActive,
  type PractitionerContext,
  SYNTHETIC_HPR_TAG,
  toInstant,
  toPractitioner,
} from '../../mappings/hpr-practitioner.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { validateCodeInCodeSystem } from '../../src/terminology/validate.ts';
import { type HprGodkjenningDto, type HprPersonDto, parseHprPerson } from '../../src/upstream/hpr.ts';
import { SYNTHETIC_PERSONS } from '../fakes/hpr-persons.ts';
import { expectValidFhir, testStore } from '../support/fhir.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/hpr');
const dtoOf = (name: string): HprPersonDto => parseHprPerson(JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')));

const HPR = 'urn:oid:2.16.578.1.12.4.1.4.4';
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const DNR = 'urn:oid:2.16.578.1.12.4.1.4.2';
const KATEGORI = 'urn:oid:2.16.578.1.12.4.1.1.9060';
const GODKJENNINGSTYPE = 'urn:oid:2.16.578.1.12.4.1.1.7704';
const SPESIALITET = 'urn:oid:2.16.578.1.12.4.1.1.7426';
const PROFILE = 'http://hl7.no/fhir/StructureDefinition/no-basis-Practitioner';
const MIDDLENAME = 'http://hl7.no/fhir/StructureDefinition/no-basis-middlename';

const CTX: PractitionerContext = {
  today: '2026-01-15',
  source: 'https://api.offentlig.hpr.nhn.no/v1/personer/900000101',
};

/**
 * The constraints of no-basis-Practitioner 2.0.17 and no-basis-HumanName 2.0.15
 * (shared/fhir/no-basis/package, research/norway-fhir.md §1.2), checked one by one: the R4
 * validator in the tests knows only the core StructureDefinitions.
 */
function expectNoBasisPractitioner(p: Practitioner): void {
  expect(p.meta?.profile).toContain(PROFILE);
  // identifier slices HPR / FNR / DNR: system fixed, system and value 1..1
  const hpr = p.identifier?.filter((i) => i.system === HPR) ?? [];
  expect(hpr).toHaveLength(1);
  expect(hpr[0].value).toMatch(/^\d+$/);
  expect(p.id).toBe(hpr[0].value);
  for (const i of p.identifier ?? []) {
    expect(i.system).toBeTruthy();
    expect(i.value).toBeTruthy();
    // a fødselsnummer or D-nummer is never emitted
    expect([FNR, DNR]).not.toContain(i.system);
  }
  // name: no-basis-HumanName, the middle name only in its extension (max 1, valueString)
  for (const n of p.name ?? []) {
    const middles = n.extension?.filter((e) => e.url === MIDDLENAME) ?? [];
    expect(middles.length).toBeLessThanOrEqual(1);
    for (const m of middles) {
      expect(typeof m.valueString).toBe('string');
      expect(n.given ?? []).not.toContain(m.valueString);
    }
    expect(n.prefix).toBeUndefined();
    expect(n.suffix).toBeUndefined();
  }
  // qualification.code.coding slices 9060 / 7704 / 7426: system fixed, code 1..1
  for (const q of p.qualification ?? []) {
    expect(q.code.coding?.length || q.code.text).toBeTruthy();
    for (const c of q.code.coding ?? []) {
      expect(c.system).toMatch(/^urn:oid:[\d.]+$/);
      expect(c.code).toBeTruthy();
    }
    if (q.period?.start && q.period.end) expect(q.period.end >= q.period.start).toBe(true);
  }
}

function codings(p: Practitioner, system: string): Coding[] {
  return (p.qualification ?? []).flatMap((q) => q.code.coding ?? []).filter((c) => c.system === system);
}

describe('toPractitioner: the full synthetic person', () => {
  const p = toPractitioner(dtoOf('person-full.json'), CTX);

  test('is valid FHIR R4 and meets no-basis-Practitioner', () => {
    expectValidFhir(p);
    expectNoBasisPractitioner(p);
  });

  test('identifier HPR, id, active', () => {
    expect(p.id).toBe('900000101');
    expect(p.identifier).toEqual([{ use: 'official', system: HPR, value: '900000101' }]);
    expect(p.active).toBe(true);
  });

  test('name: given names, the middle name as no-basis does, family', () => {
    expect(p.name).toEqual([
      {
        extension: [{ url: MIDDLENAME, valueString: 'Mellom' }],
        use: 'official',
        text: 'Fiktiv Fullstendig Mellom Eksempelsen-Prøve',
        family: 'Eksempelsen-Prøve',
        given: ['Fiktiv', 'Fullstendig'],
      },
    ]);
  });

  test('birthDate is the date only', () => {
    expect(p.birthDate).toBe('1971-07-01');
  });

  test('one qualification per godkjenning with 9060 and 7704 and its period', () => {
    const godkjenninger = p.qualification?.filter((q) => q.code.coding?.some((c) => c.system === KATEGORI));
    expect(godkjenninger).toEqual([
      {
        code: {
          coding: [
            { system: KATEGORI, code: 'LE', display: 'Lege' },
            { system: GODKJENNINGSTYPE, code: '1', display: 'Autorisasjon' },
          ],
        },
        period: { start: '1998-01-15' },
      },
      {
        code: {
          coding: [
            { system: KATEGORI, code: 'TL', display: 'Tannlege' },
            { system: GODKJENNINGSTYPE, code: '2', display: 'Lisens' },
          ],
        },
        period: { start: '1990-01-01', end: '1995-06-30' },
      },
    ]);
  });

  test('one qualification per spesialistgodkjenning (7426); an ended one without end date is left out', () => {
    const specialities = p.qualification?.filter((q) => q.code.coding?.some((c) => c.system === SPESIALITET));
    expect(specialities).toEqual([
      {
        code: { coding: [{ system: SPESIALITET, code: '1', display: 'Allmennmedisin' }] },
        period: { start: '2005-05-05' },
      },
      {
        code: { coding: [{ system: SPESIALITET, code: '152', display: 'Ortopedisk kirurgi' }] },
        period: { start: '2006-01-01', end: '2010-12-31' },
      },
    ]);
  });

  test('tilleggskompetanse and rekvisisjonsrett with the code system the response names', () => {
    expect(codings(p, 'urn:oid:2.16.578.1.12.4.1.1.7702')).toEqual([
      { system: 'urn:oid:2.16.578.1.12.4.1.1.7702', code: '1', display: 'Syntetisk tilleggskompetanse' },
    ]);
    expect(codings(p, 'urn:oid:2.16.578.1.12.4.1.1.7701')).toEqual([
      { system: 'urn:oid:2.16.578.1.12.4.1.1.7701', code: '1', display: 'Full rekvisisjonsrett' },
    ]);
    // no code system named: the name is kept as text, never a coding without a system
    expect(p.qualification).toContainEqual({ code: { text: 'Uten kodeverk' }, period: { start: '2016-01-01' } });
  });

  test('meta: the licence, profile, lastUpdated from sistOppdatert, source, the HPR tag', () => {
    expect(p.meta).toEqual({
      extension: [
        {
          url: 'https://no-fhir-facade.example/fhir/StructureDefinition/source-licence',
          valueString: 'Norsk lisens for offentlige data (NLOD) 2.0 (https://data.norge.no/nlod/no/2.0)',
        },
      ],
      profile: [PROFILE],
      lastUpdated: '2024-06-15T14:30:05.123+02:00',
      source: CTX.source,
      tag: [HPR_SOURCE_TAG],
    });
    expect(HPR_SOURCE_TAG.display).toMatch(/^Kilde: Helsepersonellregisteret \(HPR\), Helsedirektoratet/);
  });

  test('the narrative names the source, and not this service as its author', () => {
    expect(p.text?.status).toBe('generated');
    expect(p.text?.div).toContain('Kilde: Helsepersonellregisteret (HPR), Helsedirektoratet');
    expect(p.text?.div).toContain('ikke utgitt, kontrollert eller godkjent av Helsedirektoratet');
    expect(p.text?.div).toContain('Fiktiv Fullstendig Mellom Eksempelsen-Prøve, HPR-nummer 900000101');
    expect(JSON.stringify(p)).not.toMatch(/"publisher"|"author"/);
  });

  test('no fødselsnummer anywhere', () => {
    const text = JSON.stringify(p);
    expect(text).not.toContain('99070100000');
    expect(text).not.toContain(FNR);
  });
});

describe('toPractitioner: other shapes', () => {
  test('the minimal answer: identifier and name, not active', () => {
    const p = expectValidFhir<Practitioner>(toPractitioner(dtoOf('person-minimal.json'), CTX));
    expectNoBasisPractitioner(p);
    expect(p.name).toEqual([{ use: 'official', text: 'Liten Tester', family: 'Tester', given: ['Liten'] }]);
    expect(p.active).toBe(false);
    expect(p.qualification).toBeUndefined();
    expect(p.birthDate).toBeUndefined();
    expect(p.meta?.lastUpdated).toBeUndefined();
    expect(JSON.stringify(p)).not.toContain('12345678901');
  });

  test('ASCII keys and null lists', () => {
    const p = expectValidFhir<Practitioner>(toPractitioner(dtoOf('person-tolerant.json'), CTX));
    expectNoBasisPractitioner(p);
    expect(p.birthDate).toBe('1982-02-02');
    expect(p.meta?.lastUpdated).toBe('2023-11-05T08:00:00+01:00');
  });

  test('synthetic data carry HTEST and never the HPR source or licence tags', () => {
    const p = toPractitioner(dtoOf('person-minimal.json'), { ...CTX, synthetic: true });
    expect(p.meta?.tag).toEqual([
      { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HTEST', display: 'test health data' },
      SYNTHETIC_HPR_TAG,
    ]);
    expect(p.text?.div).toContain('Syntetiske testdata');
    expect(p.text?.div).not.toContain('Kilde: Helsepersonellregisteret');
  });

  test('every synthetic person is valid R4 and no-basis', () => {
    for (const raw of SYNTHETIC_PERSONS) {
      const p = toPractitioner(parseHprPerson(raw), { ...CTX, synthetic: true });
      expectValidFhir(p);
      expectNoBasisPractitioner(p);
    }
  });

  test('markup in names is escaped in the narrative', () => {
    const dto = dtoOf('person-minimal.json');
    const p = toPractitioner({ ...dto, person: { ...(dto.person ?? ({} as never)), fornavn: '<b>Ola</b> & co' } }, CTX);
    expect(p.text?.div).toContain('&lt;b&gt;Ola&lt;/b&gt; &amp; co');
    expectValidFhir(p);
  });
});

describe('active', () => {
  const TODAY = '2026-01-15';
  const godkjenning = (over: Partial<HprGodkjenningDto> = {}): HprGodkjenningDto => ({
    helsepersonellkategori: { verdi: 'LE', navn: 'Lege', kodeverk: { id: '9060', navn: null } },
    autorisasjon: { verdi: '1', navn: 'Autorisasjon', kodeverk: { id: '7704', navn: null } },
    periode: { fra: '2000-01-01', til: null },
    godkjentTurnusDato: null,
    rekvisisjonsretter: [],
    spesialistgodkjenninger: [],
    tilleggskompetanser: [],
    vilkår: [],
    avsluttetStatus: null,
    administrativeReaksjoner: [],
    ...over,
  });
  const person = (godkjenninger: HprGodkjenningDto[], over: Partial<HprPersonDto> = {}): HprPersonDto => ({
    hprNummer: '900000001',
    erstattetAvHprNummer: null,
    person: { fornavn: 'A', mellomnavn: null, etternavn: 'B', fødselsdato: null, dødsdato: null },
    godkjenninger,
    administrativeReaksjoner: [],
    sistOppdatert: null,
    gjelderForDato: null,
    ...over,
  });
  const reaction = (verdi: string, fra: string, til: string | null = null) => ({
    type: { verdi, navn: null, kodeverk: null },
    periode: { fra, til },
  });
  const ended = { verdi: '1', navn: 'Avsluttet', kodeverk: null };

  test.each<[string, HprPersonDto, boolean]>([
    ['an open godkjenning', person([godkjenning()]), true],
    ['one ending today', person([godkjenning({ periode: { fra: '2000-01-01', til: TODAY } })]), true],
    ['one that ended', person([godkjenning({ periode: { fra: '2000-01-01', til: '2025-12-31' } })]), false],
    ['one that starts tomorrow', person([godkjenning({ periode: { fra: '2026-01-16', til: null } })]), false],
    ['one marked ended', person([godkjenning({ avsluttetStatus: ended })]), false],
    ['one without a period', person([godkjenning({ periode: null })]), false],
    ['no godkjenning', person([]), false],
    [
      'a suspended godkjenning',
      person([godkjenning({ administrativeReaksjoner: [reaction('1', '2025-01-01')] })]),
      false,
    ],
    [
      'a suspension that ended',
      person([godkjenning({ administrativeReaksjoner: [reaction('1', '2020-01-01', '2020-06-30')] })]),
      true,
    ],
    [
      'a reaction that is not a suspension',
      person([godkjenning({ administrativeReaksjoner: [reaction('3', '2025-01-01')] })]),
      true,
    ],
    [
      'one suspended, another in force',
      person([godkjenning({ administrativeReaksjoner: [reaction('5', '2025-01-01')] }), godkjenning()]),
      true,
    ],
    ['a suspended person', person([godkjenning()], { administrativeReaksjoner: [reaction('8', '2025-01-01')] }), false],
    [
      'a dead person',
      person([godkjenning()], {
        person: { fornavn: 'A', mellomnavn: null, etternavn: 'B', fødselsdato: null, dødsdato: '2025-05-05' },
      }),
      false,
    ],
  ])('%s', (_name, dto, active) => {
    expect(isActive(dto, TODAY)).toBe(active);
  });
});

describe('toInstant (meta.lastUpdated from HPR local time)', () => {
  test.each([
    ['2024-01-15T10:00:00', '2024-01-15T10:00:00+01:00'],
    ['2024-07-15T10:00:00.5', '2024-07-15T10:00:00.5+02:00'],
    ['2024-07-15', '2024-07-15T00:00:00+02:00'],
    ['2024-03-31T03:30:00', '2024-03-31T03:30:00+02:00'],
    ['2024-07-15T10:00:00Z', '2024-07-15T10:00:00Z'],
    ['2024-07-15T10:00:00-05:00', '2024-07-15T10:00:00-05:00'],
  ])('%s → %s', (input, expected) => {
    expect(toInstant(input)).toBe(expected);
  });
});

describe('the 9060 codes a Practitioner carries validate with the terminology engine', () => {
  test('every helsepersonellkategori of the synthetic persons and fixtures', () => {
    const store = testStore();
    // data/terminology holds 9060 under NHN's canonical; its identifier is the urn:oid instances carry
    const cs = store.all('CodeSystem').find((c: CodeSystem) => c.identifier?.some((i) => i.value === KATEGORI)) as
      | CodeSystem
      | undefined;
    expect(cs?.url).toBeTruthy();
    const ctx = new TxContext(store);
    const practitioners = [
      ...SYNTHETIC_PERSONS.map((raw) => toPractitioner(parseHprPerson(raw), CTX)),
      toPractitioner(dtoOf('person-full.json'), CTX),
      toPractitioner(dtoOf('person-tolerant.json'), CTX),
    ];
    const carried = practitioners.flatMap((p) => codings(p, KATEGORI));
    expect(new Set(carried.map((c) => c.code))).toEqual(new Set(['LE', 'SP', 'FT', 'TL', 'PS', 'JO']));
    for (const c of carried) {
      const coding = { system: cs?.url, code: c.code, display: c.display };
      const result = validateCodeInCodeSystem(ctx, { url: cs?.url }, { mode: 'coding', codings: [coding] });
      expect({ code: c.code, result: result.result, issues: result.issues }).toEqual({
        code: c.code,
        result: true,
        issues: [],
      });
      expect(result.display).toBe(c.display);
    }
  });
});
