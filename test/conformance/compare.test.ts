import { describe, expect, it } from 'vitest';
import { type CompareOptions, compare, evaluateOptional, matchString } from '../../conformance/runner/compare.ts';
import type { Json } from '../../conformance/runner/json.ts';

const R4 = '4.0.1';
const opts = (extra: Partial<CompareOptions> = {}): CompareOptions => ({
  modes: new Set(['general']),
  fhirVersion: R4,
  ...extra,
});

describe('matchString templates', () => {
  const cases: Array<[string, string, boolean]> = [
    ['abc', 'abc', true],
    ['abc', 'abd', false],
    ['abc', 'ABC', false],
    ['$$', 'anything at all', true],
    ['$$', '', true],
    ['$instant$', '2024-05-01T10:11:12Z', true],
    ['$instant$', '2024-05-01T10:11:12.123+02:00', true],
    ['$instant$', '2024-05-01', false],
    ['$instant$', '2024-05-01T10:11:12', false],
    ['$date$', '2024-05-01', true],
    ['$date$', '2024', true],
    ['$date$', '2024-05-01T10:11:12+01:00', true],
    ['$date$', '01/05/2024', false],
    ['$uuid$', 'urn:uuid:8acdbfdc-e9d2-11ed-a05b-0242ac120003', true],
    ['$uuid$', '8acdbfdc-e9d2-11ed-a05b-0242ac120003', false],
    ['$uuid$', 'urn:uuid:8ACDBFDC-E9D2-11ED-A05B-0242AC120003', false],
    ['$id$', 'abc-1.2', true],
    ['$id$', 'a b', false],
    ['$id$', 'x'.repeat(65), false],
    ['$url$', 'http://example.org/fhir/OperationDefinition/x', true],
    ['$url$', 'urn:oid:1.2.3', true],
    ['$url$', 'not a url', false],
    ['$token$', '1.0.0', true],
    ['$token$', 'Terminology Server', true],
    ['$token$', ' lead', false],
    ['$token$', '', false],
    ['$string$', 'Some title', true],
    ['$string$', 'trailing ', false],
    ['$string$', '', false],
    ['$semver$', '1.9.3', true],
    ['$semver$', '1.9.3-ballot+build.1', true],
    ['$semver$', '1.9', false],
    ['$version$', '4.0.1', true],
    ['$version$', '5.0.0', false],
    ['http://hl7.org/fhir/administrative-gender|$version$', 'http://hl7.org/fhir/administrative-gender|4.0.1', true],
    ['http://hl7.org/fhir/administrative-gender|$version$', 'http://hl7.org/fhir/administrative-gender|5.0.0', false],
    ['$choice:business-rule|not-found$', 'not-found', true],
    ['$choice:business-rule|not-found$', 'invalid', false],
    ['$fragments:X-Request-Id:$', 'see x-request-id: txTests:a/b', true],
    ['$fragments:X-Request-Id:$', 'X-Request-Id missing colon', false],
    ['$fragments:code1|simple$', 'Unknown code CODE1 in SIMPLE', true],
    ['$fragments:code1|simple$', 'Unknown code code1', false],
    ['$external:2$', 'any wording', true],
    [
      '$external:1:http://hl7.org/fhir/test/ValueSet/simple-all|5.0.0$',
      "Not in value set 'http://hl7.org/fhir/test/ValueSet/simple-all|5.0.0'",
      true,
    ],
    // fragments keep their colons: `http` alone is not enough
    ['$external:2:http://hl7.org/fhir/test/CodeSystem/simple$', 'http is mentioned, but not the system', false],
    ['$nonsense$', 'x', false],
  ];
  it.each(cases)('%s vs %j -> %s', (expected, actual, ok) => {
    expect(matchString(expected, actual, R4) === undefined).toBe(ok);
  });

  it('describes the expectation on a mismatch', () => {
    expect(matchString('$uuid$', 'x', R4)).toBe('a urn:uuid:');
    expect(matchString('$choice:a|b$', 'c', R4)).toBe('one of ["a","b"]');
    expect(matchString('abc', 'x', R4)).toBe('"abc"');
  });
});

describe('evaluateOptional', () => {
  const cases: Array<[Json | undefined, string[], boolean, string | undefined]> = [
    [true, [], true, undefined],
    [false, [], false, undefined],
    [undefined, [], false, undefined],
    ['true', [], false, undefined], // a string is a mode name (IG), not a boolean
    ['!tx.fhir.org', ['general'], true, undefined],
    ['!tx.fhir.org', ['general', 'tx.fhir.org'], false, undefined],
    ['flat', ['general'], false, undefined],
    ['flat', ['general', 'flat'], true, undefined],
    ['version:4', [], true, undefined],
    ['version:5', [], false, undefined],
    ['warning:version', [], true, 'version'],
  ];
  it.each(cases)('%j with modes %j -> optional %s', (marker, modes, optional, warning) => {
    const r = evaluateOptional(marker, new Set(modes), R4);
    expect(r.optional).toBe(optional);
    expect(r.warning).toBe(warning);
  });
});

describe('compare: primitives and types', () => {
  const cases: Array<[string, Json, Json, boolean]> = [
    ['equal numbers', 5, 5, true],
    ['different numbers', 5, 4, false],
    ['number vs string', 5, '5', false],
    ['boolean vs string', true, 'true', false],
    ['equal booleans', false, false, true],
    ['null vs null', null, null, true],
    ['null vs string', null, 'x', false],
    ['$$ requires a string', '$$', 1, false],
    ['object vs array', { a: 1 }, [{ a: 1 }], false],
    ['array vs object', [1], { 0: 1 }, false],
    ['two <div>s are not compared', '<div>one</div>', '<div xmlns="x">two</div>', true],
    ['only one <div>', '<div>one</div>', 'plain', false],
  ];
  it.each(cases)('%s', (_label, e, a, ok) => {
    expect(compare(e, a, opts()).ok).toBe(ok);
  });
});

describe('compare: objects', () => {
  const cases: Array<[string, Json, Json, boolean]> = [
    ['same properties', { a: 1, b: 'x' }, { b: 'x', a: 1 }, true],
    ['actual has an extra property', { a: 1 }, { a: 1, b: 2 }, false],
    ['actual misses a property', { a: 1, b: 2 }, { a: 1 }, false],
    ['$optional-properties$ lets the actual omit it', { '$optional-properties$': ['b'], a: 1, b: 2 }, { a: 1 }, true],
    [
      '$optional-properties$ still compares it when present',
      { '$optional-properties$': ['b'], a: 1, b: 2 },
      { a: 1, b: 3 },
      false,
    ],
    ['$optional-properties$ lets the actual carry it', { '$optional-properties$': ['c'], a: 1 }, { a: 1, c: 9 }, true],
    ['$optional-properties$ * allows anything missing', { '$optional-properties$': ['*'], a: 1, b: 2 }, {}, true],
    ['$optional-properties$ * allows anything extra', { '$optional-properties$': ['*'] }, { z: 1 }, true],
    ['an optional object property may be missing', { a: 1, b: { $optional$: true, c: 1 } }, { a: 1 }, true],
    ['an optional object property must match when present', { b: { $optional$: true, c: 1 } }, { b: { c: 2 } }, false],
    ['a mode-gated object is required in that mode (not here)', { b: { $optional$: '!x', c: 1 } }, {}, true],
    ['an array of only optional items may be missing', { ext: [{ $optional$: '!tx.fhir.org', url: 'u' }] }, {}, true],
    ['an array with a required item may not be missing', { ext: [{ $optional$: true }, { url: 'u' }] }, {}, false],
    ['misspelt directive keys are not data ($optional)', { $optional: ['location'], a: 1 }, { a: 1 }, true],
    ['fhir_comments are ignored', { a: 1 }, { a: 1, fhir_comments: ['x'] }, true],
  ];
  it.each(cases)('%s', (_label, e, a, ok) => {
    expect(compare(e, a, opts()).ok).toBe(ok);
  });

  it('in tx.fhir.org mode the "!tx.fhir.org" content is required', () => {
    const e = { ext: [{ $optional$: '!tx.fhir.org', url: 'u' }] };
    expect(compare(e, {}, opts({ modes: new Set(['general', 'tx.fhir.org']) })).ok).toBe(false);
  });

  it('reports paths, expected and actual', () => {
    const r = compare(
      { resourceType: 'ValueSet', expansion: { total: 5, contains: [{ code: 'a' }] } },
      { resourceType: 'ValueSet', expansion: { total: 4, contains: [{ code: 'b' }] } },
      opts(),
    );
    expect(r.ok).toBe(false);
    expect(r.differences).toEqual([
      { path: 'ValueSet.expansion.total', message: 'expected 5, got 4' },
      { path: 'ValueSet.expansion.contains[0](b).code', message: 'expected "a", got "b"' },
    ]);
  });

  it('reports missing and unexpected properties', () => {
    const r = compare({ resourceType: 'Parameters', a: 1 }, { resourceType: 'Parameters', b: 2 }, opts());
    expect(r.differences).toEqual([
      { path: 'Parameters.a', message: 'missing property; expected 1' },
      { path: 'Parameters.b', message: 'unexpected property; got 2' },
    ]);
  });

  it('reports a different resource type alone, with the outcome of an error', () => {
    const r = compare(
      { resourceType: 'ValueSet', url: 'u', expansion: { total: 1 } },
      {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'not-found', details: { text: 'Unknown value set u' } }],
      },
      opts(),
    );
    expect(r.differences).toEqual([
      {
        path: 'ValueSet',
        message: 'expected resourceType ValueSet, got OperationOutcome (error/not-found: "Unknown value set u")',
      },
    ]);
  });

  it('stops after maxDifferences', () => {
    const r = compare({ a: 1, b: 1, c: 1 }, { a: 2, b: 2, c: 2 }, opts({ maxDifferences: 2 }));
    expect(r.differences).toHaveLength(2);
  });

  it('notes a warning when warning: content is missing', () => {
    const e: Json = { parameter: [{ name: 'code' }, { name: 'version', $optional$: 'warning:version' }] };
    const r = compare(e, { parameter: [{ name: 'code' }] }, opts());
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual(['$.parameter[1](version): missing (version)']);
  });

  it('no warning when warning: content is present', () => {
    const e: Json = { parameter: [{ name: 'code' }, { name: 'version', $optional$: 'warning:version' }] };
    const r = compare(e, { parameter: [{ name: 'code' }, { name: 'version' }] }, opts());
    expect(r).toEqual({ ok: true, differences: [], warnings: [] });
  });
});

describe('compare: arrays', () => {
  const A = { code: 'a' };
  const B = { code: 'b' };
  const C = { code: 'c' };
  const opt = (o: { code: string }, marker: Json = true) => ({ $optional$: marker, ...o });
  const cases: Array<[string, Json[], Json[], boolean]> = [
    ['same items in order', [A, B], [A, B], true],
    ['order matters', [A, B], [B, A], false],
    ['actual longer', [A], [A, B], false],
    ['actual shorter', [A, B], [A], false],
    ['empty vs empty', [], [], true],
    ['optional item missing in the middle', [A, opt(B), C], [A, C], true],
    ['optional item missing at the end', [A, opt(B)], [A], true],
    ['optional item present', [A, opt(B), C], [A, B, C], true],
    ['all items optional, none present', [opt(A), opt(B)], [], true],
    ['required item missing', [A, opt(B), C], [A, B], false],
    ['optional item cannot absorb an unknown item', [A, opt(B)], [A, C], false],
    // a greedy walk would give the actual A to the optional A and then miss the required one
    ['optional twin does not steal the match', [opt(A), A], [A], true],
    ['optional twin, both present', [opt(A), A], [A, A], true],
    ['optional, mode-gated item required in that mode (mode off)', [A, opt(B, 'flat')], [A], false],
    ['"!mode" item optional when mode off', [A, opt(B, '!tx.fhir.org')], [A], true],
    ['version:5 item is required on R4', [A, opt(B, 'version:5')], [A], false],
    ['version:4 item is optional on R4', [A, opt(B, 'version:4')], [A], true],
  ];
  it.each(cases)('%s', (_label, e, a, ok) => {
    expect(compare(e, a, opts()).ok).toBe(ok);
  });

  it('$count-arrays$ compares only lengths', () => {
    const e = { '$count-arrays$': ['contains'], contains: [A, B] };
    expect(compare(e, { contains: [C, C] }, opts()).ok).toBe(true);
    expect(compare(e, { contains: [C] }, opts()).ok).toBe(false);
    expect(compare(e, { contains: [A, B, C] }, opts()).ok).toBe(false);
  });

  it('explains a surplus item', () => {
    const r = compare([A], [A, B], opts());
    expect(r.differences).toEqual([{ path: '$[1](b)', message: 'unexpected extra item {"code":"b"}' }]);
  });

  it('explains a missing item', () => {
    const r = compare([A, B], [A], opts());
    expect(r.differences).toEqual([{ path: '$[1]', message: 'missing item (got 1 of 2); expected {"code":"b"}' }]);
  });

  it('explains the first required mismatch with optional items around', () => {
    const r = compare([A, opt(B), C], [A, { code: 'x' }], opts());
    expect(r.differences).toEqual([{ path: '$[1](x).code', message: 'expected "c", got "x"' }]);
  });
});

describe('compare: pattern mode (metadata, term-caps)', () => {
  const p = opts({ pattern: true });
  const cases: Array<[string, Json, Json, boolean]> = [
    ['actual may carry more properties', { a: 1 }, { a: 1, b: 2 }, true],
    ['expected properties must be there', { a: 1, b: 2 }, { a: 1 }, false],
    ['items found among more items', [{ n: 'a' }, { n: 'c' }], [{ n: 'a' }, { n: 'b' }, { n: 'c' }], true],
    ['items must keep their relative order', [{ n: 'c' }, { n: 'a' }], [{ n: 'a' }, { n: 'b' }, { n: 'c' }], false],
    ['an item that is not there', [{ n: 'z' }], [{ n: 'a' }], false],
    ['a partial item matches a fuller one', [{ url: 'value' }], [{ url: 'value', valueBoolean: true }], true],
    ['optional items may be missing', [{ n: 'a' }, { $optional$: true, n: 'z' }], [{ n: 'a' }], true],
    ['templates still apply', { date: '$date$', version: '$version$' }, { date: '2025-01-02', version: '4.0.1' }, true],
    ['templates still fail', { date: '$date$' }, { date: 'yesterday' }, false],
  ];
  it.each(cases)('%s', (_label, e, a, ok) => {
    expect(compare(e, a, p).ok).toBe(ok);
  });

  it('explains a missing item by its closest candidate', () => {
    const e: Json = {
      rest: [{ resource: [{ type: 'CodeSystem', operation: [{ name: 'lookup' }, { name: 'validate-code' }] }] }],
    };
    const a: Json = {
      rest: [
        {
          resource: [
            { type: 'CodeSystem', operation: [{ name: 'lookup' }, { name: 'subsumes' }] },
            { type: 'ValueSet', operation: [{ name: 'expand' }] },
          ],
        },
      ],
    };
    const r = compare(e, a, p);
    expect(r.ok).toBe(false);
    expect(r.differences).toEqual([
      {
        path: '$.rest[0].resource[0].operation[1]',
        message: 'no actual item after actual item 0 matches expected {"name":"validate-code"}',
      },
    ]);
  });

  it('the same extra property fails outside pattern mode', () => {
    expect(compare({ a: 1 }, { a: 1, b: 2 }, opts()).ok).toBe(false);
  });
});
