import type { ValueSet } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { valueSetCanonical, valueSetContains } from '../../src/terminology/compose.ts';
import { NO_VERSION_RULES } from '../../src/terminology/version-rules.ts';
import { fixtureContext, LANG, SUPP, TREE, VER, VS, valueSet } from './expand-fixtures.ts';

/** The membership function $validate-code uses (compose.ts `valueSetContains`). */

const red = valueSet('red', { include: [{ system: TREE, filter: [{ property: 'colour', op: '=', value: 'red' }] }] });
const ctx = fixtureContext([red]);

describe('valueSetContains', () => {
  test.each<[string, ValueSet['compose'], string, boolean]>([
    ['whole system', { include: [{ system: TREE }] }, 'leaf2aI', true],
    ['code not in the system', { include: [{ system: TREE }] }, 'nope', false],
    ['concept list', { include: [{ system: TREE, concept: [{ code: 'root1' }] }] }, 'root1', true],
    ['concept list, other code', { include: [{ system: TREE, concept: [{ code: 'root1' }] }] }, 'root3', false],
    [
      'filter',
      { include: [{ system: TREE, filter: [{ property: 'concept', op: 'is-a', value: 'child2a' }] }] },
      'leaf2aII',
      true,
    ],
    [
      'filter, outside',
      { include: [{ system: TREE, filter: [{ property: 'concept', op: 'is-a', value: 'child2a' }] }] },
      'child2b',
      false,
    ],
    ['imported value set', { include: [{ valueSet: [`${VS}red`] }] }, 'child2b', true],
    ['imported value set, outside', { include: [{ valueSet: [`${VS}red`] }] }, 'root3', false],
    ['system intersected with import', { include: [{ system: TREE, valueSet: [`${VS}red`] }] }, 'root1', true],
    ['inactive = false', { inactive: false, include: [{ system: TREE }] }, 'root2', false],
  ])('%s', (_name, compose, code, expected) => {
    const r = valueSetContains(ctx, valueSet('t', compose), TREE, undefined, code);
    expect(r.found).toBe(expected);
    if (expected) expect(r.match?.code).toBe(code);
  });

  test('a match carries the concept, its code system version and flags', () => {
    const r = valueSetContains(ctx, valueSet('t', { include: [{ system: TREE }] }), TREE, undefined, 'root2');
    expect(r.match).toMatchObject({ system: TREE, version: '1.0.0', code: 'root2', inactive: true, abstract: true });
    expect(r.match?.concept?.display).toBe('Lung findings');
    expect(r.checks).toHaveLength(1);
    expect(r.checks[0]).toMatchObject({ path: 'ValueSet.compose.include[0]', matches: true, versionMismatch: false });
  });

  test('an exclude removes the code and says so', () => {
    const vs = valueSet('t', {
      include: [{ system: TREE }],
      exclude: [{ system: TREE, concept: [{ code: 'root1' }] }],
    });
    const r = valueSetContains(ctx, vs, TREE, undefined, 'root1');
    expect(r.found).toBe(false);
    expect(r.excluded).toBe(true);
  });

  test('unknown code systems and value sets are reported, not thrown', () => {
    const vs = valueSet('t', {
      include: [{ system: 'http://example.org/nope' }, { system: VER, version: '9' }, { valueSet: [`${VS}missing`] }],
    });
    expect(valueSetContains(ctx, vs, 'http://example.org/nope', undefined, 'a').unknownSystems).toEqual([
      'http://example.org/nope',
    ]);
    const v = valueSetContains(ctx, vs, VER, undefined, 'x');
    expect(v.unknownSystems).toEqual([`${VER}|9`]);
    expect(v.checks[0].error?.outcome.issue?.[0]?.details?.text).toBe(
      `A definition for CodeSystem '${VER}' version '9' could not be found, so the value set cannot be expanded. Valid versions: 1.0.0 or 1.2.0`,
    );
    expect(v.unknownValueSets).toEqual([`${VS}missing`]);
  });

  test('a coding version other than the include version is a mismatch', () => {
    const vs = valueSet('t', { include: [{ system: VER, version: '1.2.0' }] });
    const r = valueSetContains(ctx, vs, VER, '1.0.0', 'x');
    expect(r.found).toBe(false);
    expect(r.checks[0]).toMatchObject({ includeVersion: '1.2.0', matches: true, versionMismatch: true });
    expect(r.checks[0].resolved?.version).toBe('1.2.0');
    expect(valueSetContains(ctx, vs, VER, '1.2.0', 'x').found).toBe(true);
  });

  test('version rules apply: force and check', () => {
    const vs = valueSet('t', { include: [{ system: VER }] });
    const forced = valueSetContains(ctx, vs, VER, undefined, 'z', {
      rules: { ...NO_VERSION_RULES, forces: new Map([[VER, '1.0.0']]) },
    });
    expect(forced.found).toBe(false);
    expect(forced.checks[0].versionSource).toBe('force');
    const checked = valueSetContains(
      ctx,
      valueSet('t', { include: [{ system: VER, version: '1.2.0' }] }),
      VER,
      undefined,
      'x',
      {
        rules: { ...NO_VERSION_RULES, checks: new Map([[VER, '1.0.x']]) },
      },
    );
    expect(checked.found).toBe(false);
    expect(checked.checks[0].error?.outcome.issue?.[0]?.details?.coding?.[0]?.code).toBe('version-error');
  });

  test('case-insensitive code systems match and report the code as the system has it', () => {
    const ci = {
      resourceType: 'CodeSystem' as const,
      url: 'http://example.org/ci',
      status: 'active' as const,
      content: 'complete' as const,
      caseSensitive: false,
      concept: [{ code: 'abc' }],
    };
    const c = fixtureContext([ci]);
    const r = valueSetContains(
      c,
      valueSet('t', { include: [{ system: 'http://example.org/ci' }] }),
      'http://example.org/ci',
      undefined,
      'ABC',
    );
    expect(r.found).toBe(true);
    expect(r.match?.code).toBe('abc');
  });

  test('a circular import throws', () => {
    const a = valueSet('a', { include: [{ valueSet: [`${VS}b`] }] });
    const b = valueSet('b', { include: [{ valueSet: [`${VS}a`] }] });
    const c = fixtureContext([a, b]);
    expect(() => valueSetContains(c, a, LANG, undefined, 'a')).toThrow(OperationOutcomeError);
  });

  test('missing supplements are reported', () => {
    const vs = valueSet('t', { include: [{ system: TREE }] });
    expect(valueSetContains(ctx, vs, TREE, undefined, 'root1', { supplements: [SUPP] }).missingSupplements).toEqual([]);
    expect(
      valueSetContains(ctx, vs, TREE, undefined, 'root1', { supplements: [`${SUPP}-x`] }).missingSupplements,
    ).toEqual([`${SUPP}-x`]);
  });
});

test('valueSetCanonical', () => {
  expect(valueSetCanonical(valueSet('x', { include: [] }))).toBe(`${VS}x|1.0.0`);
  expect(valueSetCanonical({ resourceType: 'ValueSet', status: 'active', id: 'c' })).toBe('#c');
  expect(valueSetCanonical({ resourceType: 'ValueSet', status: 'active' })).toBe('(unidentified)');
});
