import type { ValueSet } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { valueSetCanonical } from '../../src/terminology/compose.ts';
import type { TxContext } from '../../src/terminology/context.ts';
import { type CoreOptions, ValueSetCore } from '../../src/terminology/valueset-core.ts';
import { ImportNotFoundError } from '../../src/terminology/valueset-references.ts';
import { NO_VERSION_RULES } from '../../src/terminology/version-rules.ts';
import { fixtureContext, LANG, SUPP, TREE, VER, VS, valueSet } from './expand-fixtures.ts';

/** The membership core (valueset-core.ts), asked directly. */

const red = valueSet('red', { include: [{ system: TREE, filter: [{ property: 'colour', op: '=', value: 'red' }] }] });
const ctx = fixtureContext([red]);

function member(
  c: TxContext,
  vs: ValueSet,
  system: string,
  version: string | undefined,
  code: string,
  o?: CoreOptions,
) {
  return new ValueSetCore(c, o).prepare(vs).member(system, code, version);
}

describe('ValueSetCore membership', () => {
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
    ['imported value set', { include: [{ valueSet: [`${VS}red`] }] }, 'root1', true],
    ['imported value set, outside', { include: [{ valueSet: [`${VS}red`] }] }, 'root3', false],
    ['system intersected with import', { include: [{ system: TREE, valueSet: [`${VS}red`] }] }, 'root1', true],
    ['inactive = false', { inactive: false, include: [{ system: TREE }] }, 'root2', false],
    [
      'an exclude removes the code',
      { include: [{ system: TREE }], exclude: [{ system: TREE, concept: [{ code: 'root1' }] }] },
      'root1',
      false,
    ],
    [
      'an excluded filter removes the codes it selects',
      {
        include: [{ system: TREE }],
        exclude: [{ system: TREE, filter: [{ property: 'concept', op: 'is-a', value: 'child2a' }] }],
      },
      'leaf2aI',
      false,
    ],
    ['excluding the whole system', { include: [{ system: TREE }], exclude: [{ system: TREE }] }, 'root1', false],
  ])('%s', (_name, compose, code, expected) => {
    const m = member(ctx, valueSet('t', compose), TREE, undefined, code);
    expect(m !== undefined).toBe(expected);
    if (expected) expect(m?.code).toBe(code);
  });

  test('a member carries the include, the concept and its code system version', () => {
    const m = member(ctx, valueSet('t', { include: [{ system: TREE }] }), TREE, undefined, 'root2');
    expect(m?.rs?.version).toBe('1.0.0');
    expect(m?.concept?.display).toBe('Lung findings');
    expect(m?.set?.path).toBe('ValueSet.compose.include[0]');
  });

  test('an unknown code system or version selects nothing', () => {
    const vs = valueSet('t', { include: [{ system: 'http://example.org/nope' }, { system: VER, version: '9' }] });
    expect(member(ctx, vs, 'http://example.org/nope', undefined, 'a')).toBeUndefined();
    expect(member(ctx, vs, VER, undefined, 'x')).toBeUndefined();
  });

  test('an import that cannot be found throws ImportNotFoundError', () => {
    const vs = valueSet('t', { include: [{ valueSet: [`${VS}missing`] }] });
    expect(() => new ValueSetCore(ctx).prepare(vs)).toThrow(ImportNotFoundError);
  });

  test('a coding version other than the include version is not a member', () => {
    const vs = valueSet('t', { include: [{ system: VER, version: '1.2.0' }] });
    expect(member(ctx, vs, VER, '1.0.0', 'x')).toBeUndefined();
    expect(member(ctx, vs, VER, '1.2.0', 'x')?.rs?.version).toBe('1.2.0');
  });

  test('a versionless include takes the coding version when it is known', () => {
    const vs = valueSet('t', { include: [{ system: VER }] });
    expect(member(ctx, vs, VER, '1.0.0', 'x')?.rs?.version).toBe('1.0.0');
    expect(member(ctx, vs, VER, undefined, 'x')?.rs?.version).toBe('1.2.0');
  });

  test('version rules apply: force and check', () => {
    const vs = valueSet('t', { include: [{ system: VER }] });
    const forced = member(ctx, vs, VER, undefined, 'z', {
      rules: { ...NO_VERSION_RULES, forces: new Map([[VER, '1.0.0']]) },
    });
    expect(forced).toBeUndefined();
    const checked = member(ctx, valueSet('t', { include: [{ system: VER, version: '1.2.0' }] }), VER, undefined, 'x', {
      rules: { ...NO_VERSION_RULES, checks: new Map([[VER, '1.0.x']]) },
    });
    expect(checked).toBeUndefined();
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
    const m = member(
      c,
      valueSet('t', { include: [{ system: 'http://example.org/ci' }] }),
      'http://example.org/ci',
      undefined,
      'ABC',
    );
    expect(m?.code).toBe('abc');
  });

  test('a circular import throws', () => {
    const a = valueSet('a', { include: [{ valueSet: [`${VS}b`] }] });
    const b = valueSet('b', { include: [{ valueSet: [`${VS}a`] }] });
    const c = fixtureContext([a, b]);
    expect(() => new ValueSetCore(c).prepare(a)).toThrow(OperationOutcomeError);
    void LANG;
  });

  test('missing supplements are reported', () => {
    const vs = valueSet('t', { include: [{ system: TREE }] });
    const ok = new ValueSetCore(ctx, { supplements: [SUPP] });
    ok.prepare(vs).member(TREE, 'root1', undefined);
    expect(ok.missingSupplements()).toEqual([]);
    const missing = new ValueSetCore(ctx, { supplements: [`${SUPP}-x`] });
    missing.prepare(vs).member(TREE, 'root1', undefined);
    expect(missing.missingSupplements()).toEqual([`${SUPP}-x`]);
  });
});

test('valueSetCanonical', () => {
  expect(valueSetCanonical(valueSet('x', { include: [] }))).toBe(`${VS}x|1.0.0`);
  expect(valueSetCanonical({ resourceType: 'ValueSet', status: 'active', id: 'c' })).toBe('#c');
  expect(valueSetCanonical({ resourceType: 'ValueSet', status: 'active' })).toBe('(unidentified)');
});
