import type { CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { expandValueSet } from '../../src/terminology/expand.ts';
import { lookupCode } from '../../src/terminology/lookup.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { resolveValueSet, validateCodeInCodeSystem, validateCodeInValueSet } from '../../src/terminology/validate.ts';
import {
  dayOf,
  EXT_RESOURCE_EFFECTIVE_PERIOD,
  parseDateParameter,
  VALID_FROM_PROPERTY_URI,
  VALID_TO_PROPERTY_URI,
} from '../../src/terminology/validity.ts';

// CodeSystem versions that state their effective period: the `date` parameter picks the version.

const TARIFF = 'http://example.org/fhir/CodeSystem/tariff';
const TARIFF_VS = 'http://example.org/fhir/ValueSet/tariff';
const PLAIN = 'http://example.org/fhir/CodeSystem/plain';
const R5_PERIOD = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-CodeSystem.effectivePeriod';

function price(code: string, amount: number, from: string, to: string): CodeSystemConcept {
  return {
    code,
    display: `Takst ${code}`,
    property: [
      { code: 'from', valueDateTime: from },
      { code: 'to', valueDateTime: to },
      { code: 'price', valueDecimal: amount },
    ],
  };
}

function tariff(
  version: string,
  periodExt: string | undefined,
  start: string,
  end: string,
  concepts: CodeSystemConcept[],
) {
  return {
    resourceType: 'CodeSystem',
    ...(periodExt ? { extension: [{ url: periodExt, valuePeriod: { start, end } }] } : {}),
    url: TARIFF,
    version,
    status: 'active',
    content: 'complete',
    property: [
      { code: 'from', uri: VALID_FROM_PROPERTY_URI, type: 'dateTime' },
      { code: 'to', uri: VALID_TO_PROPERTY_URI, type: 'dateTime' },
      { code: 'price', type: 'decimal' },
    ],
    concept: concepts,
  } satisfies CodeSystem;
}

const V2020 = tariff('2020-07-01', EXT_RESOURCE_EFFECTIVE_PERIOD, '2020-07-01', '2021-06-30', [
  price('A', 10, '2020-07-01', '2021-06-30'),
]);
// the R5 element in its R4 cross-version extension form counts too
const V2021 = tariff('2021-07-01', R5_PERIOD, '2021-07-01', '2022-06-30', [
  price('A', 12, '2021-07-01', '2022-06-30'),
  price('B', 5, '2021-07-01', '2022-06-30'),
]);
// a version without a period: never picked by date, and older than the dated ones
const UNDATED: CodeSystem = { ...tariff('0-undated', undefined, '', '', [{ code: 'A' }, { code: 'Z' }]) };

const PLAIN_1: CodeSystem = {
  resourceType: 'CodeSystem',
  url: PLAIN,
  version: '1.0.0',
  status: 'active',
  content: 'complete',
  concept: [{ code: 'p' }],
};
const PLAIN_2: CodeSystem = { ...PLAIN_1, version: '2.0.0', concept: [{ code: 'p' }, { code: 'q' }] };

/** A versionless value set of the tariff, and its dated all-codes value sets. */
const ANY_TARIFF: ValueSet = {
  resourceType: 'ValueSet',
  url: 'http://example.org/fhir/ValueSet/any-tariff',
  version: '1',
  status: 'active',
  compose: { include: [{ system: TARIFF }] },
};
function allCodes(cs: CodeSystem, start: string, end: string): ValueSet {
  return {
    resourceType: 'ValueSet',
    extension: [{ url: EXT_RESOURCE_EFFECTIVE_PERIOD, valuePeriod: { start, end } }],
    url: TARIFF_VS,
    version: cs.version,
    status: 'active',
    compose: { include: [{ system: TARIFF, version: cs.version }] },
  };
}

function store(): TerminologyStore {
  const s = new TerminologyStore();
  for (const r of [V2020, V2021, UNDATED, PLAIN_1, PLAIN_2, ANY_TARIFF]) s.add(r);
  s.add(allCodes(V2020, '2020-07-01', '2021-06-30'));
  s.add(allCodes(V2021, '2021-07-01', '2022-06-30'));
  return s;
}

const at = (date?: string) => new TxContext(store(), [], date === undefined ? {} : { date });

function errorOf(fn: () => unknown): OperationOutcomeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err;
    throw err;
  }
  throw new Error('expected an OperationOutcomeError');
}

const NO_VERSION_2019 =
  `No version of the CodeSystem '${TARIFF}' is in effect on 2019-01-01; its versions are in effect ` +
  '2020-07-01 through 2021-06-30 (version 2020-07-01) or 2021-07-01 through 2022-06-30 (version 2021-07-01)';

describe('the date parameter', () => {
  test.each<[string, string | undefined]>([
    ['2021-03-01', '2021-03-01'],
    ['2021-03-01T23:30:00+01:00', '2021-03-01'],
    ['2021-03-01T22:30:00Z', '2021-03-01'],
    ['2021-03', undefined],
    ['2021', undefined],
    ['01.03.2021', undefined],
    ['2021-03-01T25', undefined],
  ])('%s is the day %s', (value, day) => {
    expect(parseDateParameter(value)).toBe(day);
  });

  test.each<[string, 'start' | 'end', string]>([
    ['2020', 'start', '2020-01-01'],
    ['2020', 'end', '2020-12-31'],
    ['2024-02', 'end', '2024-02-29'],
    ['2023-02', 'end', '2023-02-28'],
    ['2020-02-29T23:59:00+01:00', 'end', '2020-02-29'],
  ])('a period bound %s as %s is %s', (value, bound, day) => {
    expect(dayOf(value, bound)).toBe(day);
  });
});

describe('TxContext: the version in effect on a date', () => {
  test.each<[string, string]>([
    ['2020-07-01', '2020-07-01'],
    ['2021-06-30', '2020-07-01'],
    ['2021-07-01', '2021-07-01'],
    ['2022-06-30', '2021-07-01'],
  ])('on %s the tariff is version %s', (date, version) => {
    expect(at(date).codeSystem(TARIFF)?.version).toBe(version);
    expect(at().resolveAt('CodeSystem', TARIFF, undefined, date)?.version).toBe(version);
  });

  test('without a date: the newest version, the undated one never', () => {
    expect(at().codeSystem(TARIFF)?.version).toBe('2021-07-01');
  });

  test('a date no period covers: no version, and missAtDate lists the periods oldest first', () => {
    const ctx = at('2019-01-01');
    expect(ctx.codeSystem(TARIFF)).toBeUndefined();
    const miss = ctx.missAtDate('CodeSystem', TARIFF);
    expect(miss?.date).toBe('2019-01-01');
    expect(miss?.versions.map((v) => [v.version, v.period])).toEqual([
      ['2020-07-01', { start: '2020-07-01', end: '2021-06-30' }],
      ['2021-07-01', { start: '2021-07-01', end: '2022-06-30' }],
    ]);
    expect(ctx.missAtDate('CodeSystem', `${TARIFF}|2020-07-01`)).toBeUndefined();
    expect(at('2021-01-01').missAtDate('CodeSystem', TARIFF)).toBeUndefined();
    expect(at().missAtDate('CodeSystem', TARIFF)).toBeUndefined();
  });

  test('an explicit version wins over the date', () => {
    expect(at('2019-01-01').codeSystem(TARIFF, '2020-07-01')?.version).toBe('2020-07-01');
    expect(at('2021-12-01').codeSystem(`${TARIFF}|0-undated`)?.version).toBe('0-undated');
  });

  test('versions without periods are unaffected by the date', () => {
    expect(at('1990-01-01').codeSystem(PLAIN)?.version).toBe('2.0.0');
    expect(at('1990-01-01').missAtDate('CodeSystem', PLAIN)).toBeUndefined();
  });

  test('a tx-resource version with a period takes part', () => {
    const v2022 = tariff('2022-07-01', EXT_RESOURCE_EFFECTIVE_PERIOD, '2022-07-01', '2023-06-30', [
      price('A', 14, '2022-07-01', '2023-06-30'),
    ]);
    const ctx = new TxContext(store(), [v2022], { date: '2023-01-01' });
    expect(ctx.codeSystem(TARIFF)).toBe(v2022);
    expect(ctx.atDate('2021-01-01').codeSystem(TARIFF)?.version).toBe('2020-07-01');
    expect(ctx.atDate(undefined).date).toBeUndefined();
  });

  test('value set versions are chosen by their periods too', () => {
    expect(at('2021-01-01').valueSet(TARIFF_VS)?.version).toBe('2020-07-01');
    expect(at('2022-01-01').valueSet(TARIFF_VS)?.version).toBe('2021-07-01');
    expect(at('2019-01-01').valueSet(TARIFF_VS)).toBeUndefined();
  });
});

const priceOf = (p: { code: string; value: unknown }[]) => p.find((x) => x.code === 'price')?.value;

describe('$lookup with a date', () => {
  test.each<[string, number]>([
    ['2021-01-15', 10],
    ['2021-09-01', 12],
  ])('on %s A costs %d', (date, amount) => {
    const r = lookupCode(at(date), { system: TARIFF, code: 'A' });
    expect(priceOf(r.properties)).toBe(amount);
    expect(r.properties.find((p) => p.code === 'inactive')?.value).toBe(false);
  });

  test('without a date the newest period answers', () => {
    expect(priceOf(lookupCode(at(), { system: TARIFF, code: 'A' }).properties)).toBe(12);
  });

  test('a version picks its period, whatever the date', () => {
    const r = lookupCode(at('2021-09-01'), { system: TARIFF, version: '2020-07-01', code: 'A' });
    expect(r.version).toBe('2020-07-01');
    expect(priceOf(r.properties)).toBe(10);
    // the row ended before the date asked about
    expect(r.properties.find((p) => p.code === 'status')?.value).toBe('retired');
    expect(r.properties.find((p) => p.code === 'inactive')?.value).toBe(true);
  });

  test('a date no version covers is a 404 naming the periods', () => {
    const err = errorOf(() => lookupCode(at('2019-01-01'), { system: TARIFF, code: 'A' }));
    expect(err.status).toBe(404);
    expect(err.outcome.issue?.[0]).toMatchObject({ code: 'not-found', expression: ['date'] });
    expect(err.outcome.issue?.[0]?.details?.text).toBe(NO_VERSION_2019);
  });

  test('a code only in another period is unknown in the version of the date', () => {
    const err = errorOf(() => lookupCode(at('2021-01-15'), { system: TARIFF, code: 'B' }));
    expect(err.outcome.issue?.[0]?.details?.text).toBe(
      `Unknown code 'B' in the CodeSystem '${TARIFF}' version '2020-07-01'`,
    );
  });
});

describe('$validate-code with a date', () => {
  const code = (c: string) => ({ mode: 'code' as const, codings: [{ system: TARIFF, code: c }] });

  test('CodeSystem: valid in the version of the date', () => {
    const r = validateCodeInCodeSystem(at('2021-01-15'), { url: TARIFF }, code('A'));
    expect(r).toMatchObject({ result: true, version: '2020-07-01' });
    expect(r.issues).toEqual([]);
  });

  test('CodeSystem: a date no version covers is result false with the periods', () => {
    const r = validateCodeInCodeSystem(at('2019-01-01'), { url: TARIFF }, code('A'));
    expect(r.result).toBe(false);
    expect(r.message).toBe(NO_VERSION_2019);
    expect(r.unknownSystems).toEqual([]);
    expect(r.causedByUnknownSystems).toEqual([]);
  });

  test('CodeSystem: an explicit version outside the date gives the concept’s validity', () => {
    const r = validateCodeInCodeSystem(at('2021-09-01'), { url: TARIFF, version: '2020-07-01' }, code('A'));
    expect(r.result).toBe(false);
    expect(r.message).toContain("The concept 'A' is valid from 2020-07-01 through 2021-06-30, not on 2021-09-01");
  });

  test('ValueSet with a versionless include: the version of the date', () => {
    const ctx = at('2021-09-01');
    const r = validateCodeInValueSet(ctx, resolveValueSet(ctx, ANY_TARIFF.url as string, undefined), code('B'));
    expect(r).toMatchObject({ result: true, version: '2021-07-01' });
    const earlier = at('2021-01-15');
    const no = validateCodeInValueSet(
      earlier,
      resolveValueSet(earlier, ANY_TARIFF.url as string, undefined),
      code('B'),
    );
    expect(no.result).toBe(false);
  });

  test('ValueSet with a versionless include: no version on the date is result false with the periods', () => {
    const ctx = at('2019-01-01');
    const r = validateCodeInValueSet(ctx, resolveValueSet(ctx, ANY_TARIFF.url as string, undefined), code('A'));
    expect(r.result).toBe(false);
    expect(r.message).toBe(NO_VERSION_2019);
    expect(r.unknownSystems).toEqual([]);
  });

  test('a dated value set that is not in effect on the date is an error naming its periods', () => {
    const err = errorOf(() => resolveValueSet(at('2019-01-01'), TARIFF_VS, undefined));
    expect(err.status).toBe(422);
    expect(err.outcome.issue?.[0]?.details?.text).toMatch(
      /^No version of the ValueSet 'http:\/\/example.org\/fhir\/ValueSet\/tariff' is in effect on 2019-01-01/,
    );
  });
});

describe('$expand with a date', () => {
  const parameter = (vs: ValueSet, name: string) =>
    (vs.expansion?.parameter ?? []).filter((p) => p.name === name).map((p) => p.valueUri ?? p.valueDateTime);

  test('the version of the date, and the date echoed', () => {
    const vs = expandValueSet(at('2021-09-01'), ANY_TARIFF);
    expect(vs.expansion?.contains?.map((c) => c.code)).toEqual(['A', 'B']);
    expect(parameter(vs, 'used-codesystem')).toEqual([`${TARIFF}|2021-07-01`]);
    expect(parameter(vs, 'date')).toEqual(['2021-09-01']);
    expect(parameter(expandValueSet(at('2021-01-15'), ANY_TARIFF), 'used-codesystem')).toEqual([
      `${TARIFF}|2020-07-01`,
    ]);
  });

  test('no version in effect on the date is an error', () => {
    const err = errorOf(() => expandValueSet(at('2019-01-01'), ANY_TARIFF));
    expect(err.status).toBe(422);
    expect(err.outcome.issue?.[0]?.details?.text).toBe(NO_VERSION_2019);
  });

  test('without a date nothing is echoed and the newest version is used', () => {
    const vs = expandValueSet(at(), ANY_TARIFF);
    expect(parameter(vs, 'date')).toEqual([]);
    expect(parameter(vs, 'used-codesystem')).toEqual([`${TARIFF}|2021-07-01`]);
  });

  test('results cached for one day are not reused for another', () => {
    const s = store();
    const first = expandValueSet(new TxContext(s, [], { date: '2021-09-01' }), ANY_TARIFF);
    const second = expandValueSet(new TxContext(s, [], { date: '2021-01-15' }), ANY_TARIFF);
    expect(first.expansion?.contains?.length).toBe(2);
    expect(second.expansion?.contains?.length).toBe(1);
  });
});
