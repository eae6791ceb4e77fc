import type { ConceptMap } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { TerminologyStore, type TxResource } from '../../src/terminology/store.ts';
import {
  conceptMapsByUrl,
  normalizeConceptMap,
  type TranslateInput,
  translateCode,
} from '../../src/terminology/translate.ts';
import {
  MAP_URL,
  OTHER_CS,
  otherConceptMap,
  r4ConceptMap,
  r5ConceptMap,
  SIMPLE_URL,
  SOURCE_CS,
  SOURCE_VS,
  sourceCodeSystem,
  sourceValueSet,
  TARGET_CS,
  TARGET_VS,
  targetCodeSystem,
  targetValueSet,
} from './lookup-translate-fixtures.ts';

const ORIGIN = `${MAP_URL}|0.1.0`;

function context(map: ConceptMap, extra: TxResource[] = []): TxContext {
  return new TxContext(new TerminologyStore(), [
    sourceCodeSystem(),
    targetCodeSystem(),
    sourceValueSet(),
    targetValueSet(),
    map,
    ...extra,
  ]);
}

function forward(code: string, more: Partial<TranslateInput> = {}): TranslateInput {
  return { codings: [{ system: SOURCE_CS, code }], ...more };
}

function errorOf(fn: () => unknown): OperationOutcomeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err;
    throw err;
  }
  throw new Error('expected an OperationOutcomeError');
}

// the same expectations hold for the map in R5 form and as the runner converts it to R4
describe.each([
  { form: 'R5', map: r5ConceptMap },
  { form: 'R4', map: r4ConceptMap },
])('translateCode, $form ConceptMap', ({ map }) => {
  test.each([
    { code: 'code-1', target: 'code1', relationship: 'equivalent', equivalence: 'equivalent' },
    { code: 'code-2', target: 'code2', relationship: 'source-is-broader-than-target', equivalence: 'narrower' },
    { code: 'code-3', target: 'code3', relationship: 'source-is-narrower-than-target', equivalence: 'wider' },
  ])('forward $code -> $target', ({ code, target, relationship, equivalence }) => {
    const r = translateCode(context(map()), forward(code, { targetSystem: TARGET_CS }));
    expect(r.result).toBe(true);
    expect(r.message).toBeUndefined();
    expect(r.matches).toHaveLength(1);
    expect(r.matches[0]).toMatchObject({
      relationship,
      equivalence,
      concept: { system: TARGET_CS, code: target },
      originMap: ORIGIN,
    });
  });

  test('a comment travels with the match', () => {
    expect(translateCode(context(map()), forward('code-3')).matches[0].comment).toBe('roughly');
  });

  test('not-related-to is a match, but not a result', () => {
    const r = translateCode(context(map()), forward('code-2b'));
    expect(r.result).toBe(false);
    expect(r.message).toBe(`The code '${SOURCE_CS}#code-2b' is mapped, but only to say that it has no equivalent`);
    expect(r.matches.map((m) => [m.concept.code, m.relationship])).toEqual([['code2b', 'not-related-to']]);
  });

  test('unmapped fixed for a code without an element', () => {
    const r = translateCode(context(map()), forward('code-4'));
    expect(r.result).toBe(true);
    expect(r.matches).toEqual([
      {
        relationship: 'related-to',
        equivalence: 'relatedto',
        concept: { system: TARGET_CS, code: 'temp' },
        originMap: ORIGIN,
        product: [],
      },
    ]);
  });

  test('noMap elements get no unmapped answer', () => {
    const r = translateCode(context(map()), forward('code-6'));
    expect([r.result, r.matches]).toEqual([false, []]);
    expect(r.message).toBe(`No translation found for the code '${SOURCE_CS}#code-6'`);
  });

  test('unmapped does not apply to codes the source system does not have', () => {
    expect(translateCode(context(map()), forward('code-99')).matches).toEqual([]);
  });

  test('reverse: the target code asked about, and the source code that maps to it', () => {
    const r = translateCode(context(map()), {
      codings: [{ system: TARGET_CS, code: 'code1' }],
      reverse: true,
      sourceSystem: SOURCE_CS,
    });
    expect(r).toEqual({
      result: true,
      matches: [
        {
          relationship: 'equivalent',
          equivalence: 'equivalent',
          concept: { system: TARGET_CS, code: 'code1' },
          source: { system: SOURCE_CS, code: 'code-1' },
          originMap: ORIGIN,
          product: [],
        },
      ],
    });
  });

  test.each([
    { name: 'other target system', more: { targetSystem: SIMPLE_URL }, result: false },
    { name: 'matching source scope', more: { sourceScope: SOURCE_VS }, result: true },
    { name: 'versioned source scope', more: { sourceScope: `${SOURCE_VS}|5.0.0` }, result: true },
    { name: 'other source scope', more: { sourceScope: TARGET_VS }, result: false },
    { name: 'matching target scope', more: { targetScope: TARGET_VS }, result: true },
    { name: 'other target scope', more: { targetScope: SOURCE_VS }, result: false },
  ])('filters: $name', ({ more, result }) => {
    expect(translateCode(context(map()), forward('code-1', more)).result).toBe(result);
  });
});

describe('translateCode', () => {
  test('no map for the system', () => {
    const r = translateCode(context(r5ConceptMap()), { codings: [{ system: 'http://example.org/x', code: 'a' }] });
    expect(r).toEqual({
      result: false,
      message: "No ConceptMap is known that maps the code 'http://example.org/x#a'",
      matches: [],
    });
  });

  test('two tx-resources with one canonical are both used', () => {
    const ctx = context(r5ConceptMap(), [otherConceptMap()]);
    expect(translateCode(ctx, forward('code-1')).matches.map((m) => m.concept.code)).toEqual(['code1']);
    const other = translateCode(ctx, { codings: [{ system: OTHER_CS, code: 'code-1' }] });
    expect(other.matches.map((m) => m.concept)).toEqual([{ system: SIMPLE_URL, code: 'code1' }]);
  });

  test('named maps only', () => {
    const ctx = context(r5ConceptMap(), [otherConceptMap()]);
    const r = translateCode(ctx, { ...forward('code-1'), conceptMaps: [otherConceptMap()] });
    expect(r.matches).toEqual([]);
  });

  test('unmapped use-source-code (R5) and provided (R4)', () => {
    for (const mode of ['use-source-code', 'provided']) {
      const r = translateCode(context(r5ConceptMap({ mode })), forward('code-5'));
      expect(r.matches.map((m) => [m.concept, m.relationship])).toEqual([
        [{ system: TARGET_CS, code: 'code-5' }, 'equivalent'],
      ]);
    }
  });

  test('unmapped other-map follows the other map', () => {
    const next: ConceptMap = {
      resourceType: 'ConceptMap',
      url: 'http://example.org/fhir/ConceptMap/next',
      version: '1',
      status: 'draft',
      group: [
        {
          source: SOURCE_CS,
          target: TARGET_CS,
          element: [{ code: 'code-5', target: [{ code: 'code3', equivalence: 'inexact' }] }],
        },
      ],
    };
    const r = translateCode(
      context(r5ConceptMap({ mode: 'other-map', otherMap: 'http://example.org/fhir/ConceptMap/next' }), [next]),
      {
        ...forward('code-5'),
        conceptMaps: [r5ConceptMap({ mode: 'other-map', otherMap: 'http://example.org/fhir/ConceptMap/next' })],
      },
    );
    expect(r.matches.map((m) => [m.concept.code, m.equivalence, m.relationship, m.originMap])).toEqual([
      ['code3', 'inexact', 'related-to', 'http://example.org/fhir/ConceptMap/next|1'],
    ]);
  });

  test('a group without source takes the systems of the source value set', () => {
    const map = r4ConceptMap();
    delete map.group![0].source;
    const r = translateCode(context(map), forward('code-1'));
    expect(r.matches.map((m) => m.concept.code)).toEqual(['code1']);
  });

  test('each coding of a CodeableConcept is translated', () => {
    const r = translateCode(context(r5ConceptMap()), {
      codings: [
        { system: SOURCE_CS, code: 'code-1' },
        { system: 'http://example.org/x', code: 'zz' },
        { system: SOURCE_CS, code: 'code-2' },
      ],
    });
    expect(r.matches.map((m) => m.concept.code)).toEqual(['code1', 'code2']);
  });

  test('product of an R4 map', () => {
    const map = r4ConceptMap();
    map.group![0].element![0].target![0].product = [
      { property: 'http://example.org/prop', system: TARGET_CS, value: 'code2', display: 'Two' },
    ];
    const r = translateCode(context(map), forward('code-1'));
    expect(r.matches[0].product).toEqual([
      { property: 'http://example.org/prop', system: TARGET_CS, value: 'code2', display: 'Two' },
    ]);
  });
});

describe('conceptMapsByUrl', () => {
  test('every copy of the canonical', () => {
    const ctx = context(r5ConceptMap(), [otherConceptMap()]);
    expect(conceptMapsByUrl(ctx, MAP_URL, undefined)).toHaveLength(2);
    expect(conceptMapsByUrl(ctx, `${MAP_URL}|0.1.0`, undefined)).toHaveLength(2);
  });

  test('the newest version for a plain url', () => {
    const store = new TerminologyStore();
    store.add({ ...r4ConceptMap(), id: 'a', version: '0.9.0' });
    store.add({ ...r4ConceptMap(), id: 'b', version: '0.10.0' });
    expect(conceptMapsByUrl(new TxContext(store), MAP_URL, undefined).map((m) => m.version)).toEqual(['0.10.0']);
  });

  test('404 for an unknown map', () => {
    const err = errorOf(() => conceptMapsByUrl(context(r5ConceptMap()), MAP_URL, '9'));
    expect(err.status).toBe(404);
    expect(err.outcome.issue![0].details!.text).toBe(
      `A definition for the ConceptMap '${MAP_URL}' version '9' could not be found`,
    );
  });
});

describe('normalizeConceptMap', () => {
  test('R4 and R5 forms read the same', () => {
    const strip = (m: ConceptMap) => {
      const { resource: _r, ...rest } = normalizeConceptMap(m);
      return rest;
    };
    const r5 = strip(r5ConceptMap());
    const r4 = strip(r4ConceptMap());
    // R5 relationships come out with the R4 equivalence that stands for them
    expect(r4.groups[0].elements.map((e) => e.targets.map((t) => t.relationship))).toEqual(
      r5.groups[0].elements.map((e) => e.targets.map((t) => t.relationship)),
    );
    expect([r4.sourceScope, r4.targetScope, r4.groups[0].unmapped]).toEqual([
      r5.sourceScope,
      r5.targetScope,
      r5.groups[0].unmapped,
    ]);
    expect(r4.groups[0].elements[4].noMap).toBe(true);
    expect(r5.groups[0].elements[4].noMap).toBe(true);
  });
});
