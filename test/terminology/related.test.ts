import type { ValueSetCompose } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { compareValueSets, type VersionPolicy } from '../../src/terminology/related.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import {
  MULTI_URL,
  multiParentCodeSystem,
  TREE_URL,
  treeCodeSystem,
  UNKNOWN_URL,
  VERSIONED_URL,
  valueSet,
  versionedCodeSystem,
} from './related-fixtures.ts';

function context(): TxContext {
  const store = new TerminologyStore();
  store.add(treeCodeSystem());
  store.add(multiParentCodeSystem());
  store.add(versionedCodeSystem('1'));
  store.add(versionedCodeSystem('2'));
  return new TxContext(store);
}

const all = (system: string, version?: string): ValueSetCompose => ({
  include: [{ system, ...(version ? { version } : {}) }],
});
const codes = (system: string, ...list: string[]): ValueSetCompose => ({
  include: [{ system, concept: list.map((code) => ({ code })) }],
});
const isA = (system: string, value: string, version?: string): ValueSetCompose => ({
  include: [{ system, ...(version ? { version } : {}), filter: [{ property: 'concept', op: 'is-a', value }] }],
});

const A = 'http://example.org/fhir/ValueSet/a';
const B = 'http://example.org/fhir/ValueSet/b';

function compare(a: ValueSetCompose | undefined, b: ValueSetCompose | undefined, versionPolicy?: VersionPolicy) {
  return compareValueSets(context(), valueSet('a', a), valueSet('b', b), versionPolicy ? { versionPolicy } : {});
}

interface Case {
  name: string;
  a: ValueSetCompose;
  b: ValueSetCompose;
  result: string;
}

describe('compareValueSets from the definitions', () => {
  test.each<Case>([
    { name: 'whole system vs whole system', a: all(TREE_URL), b: all(TREE_URL), result: 'same' },
    { name: 'whole system vs a code list', a: all(TREE_URL), b: codes(TREE_URL, 'a', 'b'), result: 'superset' },
    { name: 'a code list vs whole system', a: codes(TREE_URL, 'c'), b: all(TREE_URL), result: 'subset' },
    { name: 'equal code lists, any order', a: codes(TREE_URL, 'a', 'b'), b: codes(TREE_URL, 'b', 'a'), result: 'same' },
    { name: 'code list inside another', a: codes(TREE_URL, 'a'), b: codes(TREE_URL, 'a', 'c'), result: 'subset' },
    {
      name: 'overlapping code lists',
      a: codes(TREE_URL, 'a', 'b'),
      b: codes(TREE_URL, 'b', 'c'),
      result: 'overlapping',
    },
    { name: 'disjoint code lists', a: codes(TREE_URL, 'a'), b: codes(TREE_URL, 'c'), result: 'disjoint' },
    { name: 'different code systems', a: all(TREE_URL), b: all(MULTI_URL), result: 'disjoint' },
    { name: 'is-a the same code', a: isA(TREE_URL, 'a'), b: isA(TREE_URL, 'a'), result: 'same' },
    { name: 'is-a an ancestor', a: isA(TREE_URL, 'a'), b: isA(TREE_URL, 'a1'), result: 'superset' },
    { name: 'is-a a descendant', a: isA(TREE_URL, 'a1x'), b: isA(TREE_URL, 'a'), result: 'subset' },
    { name: 'is-a unrelated codes, single parents', a: isA(TREE_URL, 'a'), b: isA(TREE_URL, 'b'), result: 'disjoint' },
    {
      name: 'concept lists split over includes are merged',
      a: {
        include: [
          { system: TREE_URL, concept: [{ code: 'a' }] },
          { system: TREE_URL, concept: [{ code: 'b' }] },
        ],
      },
      b: codes(TREE_URL, 'a', 'b'),
      result: 'same',
    },
    {
      name: 'identical multi-include lists',
      a: {
        include: [
          { system: TREE_URL, concept: [{ code: 'c' }] },
          { system: TREE_URL, filter: [{ property: 'concept', op: 'is-a', value: 'b' }] },
        ],
      },
      b: {
        include: [
          { system: TREE_URL, filter: [{ property: 'concept', op: 'is-a', value: 'b' }] },
          { system: TREE_URL, concept: [{ code: 'c' }] },
        ],
      },
      result: 'same',
    },
    {
      name: 'a system on one side only adds to that side',
      a: { include: [{ system: TREE_URL }, { system: MULTI_URL }] },
      b: all(TREE_URL),
      result: 'superset',
    },
  ])('$name: $result', ({ a, b, result }) => {
    const r = compare(a, b);
    expect(r.result).toBe(result);
    expect(r.performedExpansion).toBe(false);
  });

  test('messages name both value sets', () => {
    expect(compare(all(TREE_URL), all(TREE_URL)).message).toBe(`The value sets ${A} and ${B} contain the same codes`);
    expect(compare(all(TREE_URL), codes(TREE_URL, 'a')).message).toBe(
      `The valueSet ${A} is a super-set of the valueSet ${B}`,
    );
    expect(compare(codes(TREE_URL, 'a'), all(TREE_URL)).message).toBe(
      `The valueSet ${A} is a seb-set of the valueSet ${B}`,
    );
    expect(compare(codes(TREE_URL, 'a', 'b'), codes(TREE_URL, 'b', 'c')).message).toBe(
      `Both value sets ${A} and ${B} contain the codes the other doesn't, but there is some overlap`,
    );
    expect(compare(codes(TREE_URL, 'a'), codes(TREE_URL, 'c')).message).toBe(
      `No shared codes between the value sets ${A} and ${B}`,
    );
  });

  test('code lists report the missing, extra and common codes', () => {
    const r = compare(codes(TREE_URL, 'a', 'b'), codes(TREE_URL, 'b', 'c'));
    expect({ missing: r.missingCodes, extra: r.extraCodes, common: r.commonCodes }).toEqual({
      missing: ['a'],
      extra: ['c'],
      common: ['b'],
    });
  });

  test('a versioned value set is named url|version', () => {
    const r = compareValueSets(context(), valueSet('a', all(TREE_URL), '2.0'), valueSet('b', all(TREE_URL)));
    expect(r.message).toBe(`The value sets ${A}|2.0 and ${B} contain the same codes`);
  });
});

describe('compareValueSets by expansion', () => {
  test.each<Case>([
    {
      name: 'code list vs the filter selecting the same codes',
      a: codes(TREE_URL, 'a1', 'a1x', 'a1y'),
      b: isA(TREE_URL, 'a1'),
      result: 'same',
    },
    {
      name: 'exclude vs code list',
      a: { include: [{ system: TREE_URL }], exclude: [{ system: TREE_URL, concept: [{ code: 'c' }] }] },
      b: codes(TREE_URL, 'a', 'a1', 'a1x', 'a1y', 'a2', 'b', 'b1'),
      result: 'same',
    },
    {
      name: 'value set import',
      a: { include: [{ valueSet: ['http://example.org/fhir/ValueSet/imported'] }] },
      b: codes(TREE_URL, 'c'),
      result: 'superset',
    },
    {
      name: 'is-a unrelated codes with a shared descendant (two parents)',
      a: isA(MULTI_URL, 'left'),
      b: isA(MULTI_URL, 'right'),
      result: 'overlapping',
    },
    {
      name: 'a filter with another operator',
      a: { include: [{ system: TREE_URL, filter: [{ property: 'concept', op: 'descendent-of', value: 'a' }] }] },
      b: { include: [{ system: TREE_URL, filter: [{ property: 'concept', op: 'descendent-of', value: 'a1' }] }] },
      result: 'superset',
    },
  ])('$name: $result', ({ a, b, result }) => {
    const ctx = context();
    ctx.store.add(valueSet('imported', codes(TREE_URL, 'c', 'b')));
    const r = compareValueSets(ctx, valueSet('a', a), valueSet('b', b));
    expect(r.result).toBe(result);
    expect(r.performedExpansion).toBe(true);
  });

  test('expansion diagnostics list the codes that differ, and the shared ones', () => {
    const r = compare(codes(TREE_URL, 'a1', 'c'), isA(TREE_URL, 'a1'));
    expect(r.result).toBe('overlapping');
    expect(r.missingCodes).toEqual(['c']);
    expect(r.extraCodes.sort()).toEqual(['a1x', 'a1y']);
    expect(r.commonCodes).toEqual(['a1']);
  });

  test('two value sets that expand to nothing are empty', () => {
    const nothing: ValueSetCompose = {
      include: [{ system: TREE_URL, concept: [{ code: 'c' }] }],
      exclude: [{ system: TREE_URL, concept: [{ code: 'c' }] }],
    };
    const r = compare(nothing, nothing);
    expect(r).toMatchObject({ result: 'empty', performedExpansion: true });
    expect(r.message).toBe(`Both the value sets ${A} and ${B} are empty`);
  });

  test('two composes without includes are empty', () => {
    expect(compare({ include: [] }, { include: [] })).toMatchObject({ result: 'empty', performedExpansion: false });
  });
});

describe('compareValueSets: indeterminate', () => {
  const broken: ValueSetCompose = {
    include: [{ system: UNKNOWN_URL }],
    exclude: [{ system: UNKNOWN_URL, concept: [{ code: 'x' }] }],
  };

  test.each([
    { name: 'this has no compose', a: undefined, b: all(TREE_URL), message: `The ValueSet ${A} has no compose` },
    { name: 'other has no compose', a: all(TREE_URL), b: undefined, message: `The ValueSet ${B} has no compose` },
  ])('$name', ({ a, b, message }) => {
    expect(compare(a, b)).toMatchObject({ result: 'indeterminate', message, performedExpansion: false });
  });

  test('this expansion fails', () => {
    const r = compare(broken, codes(TREE_URL, 'a'));
    expect(r.result).toBe('indeterminate');
    expect(r.message).toMatch(new RegExp(`^Unable to compare ${A} and ${B}: This expansion failed: `));
    expect(r.message).toContain(UNKNOWN_URL);
  });

  test('other expansion fails', () => {
    const r = compare(codes(TREE_URL, 'a'), broken);
    expect(r.result).toBe('indeterminate');
    expect(r.message).toMatch(/: Other expansion failed: /);
  });

  test('both expansions fail the same way', () => {
    const r = compare(broken, broken);
    expect(r.result).toBe('indeterminate');
    expect(r.message.startsWith(`Unable to compare ${A} and ${B}: Both expansions failed: `)).toBe(true);
    expect(r.message).toContain(UNKNOWN_URL);
    expect(r.message).not.toContain('different errors');
  });
});

describe('compareValueSets: versions', () => {
  test.each([
    // versionNeeded: codes of version 1 and version 2 are different members
    { policy: undefined, a: all(VERSIONED_URL, '1'), b: all(VERSIONED_URL, '2'), result: 'disjoint', expanded: true },
    { policy: 'always', a: all(VERSIONED_URL, '1'), b: all(VERSIONED_URL, '2'), result: 'disjoint', expanded: true },
    { policy: 'never', a: all(VERSIONED_URL, '1'), b: all(VERSIONED_URL, '2'), result: 'same', expanded: false },
    { policy: undefined, a: all(VERSIONED_URL, '2'), b: all(VERSIONED_URL), result: 'same', expanded: false },
  ] as const)('versionNeeded, policy $policy: $result', ({ policy, a, b, result, expanded }) => {
    const r = compare(a, b, policy);
    expect(r.result).toBe(result);
    expect(r.performedExpansion).toBe(expanded);
  });

  test('without versionNeeded, pinned versions of enumerated codes do not matter', () => {
    const store = new TerminologyStore();
    store.add(versionedCodeSystem('1', false));
    store.add(versionedCodeSystem('2', false));
    const ctx = new TxContext(store);
    const pinned = (version: string): ValueSetCompose => ({
      include: [{ system: VERSIONED_URL, version, concept: [{ code: 'x' }] }],
    });
    const r = compareValueSets(ctx, valueSet('a', pinned('1')), valueSet('b', pinned('2')));
    expect(r).toMatchObject({ result: 'same', performedExpansion: false });
  });

  test('a filter makes the version matter: the expansions decide', () => {
    const store = new TerminologyStore();
    store.add(treeCodeSystem('1.0.0'));
    store.add(treeCodeSystem('2.0.0'));
    const ctx = new TxContext(store);
    const r = compareValueSets(
      ctx,
      valueSet('a', isA(TREE_URL, 'b', '1.0.0')),
      valueSet('b', isA(TREE_URL, 'b', '2.0.0')),
    );
    expect(r).toMatchObject({ result: 'same', performedExpansion: true });
  });
});

describe('compareValueSets: composes it declines', () => {
  test.each([
    {
      name: 'a lockedDate',
      compose: { ...all(TREE_URL), lockedDate: '2020-01-01' },
      code: 'business-rule',
      text: `Cannot process ValueSet ${A} due to the presence of a lockedDate on the compose`,
    },
    {
      name: 'a modifier extension',
      compose: { ...all(TREE_URL), modifierExtension: [{ url: 'http://example.org/mod', valueBoolean: true }] },
      code: 'not-supported',
      text: `Cannot process ValueSet ${A}: its compose has modifier extensions that are not understood (http://example.org/mod)`,
    },
  ])('422 for $name', ({ compose, code, text }) => {
    let error: unknown;
    try {
      compare(compose, all(TREE_URL));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OperationOutcomeError);
    const e = error as OperationOutcomeError;
    expect(e.status).toBe(422);
    expect(e.outcome.issue?.[0]).toMatchObject({
      code,
      details: { text, coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code }] },
    });
  });
});

describe('compareValueSets: inactive codes', () => {
  test('compose.inactive = false on one side only: the expansions decide', () => {
    const store = new TerminologyStore();
    const cs = treeCodeSystem();
    cs.property = [{ code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status', type: 'code' }];
    cs.concept?.push({ code: 'old', display: 'Old', property: [{ code: 'status', valueCode: 'retired' }] });
    store.add(cs);
    const ctx = new TxContext(store);
    const r = compareValueSets(
      ctx,
      valueSet('a', { inactive: false, include: [{ system: TREE_URL }] }),
      valueSet('b', { include: [{ system: TREE_URL }] }),
    );
    expect(r).toMatchObject({ result: 'subset', performedExpansion: true, extraCodes: ['old'] });
  });
});
