import type { ValueSet } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { expandValueSet } from '../../src/terminology/expand.ts';
import { validateCodeInValueSet } from '../../src/terminology/validate.ts';
import { fixtureContext, VER, VS, valueSet, versionedCodeSystem } from './expand-fixtures.ts';

/**
 * Value sets that import value sets holding several versions of one code system. VER has version
 * 1.0.0 (x, y) and 1.2.0 (x, y, z). A code is a member once per version it is included in; a value
 * set that imports it may exclude it in one version and keep it in another, and $validate-code must
 * then answer as the expansion lists. (Cases the agreement property test found with other seeds.)
 */

/** The expansion as sorted `version#code` strings. */
function expanded(ctx: ReturnType<typeof fixtureContext>, vs: ValueSet): string[] {
  const contains = expandValueSet(ctx, vs, { excludeNested: true }).expansion?.contains ?? [];
  return contains.map((c) => `${c.version ?? ''}#${c.code}`).sort();
}

function validates(ctx: ReturnType<typeof fixtureContext>, vs: ValueSet, code: string, version?: string): boolean {
  return validateCodeInValueSet(ctx, vs, {
    mode: 'coding',
    codings: [{ system: VER, code, ...(version ? { version } : {}) }],
  }).result;
}

describe('imports of value sets with several code system versions', () => {
  test('an importing value set excludes one version of a code and keeps the other', () => {
    const both = valueSet('iv-both', { include: [{ system: VER, version: '1.0.0' }, { system: VER }] });
    const newer = valueSet('iv-newer', {
      include: [{ valueSet: [`${VS}iv-both`] }],
      exclude: [
        { system: VER, version: '1.0.0' },
        { system: VER, concept: [{ code: 'z' }] },
      ],
    });
    const outer = valueSet('iv-outer', { include: [{ valueSet: [`${VS}iv-newer`] }] });
    const ctx = fixtureContext([both, newer, outer]);
    expect(expanded(ctx, outer)).toEqual(['1.2.0#x', '1.2.0#y']);
    expect(validates(ctx, outer, 'x')).toBe(true);
    expect(validates(ctx, outer, 'x', '1.2.0')).toBe(true);
    expect(validates(ctx, outer, 'x', '1.0.0')).toBe(false);
    expect(validates(ctx, outer, 'z')).toBe(false);
  });

  test('a value set that pins one version and imports another tells the codes apart by version', () => {
    const pinned = valueSet('iv-pinned', {
      include: [
        { system: VER, version: '1.2.0' },
        { system: VER, version: '1.0.0' },
      ],
    });
    const mixed = valueSet('iv-mixed', {
      include: [{ system: VER, version: '1.0.0' }, { valueSet: [`${VS}iv-pinned`] }],
    });
    const outer = valueSet('iv-mixed-outer', {
      include: [{ system: VER, version: '1.0.0' }, { valueSet: [`${VS}iv-mixed`] }],
      exclude: [{ system: VER, concept: [{ code: 'z' }] }],
    });
    const ctx = fixtureContext([pinned, mixed, outer]);
    expect(expanded(ctx, mixed)).toEqual(['1.0.0#x', '1.0.0#y', '1.2.0#x', '1.2.0#y', '1.2.0#z']);
    expect(expanded(ctx, outer)).toEqual(['1.0.0#x', '1.0.0#y', '1.2.0#x', '1.2.0#y']);
    expect(validates(ctx, outer, 'x', '1.2.0')).toBe(true);
    expect(validates(ctx, outer, 'z', '1.2.0')).toBe(false);
  });

  test('a coding of a stated version is checked in the import at that version', () => {
    // y is excluded in the newest version only; the import still holds y of 1.0.0
    const partly = valueSet('iv-partly', {
      include: [{ system: VER }],
      exclude: [
        { system: VER, concept: [{ code: 'y' }] },
        { system: VER, version: '1.0.0', concept: [{ code: 'z' }] },
      ],
    });
    const outer = valueSet('iv-partly-outer', {
      include: [{ valueSet: [`${VS}iv-partly`] }, { system: VER, version: '1.0.0' }],
    });
    const ctx = fixtureContext([partly, outer]);
    expect(expanded(ctx, outer)).toContain('1.0.0#y');
    expect(validates(ctx, outer, 'y', '1.0.0')).toBe(true);
    expect(validates(ctx, outer, 'y', '1.2.0')).toBe(false);
  });

  test('an exclude of a version a wildcard include matches removes the code from that version only', () => {
    const wild = valueSet('iv-wild', {
      include: [
        { system: VER, version: '1.2.0' },
        { system: VER, version: '1.x' },
      ],
      exclude: [{ system: VER, version: '1.0.0', concept: [{ code: 'x' }] }],
    });
    const ctx = fixtureContext([wild]);
    // 1.x expands to its newest match, 1.2.0; a coding of another version it matches validates (as
    // against a versionless include), except a code excluded in that version
    expect(expanded(ctx, wild)).toEqual(['1.2.0#x', '1.2.0#y', '1.2.0#z']);
    expect(validates(ctx, wild, 'y', '1.0.0')).toBe(true);
    expect(validates(ctx, wild, 'x', '1.0.0')).toBe(false);
  });

  test('excludes of a version no include names remove by code, and the included versions stay apart', () => {
    const apart = valueSet('iv-apart', {
      include: [
        { system: VER, version: '1.2.0' },
        { system: VER, version: '1.0.0' },
      ],
      exclude: [{ system: VER, version: '1.3.0', concept: [{ code: 'x' }] }],
    });
    const ctx = fixtureContext([versionedCodeSystem('1.3.0', ['x', 'w']), apart]);
    expect(expanded(ctx, apart)).toEqual(['1.0.0#y', '1.2.0#y', '1.2.0#z']);
    expect(validates(ctx, apart, 'y', '1.0.0')).toBe(true);
    expect(validates(ctx, apart, 'x', '1.0.0')).toBe(false);
    expect(validates(ctx, apart, 'x', '1.2.0')).toBe(false);
  });
});
