import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { indexCodeSystem } from '../../src/terminology/codesystem-index.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { expandValueSet } from '../../src/terminology/expand.ts';
import { lookupCode } from '../../src/terminology/lookup.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { validateCodeInCodeSystem, validateCodeInValueSet } from '../../src/terminology/validate.ts';
import {
  EXT_RESOURCE_EFFECTIVE_PERIOD,
  today,
  VALID_FROM_PROPERTY_URI,
  VALID_TO_PROPERTY_URI,
} from '../../src/terminology/validity.ts';

// Concepts whose properties state their validity: outside it they are inactive (retired once
// ended), and with a `date` they are not valid codes on that day.

const LAB = 'http://example.org/fhir/CodeSystem/lab';

const lab: CodeSystem = {
  resourceType: 'CodeSystem',
  url: LAB,
  version: '1',
  status: 'active',
  content: 'complete',
  property: [
    { code: 'gyldigFra', uri: VALID_FROM_PROPERTY_URI, type: 'dateTime' },
    { code: 'gyldigTil', uri: VALID_TO_PROPERTY_URI, type: 'dateTime' },
    // a date property without a validity URI says nothing about validity
    { code: 'endret', type: 'dateTime' },
    { code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status', type: 'code' },
  ],
  concept: [
    {
      code: 'OLD',
      display: 'Old',
      property: [
        { code: 'gyldigFra', valueDateTime: '2010-01-01' },
        { code: 'gyldigTil', valueDateTime: '2015-12-31' },
      ],
    },
    { code: 'NEW', display: 'New', property: [{ code: 'gyldigFra', valueDateTime: '2016-01-01' }] },
    { code: 'FUTURE', display: 'Future', property: [{ code: 'gyldigFra', valueDateTime: '2999-01-01' }] },
    { code: 'PLAIN', display: 'Plain', property: [{ code: 'endret', valueDateTime: '1990-01-01' }] },
    {
      code: 'DEPR',
      display: 'Deprecated',
      property: [
        { code: 'gyldigFra', valueDateTime: '2010-01-01' },
        { code: 'status', valueCode: 'deprecated' },
      ],
    },
    {
      // retired by its publisher although its validity has not ended: the status stands
      code: 'WITHDRAWN',
      display: 'Withdrawn',
      property: [
        { code: 'gyldigFra', valueDateTime: '2010-01-01' },
        { code: 'status', valueCode: 'retired' },
      ],
    },
  ],
};

const ALL_LAB: ValueSet = {
  resourceType: 'ValueSet',
  url: 'http://example.org/fhir/ValueSet/lab',
  status: 'active',
  compose: { include: [{ system: LAB }] },
};
const RETIRED_LAB: ValueSet = {
  resourceType: 'ValueSet',
  url: 'http://example.org/fhir/ValueSet/lab-retired',
  status: 'active',
  compose: { include: [{ system: LAB, filter: [{ property: 'status', op: '=', value: 'retired' }] }] },
};

function context(date?: string): TxContext {
  const store = new TerminologyStore();
  store.add(lab);
  return new TxContext(store, [], date === undefined ? {} : { date });
}

const idx = indexCodeSystem(lab);
const c = (code: string) => idx.get(code)!;

describe('CodeSystemIndex: a concept on a day', () => {
  test.each<[string, string, string | undefined, boolean]>([
    ['OLD', '2009-12-31', undefined, true],
    ['OLD', '2010-01-01', 'active', false],
    ['OLD', '2015-12-31', 'active', false],
    ['OLD', '2016-01-01', 'retired', true],
    ['NEW', '2015-12-31', undefined, true],
    ['NEW', '2016-01-01', 'active', false],
    ['PLAIN', '1900-01-01', undefined, false],
    ['DEPR', '2020-01-01', 'deprecated', false],
    ['DEPR', '2009-01-01', 'deprecated', true],
    ['WITHDRAWN', '2020-01-01', 'retired', true],
  ])('%s on %s: status %s, inactive %s', (code, day, status, inactive) => {
    expect(idx.status(c(code), day)).toBe(status);
    expect(idx.isInactive(c(code), day)).toBe(inactive);
  });

  test('the validity comes from the properties with the validity URIs only', () => {
    expect(c('OLD').validity).toEqual({ start: '2010-01-01', end: '2015-12-31' });
    expect(c('NEW').validity).toEqual({ start: '2016-01-01' });
    expect(c('PLAIN').validity).toBeUndefined();
  });

  test('concepts valid over the same days share one span; thousands of distinct spans all stay right', () => {
    const dated = (n: number, from: string, to: string) => ({
      code: `C${n}`,
      property: [
        { code: 'gyldigFra', valueDateTime: from },
        { code: 'gyldigTil', valueDateTime: to },
      ],
    });
    // two concepts alike, then 6,000 each with its own end date (more spans than an index shares)
    const day = (n: number) => new Date(Date.UTC(2000, 0, 1) + n * 86_400_000).toISOString().slice(0, 10);
    const many = indexCodeSystem({
      ...lab,
      concept: [
        dated(6000, '2001-02-03', '2004-05-06'),
        dated(6001, '2001-02-03', '2004-05-06'),
        ...Array.from({ length: 6000 }, (_, n) => dated(n, '1999-01-01', day(n))),
      ],
    });
    expect(many.get('C6000')?.validity).toBe(many.get('C6001')?.validity);
    expect(many.get('C6001')?.validity).toEqual({ start: '2001-02-03', end: '2004-05-06' });
    for (const n of [0, 4095, 4096, 5999]) {
      expect(many.get(`C${n}`)?.validity).toEqual({ start: '1999-01-01', end: day(n) });
      expect(many.isInactive(many.get(`C${n}`)!, day(n))).toBe(false);
      expect(many.isInactive(many.get(`C${n}`)!, day(n + 1))).toBe(true);
    }
  });

  test('without a day: today', () => {
    expect(idx.isInactive(c('OLD'))).toBe(true);
    expect(idx.status(c('OLD'))).toBe('retired');
    expect(idx.isInactive(c('NEW'))).toBe(false);
    expect(idx.isInactive(c('FUTURE'))).toBe(true);
    expect(idx.status(c('FUTURE'))).toBeUndefined();
  });

  test('without a day, a dated version answers as in its own period', () => {
    const dated = indexCodeSystem({
      ...lab,
      version: '2000',
      extension: [{ url: EXT_RESOURCE_EFFECTIVE_PERIOD, valuePeriod: { start: '2010-01-01', end: '2012-12-31' } }],
    });
    // today lies after the period, so the version is read as on its last day
    expect(dated.defaultDay()).toBe('2012-12-31');
    expect(dated.isInactive(dated.get('OLD')!)).toBe(false);
    expect(dated.isInactive(dated.get('OLD')!, '2016-01-01')).toBe(true);
  });

  test('today is the date in the server’s time zone, worked out again after midnight', () => {
    const noon = new Date(2030, 5, 15, 12).getTime();
    expect(today(noon)).toBe('2030-06-15');
    expect(today(new Date(2030, 5, 15, 23, 59, 59).getTime())).toBe('2030-06-15');
    expect(today(new Date(2030, 5, 16, 0, 0, 1).getTime())).toBe('2030-06-16');
    expect(today(noon)).toBe('2030-06-15');
  });
});

const prop = (r: { properties: { code: string; value: unknown }[] }, code: string) =>
  r.properties.filter((p) => p.code === code).map((p) => p.value);

describe('$lookup: the concept as it was on the date', () => {
  test.each<[string | undefined, string[], boolean]>([
    ['2012-06-01', ['active'], false],
    ['2016-01-01', ['retired'], true],
    [undefined, ['retired'], true],
  ])('OLD on %s: status %j, inactive %s', (date, status, inactive) => {
    const r = lookupCode(context(date), { system: LAB, code: 'OLD' });
    expect(prop(r, 'status')).toEqual(status);
    expect(prop(r, 'inactive')).toEqual([inactive]);
    expect(prop(r, 'gyldigTil')).toEqual(['2015-12-31']);
  });

  test('a stored status is reported once, the status of the day', () => {
    expect(prop(lookupCode(context('2020-01-01'), { system: LAB, code: 'DEPR' }), 'status')).toEqual(['deprecated']);
    expect(prop(lookupCode(context('2009-01-01'), { system: LAB, code: 'DEPR' }), 'status')).toEqual(['deprecated']);
  });
});

describe('$validate-code: valid on the date', () => {
  const code = (c: string) => ({ mode: 'code' as const, codings: [{ system: LAB, code: c }] });

  test('within its validity: valid and active', () => {
    const r = validateCodeInCodeSystem(context('2012-06-01'), { url: LAB }, code('OLD'));
    expect(r).toMatchObject({ result: true, display: 'Old' });
    expect(r.inactive).toBeUndefined();
    expect(r.issues).toEqual([]);
  });

  test('after its validity: result false, the message names the validity', () => {
    const r = validateCodeInCodeSystem(context('2020-01-01'), { url: LAB }, code('OLD'));
    expect(r.result).toBe(false);
    expect(r.inactive).toBe(true);
    expect(r.status).toBe('retired');
    expect(r.message).toContain("The concept 'OLD' is valid from 2010-01-01 through 2015-12-31, not on 2020-01-01");
    expect(r.issues.map((i) => [i.severity, i.code, i.details?.coding?.[0]?.code, i.expression?.[0]])).toContainEqual([
      'error',
      'business-rule',
      'code-rule',
      'code',
    ]);
  });

  test('before its validity: result false', () => {
    const r = validateCodeInCodeSystem(context('2015-12-31'), { url: LAB }, code('NEW'));
    expect(r.result).toBe(false);
    expect(r.message).toContain("The concept 'NEW' is valid from 2016-01-01, not on 2015-12-31");
  });

  test('without a date: ended concepts are valid but inactive, as before', () => {
    const r = validateCodeInCodeSystem(context(), { url: LAB }, code('OLD'));
    expect(r).toMatchObject({ result: true, inactive: true, status: 'retired' });
    expect(r.message).toBe("The concept 'OLD' has a status of retired and inactive and its use should be reviewed");
  });

  test('a value set with a date: the same rule', () => {
    const ok = validateCodeInValueSet(context('2012-06-01'), ALL_LAB, code('OLD'));
    expect(ok.result).toBe(true);
    const no = validateCodeInValueSet(context('2020-01-01'), ALL_LAB, code('OLD'));
    expect(no.result).toBe(false);
    expect(no.message).toContain('valid from 2010-01-01 through 2015-12-31, not on 2020-01-01');
  });

  test('membership only: false, without the code system finding', () => {
    const r = validateCodeInValueSet(context('2020-01-01'), ALL_LAB, code('OLD'), { membershipOnly: true });
    expect(r.result).toBe(false);
    expect(r.message).not.toContain('is valid from');
  });
});

describe('$expand: status and activeOnly on the date', () => {
  const codes = (vs: ValueSet) => vs.expansion?.contains?.map((x) => x.code) ?? [];
  const inactive = (vs: ValueSet) => vs.expansion?.contains?.filter((x) => x.inactive).map((x) => x.code) ?? [];

  test.each<[string | undefined, string[]]>([
    ['2012-06-01', ['NEW', 'FUTURE', 'WITHDRAWN']],
    ['2017-01-01', ['OLD', 'FUTURE', 'WITHDRAWN']],
    [undefined, ['OLD', 'FUTURE', 'WITHDRAWN']],
  ])('inactive on %s: %j', (date, expected) => {
    expect(inactive(expandValueSet(context(date), ALL_LAB))).toEqual(expected);
  });

  test('activeOnly leaves out the concepts not valid on the date', () => {
    expect(codes(expandValueSet(context('2012-06-01'), ALL_LAB, { activeOnly: true }))).toEqual([
      'OLD',
      'PLAIN',
      'DEPR',
    ]);
  });

  test('the status property of the day', () => {
    const vs = expandValueSet(context('2017-01-01'), ALL_LAB, { properties: ['status'] });
    const old = vs.expansion?.contains?.find((x) => x.code === 'OLD');
    const status = old?.extension?.find((e) => e.url.endsWith('contains.property'));
    expect(status?.extension).toContainEqual({ url: 'value', valueCode: 'retired' });
  });

  test('a status filter reads the status of the day', () => {
    expect(codes(expandValueSet(context('2012-06-01'), RETIRED_LAB))).toEqual(['WITHDRAWN']);
    expect(codes(expandValueSet(context('2017-01-01'), RETIRED_LAB))).toEqual(['OLD', 'WITHDRAWN']);
  });
});
