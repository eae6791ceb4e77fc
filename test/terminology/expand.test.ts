import type { Extension, ValueSet, ValueSetExpansionContains } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { resolveValueSetReference } from '../../src/terminology/compose.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { CONTAINS_PROPERTY_EXT, EXPANSION_PROPERTY_EXT, expandValueSet } from '../../src/terminology/expand.ts';
import { NO_VERSION_RULES, type VersionRules } from '../../src/terminology/version-rules.ts';
import {
  bigCodeSystem,
  fixtureContext,
  LANG,
  SUPP,
  TREE,
  VER,
  VS,
  valueSet,
  versionedCodeSystem,
} from './expand-fixtures.ts';

/** contains as nested [code, children] lists, for exact structure checks. */
type Node = string | [string, Node[]];
function tree(list: ValueSetExpansionContains[] | undefined): Node[] {
  return (list ?? []).map((c) => (c.contains ? [c.code ?? '', tree(c.contains)] : (c.code ?? '')));
}

function flat(list: ValueSetExpansionContains[] | undefined): ValueSetExpansionContains[] {
  return (list ?? []).flatMap((c) => [c, ...flat(c.contains)]);
}

function codes(vs: ValueSet): string[] {
  return flat(vs.expansion?.contains).map((c) => c.code ?? '');
}

function find(vs: ValueSet, code: string): ValueSetExpansionContains {
  const c = flat(vs.expansion?.contains).find((x) => x.code === code);
  if (!c) throw new Error(`${code} not in expansion`);
  return c;
}

/** expansion.parameter as sorted `name=value` strings. */
function params(vs: ValueSet): string[] {
  return (vs.expansion?.parameter ?? [])
    .map((p) => {
      const k = Object.keys(p).find((x) => x.startsWith('value')) as keyof typeof p;
      return `${p.name}=${String(p[k])}`;
    })
    .sort();
}

/** contains.property (R4 extension form) as `code=value` strings. */
function props(c: ValueSetExpansionContains): string[] {
  return (c.extension ?? [])
    .filter((e) => e.url === CONTAINS_PROPERTY_EXT)
    .map((e) => {
      const code = e.extension?.find((x) => x.url === 'code')?.valueCode;
      const v = e.extension?.find((x) => x.url === 'value') as Extension;
      const k = Object.keys(v).find((x) => x.startsWith('value')) as keyof Extension;
      return `${code}=${String(v[k])}`;
    })
    .sort();
}

function declared(vs: ValueSet): string[] {
  return (vs.expansion?.extension ?? [])
    .filter((e) => e.url === EXPANSION_PROPERTY_EXT)
    .map(
      (e) =>
        `${e.extension?.find((x) => x.url === 'code')?.valueCode}|${e.extension?.find((x) => x.url === 'uri')?.valueUri ?? ''}`,
    )
    .sort();
}

function rules(partial: Partial<VersionRules>): VersionRules {
  return { ...NO_VERSION_RULES, ...partial };
}

function expectError(fn: () => unknown, status: number, text: string | RegExp): OperationOutcomeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OperationOutcomeError);
    const e = err as OperationOutcomeError;
    expect(e.status).toBe(status);
    const got = e.outcome.issue?.[0]?.details?.text ?? '';
    if (typeof text === 'string') expect(got).toBe(text);
    else expect(got).toMatch(text);
    return e;
  }
  throw new Error('expected an OperationOutcomeError');
}

const ALL = valueSet('tree-all', { include: [{ system: TREE }] });

describe('compose: include, exclude, filters', () => {
  const ctx = fixtureContext();
  test.each<[string, ValueSet['compose'], string[]]>([
    [
      'whole system',
      { include: [{ system: TREE }] },
      ['root1', 'root2', 'child2a', 'leaf2aI', 'leaf2aII', 'child2b', 'root3'],
    ],
    [
      'inactive = false drops retired codes',
      { inactive: false, include: [{ system: TREE }] },
      ['root1', 'child2a', 'leaf2aI', 'leaf2aII', 'child2b', 'root3'],
    ],
    [
      'concept list skips unknown codes',
      { include: [{ system: TREE, concept: [{ code: 'root3' }, { code: 'nope' }, { code: 'root1' }] }] },
      ['root3', 'root1'],
    ],
    [
      'is-a',
      { include: [{ system: TREE, filter: [{ property: 'concept', op: 'is-a', value: 'child2a' }] }] },
      ['child2a', 'leaf2aI', 'leaf2aII'],
    ],
    [
      'descendent-of',
      { include: [{ system: TREE, filter: [{ property: 'concept', op: 'descendent-of', value: 'root2' }] }] },
      ['child2a', 'leaf2aI', 'leaf2aII', 'child2b'],
    ],
    [
      'child-of',
      // R5 operator, passed through by the R4 runner as it is
      { include: [{ system: TREE, filter: [{ property: 'concept', op: 'child-of' as 'is-a', value: 'root2' }] }] },
      ['child2a', 'child2b'],
    ],
    [
      'property =',
      { include: [{ system: TREE, filter: [{ property: 'colour', op: '=', value: 'red' }] }] },
      ['root1', 'child2b'],
    ],
    [
      'boolean property = false selects only codes that state it',
      { include: [{ system: TREE, filter: [{ property: 'notSelectable', op: '=', value: 'false' }] }] },
      [],
    ],
    [
      'regex on code',
      { include: [{ system: TREE, filter: [{ property: 'code', op: 'regex', value: 'leaf.*' }] }] },
      ['leaf2aI', 'leaf2aII'],
    ],
    [
      'two filters are and-ed',
      {
        include: [
          {
            system: TREE,
            filter: [
              { property: 'concept', op: 'is-a', value: 'root2' },
              { property: 'colour', op: '=', value: 'red' },
            ],
          },
        ],
      },
      ['child2b'],
    ],
    [
      'exclude a concept',
      { include: [{ system: TREE }], exclude: [{ system: TREE, concept: [{ code: 'root2' }, { code: 'leaf2aI' }] }] },
      ['root1', 'child2a', 'leaf2aII', 'child2b', 'root3'],
    ],
    [
      'exclude the whole system',
      {
        include: [{ system: TREE, filter: [{ property: 'concept', op: 'is-a', value: 'root2' }] }],
        exclude: [{ system: TREE }],
      },
      [],
    ],
    [
      'include and exclude the same code',
      {
        include: [{ system: TREE, concept: [{ code: 'root1' }] }],
        exclude: [{ system: TREE, concept: [{ code: 'root1' }] }],
      },
      [],
    ],
    [
      'import intersected with a system part',
      {
        include: [
          {
            system: TREE,
            concept: [{ code: 'root1' }, { code: 'child2b' }, { code: 'root3' }],
            valueSet: [`${VS}red`],
          },
        ],
      },
      ['root1', 'child2b'],
    ],
    [
      'two systems',
      {
        include: [
          { system: LANG, concept: [{ code: 'c' }] },
          { system: TREE, concept: [{ code: 'root3' }] },
        ],
      },
      ['c', 'root3'],
    ],
  ])('%s', (_name, compose, expected) => {
    const red = valueSet('red', {
      include: [{ system: TREE, filter: [{ property: 'colour', op: '=', value: 'red' }] }],
    });
    const c = fixtureContext([red]);
    const result = expandValueSet(c, valueSet('t', compose), { excludeNested: true });
    expect(codes(result)).toEqual(expected);
    expect(result.expansion?.total).toBe(expected.length);
    void ctx;
  });

  test('activeOnly drops inactive codes and echoes the parameter', () => {
    const result = expandValueSet(ctx, ALL, { activeOnly: true, excludeNested: true });
    expect(codes(result)).not.toContain('root2');
    expect(params(result)).toEqual(['activeOnly=true', 'excludeNested=true', `used-codesystem=${TREE}|1.0.0`]);
  });

  test('a filter without a value is a 400 naming the filter', () => {
    const vs = valueSet('broken', {
      include: [{ system: TREE, filter: [{ property: 'concept', op: 'is-a' } as never] }],
    });
    const e = expectError(
      () => expandValueSet(ctx, vs, {}),
      400,
      `The system ${TREE} filter with property = concept, op = is-a has no value`,
    );
    expect(e.outcome.issue?.[0]?.expression).toEqual(['ValueSet.compose.include[0].filter[0]']);
    expect(e.outcome.issue?.[0]?.details?.coding?.[0]?.code).toBe('vs-invalid');
  });

  test('an unknown code system cannot be expanded', () => {
    const vs = valueSet('unknown', { include: [{ system: 'http://example.org/nope' }] });
    expectError(
      () => expandValueSet(ctx, vs, {}),
      422,
      "A definition for CodeSystem 'http://example.org/nope' could not be found, so the value set cannot be expanded",
    );
  });

  test('an unknown imported value set cannot be expanded', () => {
    const vs = valueSet('imp', { include: [{ valueSet: [`${VS}nope`] }] });
    expectError(() => expandValueSet(ctx, vs, {}), 422, `Unable to find included value set '${VS}nope'`);
  });

  test('an import pinned to a version that does not exist cannot be expanded', () => {
    const vs = valueSet('imp', { include: [{ valueSet: [`${VS}red|9.9`] }] });
    expectError(() => expandValueSet(ctx, vs, {}), 422, `Unable to find included value set '${VS}red' version '9.9'`);
  });
});

describe('value set imports', () => {
  test('a contained value set is used, and not reported as used-valueset', () => {
    const red = valueSet('red', {
      include: [{ system: TREE, filter: [{ property: 'colour', op: '=', value: 'red' }] }],
    });
    const ctx = fixtureContext([red]);
    const vs: ValueSet = {
      resourceType: 'ValueSet',
      status: 'active',
      contained: [
        {
          resourceType: 'ValueSet',
          id: 'inner',
          status: 'active',
          compose: { include: [{ system: TREE, concept: [{ code: 'child2b' }, { code: 'root3' }] }] },
        },
      ],
      compose: { include: [{ valueSet: ['#inner', `${VS}red`] }] },
    };
    const result = expandValueSet(ctx, vs, {});
    expect(codes(result)).toEqual(['child2b']);
    expect(params(result)).toEqual([`used-codesystem=${TREE}|1.0.0`, `used-valueset=${VS}red|1.0.0`]);
  });

  test('a circular import is refused with the pathway', () => {
    const a = valueSet('a', { include: [{ system: LANG }, { valueSet: [`${VS}b`] }] });
    const b = valueSet('b', { include: [{ system: LANG }], exclude: [{ valueSet: [`${VS}a`] }] });
    const ctx = fixtureContext([a, b]);
    const e = expectError(
      () => expandValueSet(ctx, a, {}),
      422,
      `Found a circularity pointing to ${VS}a|1.0.0 processing ValueSet with pathway [${VS}a|1.0.0, ${VS}b|1.0.0]`,
    );
    expect(e.outcome.issue?.[0]?.code).toBe('processing');
  });

  test('the implicit value set of a code system (CodeSystem.valueSet and ?vs)', () => {
    const ctx = fixtureContext();
    for (const url of [`${VS}tree-all-implicit`, `${TREE}?vs`]) {
      const vs = resolveValueSetReference(ctx, url);
      expect(vs?.url).toBe(url);
      expect(codes(expandValueSet(ctx, vs as ValueSet, { excludeNested: true }))).toHaveLength(7);
    }
    expect(resolveValueSetReference(ctx, `${VS}nothing`)).toBeUndefined();
  });

  test('a value set given only as an expansion is taken as it is', () => {
    const ctx = fixtureContext();
    const vs: ValueSet = {
      resourceType: 'ValueSet',
      url: `${VS}pre`,
      status: 'active',
      expansion: {
        timestamp: '2024-01-01T00:00:00Z',
        contains: [
          { system: TREE, code: 'root1', display: 'Heart examination' },
          { system: TREE, code: 'root3', display: 'Kidney function' },
        ],
      },
    };
    const result = expandValueSet(ctx, vs, { count: 1 });
    expect(result.expansion?.total).toBe(2);
    expect(result.expansion?.contains).toEqual([{ system: TREE, code: 'root1', display: 'Heart examination' }]);
  });
});

describe('hierarchy and paging', () => {
  const ctx = fixtureContext();
  test('a whole code system keeps its hierarchy unless excludeNested', () => {
    expect(tree(expandValueSet(ctx, ALL, {}).expansion?.contains)).toEqual([
      'root1',
      ['root2', [['child2a', ['leaf2aI', 'leaf2aII']], 'child2b']],
      'root3',
    ]);
    expect(tree(expandValueSet(ctx, ALL, { excludeNested: true }).expansion?.contains)).toHaveLength(7);
  });

  test('codes whose parent is left out hang from the nearest ancestor kept', () => {
    const result = expandValueSet(ctx, ALL, { activeOnly: true });
    expect(tree(result.expansion?.contains)).toEqual([
      'root1',
      ['child2a', ['leaf2aI', 'leaf2aII']],
      'child2b',
      'root3',
    ]);
  });

  test('an enumeration is flat', () => {
    const vs = valueSet('e', { include: [{ system: TREE, concept: [{ code: 'root2' }, { code: 'child2a' }] }] });
    expect(tree(expandValueSet(ctx, vs, {}).expansion?.contains)).toEqual(['root2', 'child2a']);
  });

  test.each<[string, { offset?: number; count?: number }, string[], number | undefined]>([
    ['count', { count: 2 }, ['root1', 'root2'], undefined],
    ['offset', { offset: 5 }, ['child2b', 'root3'], 5],
    ['offset and count', { offset: 2, count: 2 }, ['child2a', 'leaf2aI'], 2],
    ['count 0', { count: 0 }, [], undefined],
    ['past the end', { offset: 10, count: 5 }, [], 10],
  ])('paging: %s', (_name, page, expected, offset) => {
    const result = expandValueSet(ctx, ALL, page);
    expect(tree(result.expansion?.contains)).toEqual(expected);
    expect(result.expansion?.total).toBe(7);
    expect(result.expansion?.offset).toBe(offset);
  });

  test('a count larger than the expansion keeps the hierarchy', () => {
    const result = expandValueSet(ctx, ALL, { count: 100 });
    expect(tree(result.expansion?.contains)).toHaveLength(3);
    expect(params(result)).toContain('count=100');
  });

  test('an expansion above the limit without count is too costly; with count it is paged', () => {
    const big = valueSet('big', { include: [{ system: 'http://example.org/big' }] });
    const c = fixtureContext([bigCodeSystem('http://example.org/big', 30)]);
    const e = expectError(
      () => expandValueSet(c, big, { maxExpansionSize: 20 }),
      422,
      `The value set '${VS}big|1.0.0' expansion has too many codes to produce (>20)`,
    );
    expect(e.outcome.issue?.[0]?.code).toBe('too-costly');
    // every issue carries a tx-issue-type coding (tx-ecosystem IG requirements; tests since 1.9.4)
    expect(e.outcome.issue?.[0]?.details?.coding).toEqual([
      { system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: 'too-costly' },
    ]);
    const paged = expandValueSet(c, big, { maxExpansionSize: 20, offset: 10, count: 5 });
    expect(codes(paged)).toEqual(['c11', 'c12', 'c13', 'c14', 'c15']);
    expect(paged.expansion?.total).toBe(30);
  });
});

describe('text filter', () => {
  const ctx = fixtureContext();
  test.each<[string, string, string[]]>([
    ['a word prefix', 'lun', ['root2', 'child2a', 'leaf2aI', 'leaf2aII', 'child2b']],
    ['case-insensitive, all words must match', 'LUNG sou', ['child2a', 'leaf2aI', 'leaf2aII']],
    ['inside a word does not match', 'ung', []],
    ['designations are searched', 'hjerte', ['root1']],
    ['codes are searched', 'leaf2aii', ['leaf2aII']],
  ])('%s', (_name, filter, expected) => {
    const result = expandValueSet(ctx, ALL, { filter, excludeNested: true });
    expect(codes(result)).toEqual(expected);
    expect(params(result)).toContain(`filter=${filter}`);
  });

  test('a search over a whole code system is flat; over a hierarchy filter it nests', () => {
    expect(tree(expandValueSet(ctx, ALL, { filter: 'lung' }).expansion?.contains)).toHaveLength(5);
    const isa = valueSet('isa', {
      include: [{ system: TREE, filter: [{ property: 'concept', op: 'is-a', value: 'root2' }] }],
    });
    expect(tree(expandValueSet(ctx, isa, { filter: 'lung' }).expansion?.contains)).toEqual([
      ['root2', [['child2a', ['leaf2aI', 'leaf2aII']], 'child2b']],
    ]);
  });

  test('repeated searches of a large expansion give the same answers as the first (indexed)', () => {
    const c = fixtureContext([bigCodeSystem('http://example.org/big', 500)]);
    const big = valueSet('big', { include: [{ system: 'http://example.org/big' }] });
    const first = expandValueSet(c, big, { filter: 'display 12', count: 50 });
    const second = expandValueSet(c, big, { filter: 'display 12', count: 50 });
    const third = expandValueSet(c, big, { filter: '12 display', count: 50 });
    expect(codes(first)).toEqual([
      'c12',
      'c120',
      'c121',
      'c122',
      'c123',
      'c124',
      'c125',
      'c126',
      'c127',
      'c128',
      'c129',
    ]);
    expect(codes(second)).toEqual(codes(first));
    expect(codes(third)).toEqual(codes(first));
    expect(second.expansion?.total).toBe(11);
  });
});

describe('display language and designations', () => {
  const ctx = fixtureContext();
  const LANG_ALL = valueSet('lang', { include: [{ system: LANG }] });
  const PREF = {
    system: 'http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra',
    code: 'preferredForLanguage',
    display: 'Preferred For Language',
  };

  test.each<[string, string | undefined, string | undefined, (string | undefined)[]]>([
    ['none', undefined, undefined, ['Apple', 'Pear', 'Plum']],
    ['the code system language', 'en', undefined, ['Apple', 'Pear', 'Plum']],
    ['de: de-CH counts; others fall back', 'de', undefined, ['Apfel', 'Birne', 'Plum']],
    ['de, *; q=0: no fallback', 'de,*; q=0', undefined, ['Apfel', 'Birne', undefined]],
    ['header when no parameter', undefined, 'es', ['Apple', 'Pera', 'Ciruela']],
    ['parameter over header', 'de', 'es', ['Apfel', 'Birne', 'Plum']],
  ])('%s', (_name, displayLanguage, acceptLanguage, displays) => {
    const result = expandValueSet(ctx, LANG_ALL, { displayLanguage, acceptLanguage });
    expect(flat(result.expansion?.contains).map((c) => c.display)).toEqual(displays);
  });

  test('a translated display moves the original into the designations', () => {
    const result = expandValueSet(ctx, LANG_ALL, { displayLanguage: 'de', includeDesignations: true });
    expect(find(result, 'b').designation).toEqual([
      { language: 'en', use: PREF, value: 'Pear' },
      { language: 'es', value: 'Pera' },
    ]);
    expect(find(result, 'c').designation).toEqual([{ language: 'es', value: 'Ciruela' }]);
    expect(params(result)).toContain('displayLanguage=de');
  });

  test('the language list is echoed as written, or in the reference form when it gives weights', () => {
    // without weights: the client's own form
    expect(params(expandValueSet(ctx, LANG_ALL, { displayLanguage: 'de,*' }))).toContain('displayLanguage=de,*');
    expect(params(expandValueSet(ctx, LANG_ALL, { displayLanguage: 'en,it,*' }))).toContain('displayLanguage=en,it,*');
    // with weights: `tag; q=value`, entries separated by ', ' (tx-ecosystem 1.9.3 language-xform-*-hard)
    for (const given of ['de,*;q=0', 'de,*; q=0', 'de , * ;q = 0', 'de, *; q=0']) {
      expect(params(expandValueSet(ctx, LANG_ALL, { displayLanguage: given }))).toContain('displayLanguage=de, *; q=0');
    }
  });

  test('the value set expansion-parameter extension sets the language', () => {
    const vs = valueSet('lang-de', {
      extension: [
        {
          url: 'http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter',
          extension: [
            { url: 'name', valueCode: 'displayLanguage' },
            { url: 'value', valueCode: 'de' },
          ],
        },
      ],
      include: [{ system: LANG }],
    });
    const result = expandValueSet(ctx, vs, { acceptLanguage: 'es' });
    expect(find(result, 'a').display).toBe('Apfel');
    expect(params(result)).toContain('displayLanguage=de');
  });

  test('designation parameters select designations by language', () => {
    const result = expandValueSet(ctx, LANG_ALL, {
      includeDesignations: true,
      designations: ['urn:ietf:bcp:47|es'],
    });
    expect(find(result, 'a').designation).toBeUndefined();
    expect(find(result, 'b').designation).toEqual([{ language: 'es', value: 'Pera' }]);
  });
});

describe('properties, status and supplements', () => {
  const ctx = fixtureContext();

  test('a retired code is abstract, inactive and carries its status', () => {
    const c = find(expandValueSet(ctx, ALL, {}), 'root2');
    expect(c.abstract).toBe(true);
    expect(c.inactive).toBe(true);
    expect(props(c)).toEqual(['status=retired']);
  });

  test('requested properties and definition, declared in expansion.property', () => {
    const result = expandValueSet(ctx, ALL, { properties: ['colour', 'definition'] });
    expect(props(find(result, 'root1'))).toEqual(['colour=red', 'definition=The first root', 'order=3']);
    expect(props(find(result, 'root3'))).toEqual([]);
    expect(declared(result)).toEqual([
      'colour|http://example.org/colour',
      'definition|http://hl7.org/fhir/concept-properties#definition',
      'order|http://hl7.org/fhir/concept-properties#order',
      'status|http://hl7.org/fhir/concept-properties#status',
    ]);
    // `property` is not echoed (tx-ecosystem parameters-expand-*-property)
    expect(params(result).some((p) => p.startsWith('property='))).toBe(false);
  });

  test('a supplement asked for adds designations and label, and is reported', () => {
    const result = expandValueSet(ctx, ALL, { useSupplements: [SUPP], includeDesignations: true, excludeNested: true });
    const c = find(result, 'root1');
    expect(c.designation).toEqual([
      { language: 'nb', value: 'Hjerteundersøkelse' },
      { language: 'de', value: 'Herzuntersuchung' },
    ]);
    expect(props(c)).toEqual(['label=a)', 'order=3']);
    expect(params(result)).toContain(`used-supplement=${SUPP}|0.1.0`);
  });

  test('a supplement that cannot be found fails the expansion', () => {
    const e = expectError(
      () => expandValueSet(ctx, ALL, { useSupplements: [`${SUPP}-x`] }),
      422,
      `Required supplement not found: ${SUPP}-x`,
    );
    expect(e.outcome.issue?.[0]?.code).toBe('not-found');
  });

  test('without includeDefinition the compose is left out; with it, kept', () => {
    expect(expandValueSet(ctx, ALL, {}).compose).toBeUndefined();
    expect(expandValueSet(ctx, ALL, { includeDefinition: true }).compose).toEqual(ALL.compose);
  });
});

describe('code system versions', () => {
  const ctx = fixtureContext();
  const versionless = valueSet('v-n', { include: [{ system: VER }] });
  const pinned10 = valueSet('v-10', { include: [{ system: VER, version: '1.0.0' }] });
  const wildcard = valueSet('v-w', { include: [{ system: VER, version: '1.x' }] });

  test.each<[string, ValueSet, Partial<VersionRules>, string[], string[]]>([
    ['newest by default', versionless, {}, ['x', 'y', 'z'], [`used-codesystem=${VER}|1.2.0`]],
    ['pinned', pinned10, {}, ['x', 'y'], [`used-codesystem=${VER}|1.0.0`]],
    ['wildcard', wildcard, {}, ['x', 'y', 'z'], [`used-codesystem=${VER}|1.2.0`]],
    [
      'system-version applies to a versionless include, and is echoed',
      versionless,
      { defaults: new Map([[VER, '1.0.0']]) },
      ['x', 'y'],
      [`system-version=${VER}|1.0.0`, `used-codesystem=${VER}|1.0.0`],
    ],
    [
      'system-version does not override a pinned include',
      pinned10,
      { defaults: new Map([[VER, '1.2.0']]) },
      ['x', 'y'],
      [`used-codesystem=${VER}|1.0.0`],
    ],
    [
      'force-system-version overrides, and is echoed',
      wildcard,
      { forces: new Map([[VER, '1.0.x']]) },
      ['x', 'y'],
      [`force-system-version=${VER}|1.0.x`, `used-codesystem=${VER}|1.0.0`],
    ],
    [
      'check-system-version picks the version of a versionless include',
      versionless,
      { checks: new Map([[VER, '1.0.x']]) },
      ['x', 'y'],
      [`check-system-version=${VER}|1.0.x`, `used-codesystem=${VER}|1.0.0`],
    ],
  ])('%s', (_name, vs, r, expected, parameters) => {
    const result = expandValueSet(ctx, vs, { rules: rules(r), excludeNested: true });
    expect(codes(result)).toEqual(expected);
    expect(params(result)).toEqual(['excludeNested=true', ...parameters].sort());
  });

  test('check-system-version refuses another version', () => {
    const e = expectError(
      () => expandValueSet(ctx, wildcard, { rules: rules({ checks: new Map([[VER, '1.0.x']]) }) }),
      400,
      `The version '1.2.0' is not allowed for system '${VER}': required to be '1.0.x' by a version-check parameter`,
    );
    expect(e.outcome.issue?.[0]?.details?.coding?.[0]?.code).toBe('version-error');
  });

  test('an unknown version lists the known ones', () => {
    const vs = valueSet('v-bad', { include: [{ system: VER, version: '1' }] });
    expectError(
      () => expandValueSet(ctx, vs, {}),
      422,
      `A definition for CodeSystem '${VER}' version '1' could not be found, so the value set cannot be expanded. Valid versions: 1.0.0 or 1.2.0`,
    );
  });

  test('one system in two versions: codes carry their version', () => {
    const vs = valueSet('mixed', {
      include: [
        { system: VER, version: '1.0.0', concept: [{ code: 'x' }] },
        { system: VER, version: '1.2.0', concept: [{ code: 'y' }] },
      ],
    });
    const result = expandValueSet(ctx, vs, {});
    expect(flat(result.expansion?.contains).map((c) => `${c.code}|${c.version}`)).toEqual(['y|1.2.0', 'x|1.0.0']);
    expect(params(result)).toEqual([`used-codesystem=${VER}|1.0.0`, `used-codesystem=${VER}|1.2.0`]);
  });

  test('a cached expansion is redone when the store grows', () => {
    const store = fixtureContext().store;
    expect(codes(expandValueSet(new TxContext(store), versionless))).toEqual(['x', 'y', 'z']);
    store.add(versionedCodeSystem('2.0.0', ['w']));
    expect(codes(expandValueSet(new TxContext(store), versionless))).toEqual(['w']);
  });
});

describe('expansion metadata', () => {
  test('identifier, timestamp, total; no expansion.offset unless asked', () => {
    const result = expandValueSet(fixtureContext(), ALL, {});
    expect(result.expansion?.identifier).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(result.expansion?.timestamp ?? ''))).toBe(false);
    expect(result.expansion?.total).toBe(7);
    expect(result.expansion?.offset).toBeUndefined();
    expect(result.url).toBe(ALL.url);
  });
});
