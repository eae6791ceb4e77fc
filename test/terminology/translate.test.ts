import type { ConceptMap } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { translateResultToParameters } from '../../src/operations/conceptmap-translate.ts';
import { normalizeConceptMap } from '../../src/terminology/conceptmap.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { TerminologyStore, type TxResource } from '../../src/terminology/store.ts';
import {
  conceptMapsByUrl,
  type TranslateInput,
  type TranslateResult,
  translateCode,
} from '../../src/terminology/translate.ts';
import { expectValidFhir } from '../support/fhir.ts';
import {
  asR4,
  chainMap,
  ELEMENT_COMMENT_6,
  fullConceptMap,
  MAP_URL,
  mapTerminology,
  OTHER_CS,
  otherConceptMap,
  PROP,
  SIMPLE_URL,
  SOURCE_CS,
  SOURCE_VS,
  TARGET_CS,
  TARGET_VS,
} from './lookup-translate-fixtures.ts';

const ORIGIN = `${MAP_URL}|0.1.0`;
const CHAIN = 'http://example.org/fhir/ConceptMap/';

function context(...maps: TxResource[]): TxContext {
  return new TxContext(new TerminologyStore(), [...mapTerminology(), ...maps]);
}

/** translateCode, with the Parameters it renders checked against FHIR R4 as well. */
function translate(ctx: TxContext, input: TranslateInput): TranslateResult {
  const result = translateCode(ctx, input);
  expectValidFhir(translateResultToParameters(result));
  return result;
}

function forward(code: string, more: Partial<TranslateInput> = {}): TranslateInput {
  return { codings: [{ system: SOURCE_CS, code }], targetSystem: TARGET_CS, ...more };
}

function errorOf(fn: () => unknown): OperationOutcomeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      expectValidFhir(err.outcome);
      return err;
    }
    throw err;
  }
  throw new Error('expected an OperationOutcomeError');
}

/** What the tests look at in a match: concept code, relationship, R4 equivalence. */
const brief = (r: TranslateResult) => r.matches.map((m) => [m.concept?.code, m.relationship, m.equivalence]);

// every behaviour holds for the map as the tests write it (R5) and as the runner sends it to an
// R4 server (relationship -> equivalence, noMap -> an `unmatched` target, unmapped mode
// use-source-code -> provided, otherMap -> url, unmapped.relationship -> extension)
describe.each([
  { form: 'R5', r4: false, as: (m: ConceptMap) => m },
  { form: 'R4', r4: true, as: asR4 },
])('translateCode, $form ConceptMap', ({ r4, as }) => {
  const full = (unmapped?: Record<string, unknown>) => context(as(fullConceptMap(unmapped)));

  test.each([
    { code: 'code-1', target: 'code1', relationship: 'equivalent', equivalence: 'equivalent' },
    { code: 'code-2', target: 'code2', relationship: 'source-is-broader-than-target', equivalence: 'narrower' },
    { code: 'code-3', target: 'code3', relationship: 'source-is-narrower-than-target', equivalence: 'wider' },
  ])('$code -> $target ($relationship)', ({ code, target, relationship, equivalence }) => {
    const r = translate(full(), forward(code));
    expect(r.result).toBe(true);
    expect(r.message).toBeUndefined();
    expect(brief(r)).toEqual([[target, relationship, r4 ? equivalence : undefined]]);
    expect(r.matches[0]).toMatchObject({ concept: { system: TARGET_CS, code: target }, originMap: ORIGIN });
    expect(r.usedConceptMaps).toEqual([]);
  });

  test('not-related-to is returned as a match, but the result is false, without a message', () => {
    const r = translate(full(), forward('code-7'));
    expect([r.result, r.message]).toEqual([false, undefined]);
    expect(brief(r)).toEqual([['code7', 'not-related-to', r4 ? 'disjoint' : undefined]]);
  });

  test('one translation among the matches makes the result true', () => {
    const r = translate(full(), forward('code-4'));
    expect(r.result).toBe(true);
    expect(brief(r)).toEqual([
      ['code4', 'related-to', r4 ? 'relatedto' : undefined],
      ['code5', 'not-related-to', r4 ? 'disjoint' : undefined],
    ]);
  });

  test('element comment is the sourceComment, target comment the targetComment, product travels', () => {
    expect(translate(full(), forward('code-3')).matches[0].sourceComment).toBe('a source concept remark');
    const two = translate(full(), forward('code-2')).matches[0];
    expect([two.sourceComment, two.targetComment]).toEqual([undefined, 'only the acute cases']);
    expect(two.product).toEqual([{ property: PROP, system: TARGET_CS, value: 'code3' }]);
  });

  test('noMap is a match naming the source concept, the result is false, unmapped does not apply', () => {
    const r = translate(full(), forward('code-6'));
    expect([r.result, r.message]).toEqual([false, undefined]);
    expect(r.matches).toEqual([
      {
        noMap: true,
        source: { system: SOURCE_CS, code: 'code-6' },
        sourceComment: 'deliberately unmapped',
        product: [],
        originMap: ORIGIN,
      },
    ]);
  });

  test.each([
    {
      unmapped: { mode: 'fixed', code: 'temp', relationship: 'related-to' },
      concept: { system: TARGET_CS, code: 'temp' },
      relationship: 'related-to',
    },
    {
      unmapped: { mode: 'fixed', code: 'temp', display: 'Temporary', relationship: 'related-to' },
      concept: { system: TARGET_CS, code: 'temp', display: 'Temporary' },
      relationship: 'related-to',
    },
    {
      unmapped: { mode: 'use-source-code', relationship: 'equivalent' },
      concept: { system: TARGET_CS, code: 'code-5' },
      relationship: 'equivalent',
    },
    { unmapped: { mode: 'use-source-code' }, concept: { system: TARGET_CS, code: 'code-5' }, relationship: undefined },
  ])('unmapped $unmapped.mode for a code without an element', ({ unmapped, concept, relationship }) => {
    const r = translate(full(unmapped), forward('code-5'));
    expect(r.result).toBe(true);
    expect(r.matches).toEqual([{ concept, ...(relationship ? { relationship } : {}), product: [], originMap: ORIGIN }]);
  });

  test('a code outside the map source scope has no applicable map, and unmapped does not reach it', () => {
    const expected = {
      result: false,
      message: `No ConceptMap that translates from '${SOURCE_CS}' to '${TARGET_CS}' has '${SOURCE_CS}#code-8' in scope`,
      reverse: false,
      matches: [],
      usedConceptMaps: [],
    };
    expect(translate(full(), forward('code-8'))).toEqual(expected);
    // naming the map does not put the code into its scope
    expect(translate(full(), forward('code-8', { conceptMaps: [as(fullConceptMap())] }))).toEqual(expected);
  });

  test.each([
    { name: 'the source value set', more: { sourceScope: SOURCE_VS }, result: true },
    { name: 'a versioned source value set', more: { sourceScope: `${SOURCE_VS}|5.0.0` }, result: true },
    { name: 'the target value set as target scope', more: { targetScope: TARGET_VS }, result: true },
    {
      name: 'both scopes, no target system',
      more: { sourceScope: SOURCE_VS, targetScope: TARGET_VS, targetSystem: undefined },
      result: true,
    },
  ])('scope parameters: $name', ({ more, result }) => {
    expect(translate(full(), forward('code-1', more)).result).toBe(result);
  });

  test('a sourceScope parameter that does not hold the code: no map can translate it, the named one neither', () => {
    const message = `'${SOURCE_CS}#code-1' is not in the value set '${TARGET_VS}', so no ConceptMap can translate it`;
    for (const more of [{}, { conceptMaps: [as(fullConceptMap())] }]) {
      const r = translate(full(), forward('code-1', { sourceScope: TARGET_VS, ...more }));
      expect([r.result, r.message, r.matches]).toEqual([false, message, []]);
    }
  });

  test('a scope value set that cannot be found is a 404', () => {
    const err = errorOf(() => translateCode(full(), forward('code-1', { sourceScope: 'http://example.org/vs/none' })));
    expect(err.status).toBe(404);
    expect(err.outcome.issue?.[0]?.details?.text).toBe(
      "The value set 'http://example.org/vs/none', which is the sourceScope parameter, could not be found, " +
        'so the scope of the translation cannot be determined',
    );
  });

  test("a map's own scope that this server cannot resolve limits nothing: its groups decide", () => {
    // R4 source[x] is often a bare URI, and core maps name value sets a server may not hold
    for (const scope of ['sourceScopeUri', 'targetScopeUri'] as const) {
      const map = { ...fullConceptMap(), [scope]: 'http://example.org/vs/not-held' };
      const ctx = context(as(map));
      const fwd = translate(ctx, forward('code-1'));
      expect([fwd.result, fwd.matches.map((m) => m.concept?.code)]).toEqual([true, ['code1']]);
      const named = translate(ctx, forward('code-1', { conceptMaps: [as(map)] }));
      expect(named.result).toBe(true);
    }
    // the code outside the scope that is held is still refused by it
    expect(translate(full(), forward('code-8')).result).toBe(false);
  });
  test('a target system no map goes to', () => {
    const r = translate(full(), forward('code-1', { targetSystem: SIMPLE_URL }));
    expect([r.result, r.message]).toEqual([
      false,
      `No ConceptMap is available to translate from '${SOURCE_CS}' to '${SIMPLE_URL}'`,
    ]);
  });

  test.each([
    { code: 'code1', source: 'code-1', relationship: 'equivalent', result: true },
    { code: 'code5', source: 'code-4', relationship: 'not-related-to', result: false },
  ])('reverse $code: the target code asked about, and the source code that maps to it', (c) => {
    const r = translate(full(), {
      codings: [{ system: TARGET_CS, code: c.code }],
      reverse: true,
      sourceSystem: SOURCE_CS,
    });
    expect(r.result).toBe(c.result);
    expect(r.matches).toMatchObject([
      {
        concept: { system: TARGET_CS, code: c.code },
        source: { system: SOURCE_CS, code: c.source },
        relationship: c.relationship,
        originMap: ORIGIN,
      },
    ]);
  });

  test('reverse: the targetScope parameter holds the target code', () => {
    const reverse = (targetScope: string) =>
      translate(full(), { codings: [{ system: TARGET_CS, code: 'code1' }], reverse: true, targetScope });
    expect(reverse(TARGET_VS).result).toBe(true);
    expect(reverse(SOURCE_VS).message).toBe(
      `'${TARGET_CS}#code1' is not in the value set '${SOURCE_VS}', so no ConceptMap can translate it`,
    );
  });
});

describe.each([
  { form: 'R5', as: (m: ConceptMap) => m },
  { form: 'R4', as: asR4 },
])('group.unmapped other-map, $form ConceptMaps', ({ as }) => {
  const other = (name: string) => ({ mode: 'other-map', otherMap: `${CHAIN}${name}` });
  const a = () =>
    as(chainMap('a', [{ code: 'code-1', target: [{ code: 'code1', relationship: 'equivalent' }] }], other('b')));
  const b = () =>
    as(chainMap('b', [{ code: 'code-5', target: [{ code: 'code5', relationship: 'equivalent' }] }], other('c')));
  const c = () => as(chainMap('c', [], { mode: 'use-source-code', relationship: 'equivalent' }));
  const chain = () => context(a(), b(), c());

  test.each([
    { code: 'code-1', concept: 'code1', used: [] },
    { code: 'code-5', concept: 'code5', used: [`${CHAIN}b|1.0.0`] },
    { code: 'code-2', concept: 'code-2', used: [`${CHAIN}b|1.0.0`, `${CHAIN}c|1.0.0`] },
  ])('$code: originMap is where the chain started, the other maps are used', ({ code, concept, used }) => {
    const r = translate(chain(), forward(code, { conceptMaps: [a()] }));
    expect(r.result).toBe(true);
    expect(r.matches).toEqual([
      {
        concept: { system: TARGET_CS, code: concept },
        relationship: 'equivalent',
        ...(r.matches[0]?.equivalence ? { equivalence: 'equivalent' } : {}),
        product: [],
        originMap: `${CHAIN}a|1.0.0`,
      },
    ]);
    expect(r.usedConceptMaps).toEqual(used);
  });

  test('found without naming: the map that defers is consulted first', () => {
    // b is listed first; a defers to b, so a goes first and its chain reports the match, which
    // b, consulted on its own after it, does not report again
    const last = as(chainMap('b', [{ code: 'code-5', target: [{ code: 'code5', relationship: 'equivalent' }] }]));
    const r = translate(context(last, a()), forward('code-5'));
    expect(r.matches.map((m) => [m.concept?.code, m.originMap])).toEqual([['code5', `${CHAIN}a|1.0.0`]]);
    expect(r.usedConceptMaps).toEqual([`${CHAIN}b|1.0.0`]);
  });

  test.each([
    {
      name: 'a cycle through another map',
      maps: () => [as(chainMap('d', [], other('e'))), as(chainMap('e', [], other('d')))],
      text: `ConceptMap ${CHAIN}e|1.0.0 has a circular group.unmapped.otherMap reference to ${CHAIN}d|1.0.0 (referenced as ${CHAIN}d)`,
      code: 'business-rule',
    },
    {
      name: 'a map naming itself, with its version',
      maps: () => [as(chainMap('d', [], { mode: 'other-map', otherMap: `${CHAIN}d|1.0.0` }))],
      text: `ConceptMap ${CHAIN}d|1.0.0 has a circular group.unmapped.otherMap reference to ${CHAIN}d|1.0.0`,
      code: 'business-rule',
    },
    {
      name: 'a map that is not there',
      maps: () => [as(chainMap('d', [], other('none')))],
      text: `The ConceptMap ${CHAIN}none named in group.unmapped.otherMap was not found`,
      code: 'not-found',
    },
  ])('422 for $name', ({ maps, text, code }) => {
    const list = maps();
    const err = errorOf(() => translateCode(context(...list), forward('code-2', { conceptMaps: [list[0]] })));
    expect(err.status).toBe(422);
    expect(err.outcome.issue?.[0]).toMatchObject({ code, details: { text } });
  });

  test('two groups deferring to one map is no cycle', () => {
    const twice = chainMap('d', [], other('c'));
    twice.group!.push(structuredClone(twice.group![0]));
    const r = translate(context(as(twice), c()), forward('code-2', { conceptMaps: [as(twice)] }));
    expect(r.matches.map((m) => m.concept?.code)).toEqual(['code-2']);
    expect(r.usedConceptMaps).toEqual([`${CHAIN}c|1.0.0`]);
  });
});

describe('translateCode', () => {
  test('unmapped is decided per group', () => {
    const map = chainMap('g', [{ code: 'code-1', target: [{ code: 'code1', relationship: 'equivalent' }] }]);
    map.group!.push({ source: SOURCE_CS, target: TARGET_CS, unmapped: { mode: 'fixed', code: 'temp' } } as never);
    const r = translate(context(map), forward('code-1', { conceptMaps: [map] }));
    expect(r.matches.map((m) => m.concept?.code)).toEqual(['code1', 'temp']);
  });

  test.each([
    {
      name: 'group.unmapped.valueSet',
      unmapped: { mode: 'fixed', valueSet: TARGET_VS },
      text: 'uses group.unmapped.valueSet, which this server does not support',
    },
    { name: 'an unknown mode', unmapped: { mode: 'guess' }, text: "uses an unknown group.unmapped.mode 'guess'" },
  ])('422 for $name', ({ unmapped, text }) => {
    const map = chainMap('u', [], unmapped);
    const err = errorOf(() => translateCode(context(map), forward('code-2', { conceptMaps: [map] })));
    expect([err.status, err.outcome.issue?.[0]?.code]).toEqual([422, 'not-supported']);
    expect(err.outcome.issue?.[0]?.details?.text).toBe(`ConceptMap ${CHAIN}u|1.0.0 ${text}`);
  });

  test('a map with nothing to say: no translations found', () => {
    const map = chainMap('n', []);
    expect(translate(context(map), forward('code-2', { conceptMaps: [map] }))).toMatchObject({
      result: false,
      message: 'No translations found',
      matches: [],
    });
  });

  test('no map for the system', () => {
    const r = translate(context(fullConceptMap()), { codings: [{ system: 'http://example.org/x', code: 'a' }] });
    expect(r).toEqual({
      result: false,
      message: "No ConceptMap is available to translate from 'http://example.org/x' to '(unspecified)'",
      reverse: false,
      matches: [],
      usedConceptMaps: [],
    });
  });

  test('two tx-resources with one canonical are both used', () => {
    const ctx = context(fullConceptMap(), otherConceptMap());
    expect(translate(ctx, forward('code-1')).matches.map((m) => m.concept?.code)).toEqual(['code1']);
    const other = translate(ctx, { codings: [{ system: OTHER_CS, code: 'code-1' }] });
    expect(other.matches.map((m) => m.concept)).toEqual([{ system: SIMPLE_URL, code: 'code1' }]);
  });

  test('only the named maps are used', () => {
    const r = translate(
      context(fullConceptMap(), otherConceptMap()),
      forward('code-1', { conceptMaps: [otherConceptMap()] }),
    );
    expect([r.result, r.message]).toEqual([false, 'No translations found']);
  });

  test('a map given without a url: translated, and no originMap (it has no canonical to name)', () => {
    const { url: _url, ...nameless } = fullConceptMap();
    const r = translate(context(), forward('code-1', { conceptMaps: [nameless as ConceptMap] }));
    expect(r.matches.map((m) => m.concept?.code)).toEqual(['code1']);
    const parts = (translateResultToParameters(r).parameter ?? []).flatMap((p) => p.part ?? []);
    expect(parts.map((p) => p.name)).not.toContain('originMap');
  });

  test('the first coding is translated', () => {
    const codings = [
      { system: SOURCE_CS, code: 'code-1' },
      { system: SOURCE_CS, code: 'code-2' },
    ];
    expect(translate(context(fullConceptMap()), { codings }).matches.map((m) => m.concept?.code)).toEqual(['code1']);
  });

  test('the most recent map first; one answer per target concept', () => {
    const older = chainMap('old', [
      {
        code: 'code-1',
        target: [
          { code: 'code1', relationship: 'related-to' },
          { code: 'code2', relationship: 'related-to' },
        ],
      },
    ]);
    older.date = '2020-01-01';
    const newer = chainMap('new', [{ code: 'code-1', target: [{ code: 'code1', relationship: 'equivalent' }] }]);
    newer.date = '2024-01-01';
    const r = translate(context(older, newer), forward('code-1'));
    expect(r.matches.map((m) => [m.concept?.code, m.relationship, m.originMap])).toEqual([
      ['code1', 'equivalent', `${CHAIN}new|1.0.0`],
      ['code2', 'related-to', `${CHAIN}old|1.0.0`],
    ]);
  });

  test.each([
    { name: 'R6 element.comment', element: { comment: 'plain' }, comment: 'plain' },
    {
      name: 'the 6.0 extension',
      element: { extension: [{ url: ELEMENT_COMMENT_6, valueString: 'six' }] },
      comment: 'six',
    },
    {
      name: 'an R4 unmatched target comment, for noMap',
      element: { target: [{ equivalence: 'unmatched', comment: 'none fits' }] },
      comment: 'none fits',
    },
  ])('sourceComment from $name', ({ element, comment }) => {
    const map = chainMap('c6', [
      { code: 'code-1', target: [{ code: 'code1', relationship: 'equivalent' }], ...element },
    ]);
    expect(translate(context(map), forward('code-1')).matches[0].sourceComment).toBe(comment);
  });
});

describe('R4 equivalences', () => {
  // an R4 map states its equivalence; the answer keeps it, and decides the result by it
  test.each([
    ['relatedto', 'related-to', true],
    ['equivalent', 'equivalent', true],
    ['equal', 'equivalent', true],
    ['wider', 'source-is-narrower-than-target', true],
    ['subsumes', 'source-is-narrower-than-target', true],
    ['narrower', 'source-is-broader-than-target', true],
    ['specializes', 'source-is-broader-than-target', true],
    ['inexact', 'related-to', true],
    ['unmatched', 'not-related-to', false],
    ['disjoint', 'not-related-to', false],
  ])('%s', (equivalence, relationship, result) => {
    // (cmd-1: a narrower or inexact map needs a comment)
    const target = { code: 'code1', equivalence: equivalence as 'equal', comment: 'see the guide' };
    const map: ConceptMap = {
      resourceType: 'ConceptMap',
      url: `${CHAIN}r4`,
      status: 'draft',
      group: [{ source: SOURCE_CS, target: TARGET_CS, element: [{ code: 'code-1', target: [target] }] }],
    };
    expectValidFhir(map);
    const r = translate(context(map), forward('code-1'));
    expect([r.result, brief(r)]).toEqual([result, [['code1', relationship, equivalence]]]);
    expect(r.matches[0].originMap).toBe(`${CHAIN}r4`);
  });
});

describe('conceptMapsByUrl', () => {
  test('every copy of the canonical', () => {
    const ctx = context(fullConceptMap(), otherConceptMap());
    expect(conceptMapsByUrl(ctx, MAP_URL, undefined)).toHaveLength(2);
    expect(conceptMapsByUrl(ctx, `${MAP_URL}|0.1.0`, undefined)).toHaveLength(2);
  });

  test('the newest version for a plain url', () => {
    const store = new TerminologyStore();
    store.add({ ...asR4(fullConceptMap()), id: 'a', version: '0.9.0' });
    store.add({ ...asR4(fullConceptMap()), id: 'b', version: '0.10.0' });
    expect(conceptMapsByUrl(new TxContext(store), MAP_URL, undefined).map((m) => m.version)).toEqual(['0.10.0']);
  });

  test.each([
    { version: '9', text: `ConceptMap not found: ${MAP_URL} version 9` },
    { version: undefined, text: 'ConceptMap not found: http://example.org/none' },
  ])('404 for an unknown map ($version)', ({ version, text }) => {
    const err = errorOf(() =>
      conceptMapsByUrl(context(fullConceptMap()), version ? MAP_URL : 'http://example.org/none', version),
    );
    expect(err.status).toBe(404);
    expect(err.outcome.issue?.[0]).toMatchObject({
      code: 'not-found',
      details: { text, coding: [{ code: 'not-found' }] },
    });
  });
});

describe('normalizeConceptMap', () => {
  test('the R5 map and its R4 form read the same, except for the R4 equivalences', () => {
    const strip = (m: ConceptMap) => {
      const { resource: _r, ...rest } = normalizeConceptMap(m);
      return JSON.parse(JSON.stringify(rest, (k, v) => (k === 'equivalence' ? undefined : v)));
    };
    expect(strip(asR4(fullConceptMap()))).toEqual(strip(fullConceptMap()));
    expect(strip(asR4(fullConceptMap({ mode: 'use-source-code' })))).toEqual(
      strip(fullConceptMap({ mode: 'use-source-code' })),
    );
    expect(strip(asR4(chainMap('x', [], { mode: 'other-map', otherMap: `${CHAIN}y` })))).toEqual(
      strip(chainMap('x', [], { mode: 'other-map', otherMap: `${CHAIN}y` })),
    );
  });

  test('the R4 form of the test maps is valid R4', () => {
    expectValidFhir(asR4(fullConceptMap()));
    expectValidFhir(
      asR4(chainMap('x', [{ code: 'code-1', noMap: true }], { mode: 'other-map', otherMap: `${CHAIN}y` })),
    );
  });
});
