import type { CodeSystem, ConceptMap, ConceptMapGroupElement } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { TxContext } from '../../src/terminology/context.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { translateCode } from '../../src/terminology/translate.ts';
import { propertyRuns } from '../support/property.ts';

/**
 * $translate, forward and in reverse, reads one map the same way: for generated R4 ConceptMaps
 * (targets with every equivalence, unmatched elements with and without a code), translating a
 * source code gives exactly the targets its element lists; translating a target code in reverse
 * gives exactly the source codes whose elements list it; and `result` is true exactly when some
 * match is a translation (R4: "can only be true if at least one returned match has an
 * equivalence which is not unmatched or disjoint").
 */

const SRC = 'http://example.org/fhir/CodeSystem/src';
const TGT = 'http://example.org/fhir/CodeSystem/tgt';
const N = 5;
const EQUIVALENCES = [
  'equivalent',
  'equal',
  'wider',
  'narrower',
  'relatedto',
  'inexact',
  'subsumes',
  'specializes',
  'disjoint',
  'unmatched',
] as const;
type Equivalence = (typeof EQUIVALENCES)[number];

interface GenTarget {
  code: number | null;
  equivalence: Equivalence;
}

const targetArb: fc.Arbitrary<GenTarget> = fc
  .record({ code: fc.option(fc.nat(N - 1), { nil: null, freq: 6 }), equivalence: fc.constantFrom(...EQUIVALENCES) })
  // only `unmatched` may leave the code out (R4 cmd-1)
  .map((t) => (t.code === null ? { code: null, equivalence: 'unmatched' as const } : t));

// an element without a mapping (unmatched, no code: R5 noMap) has no other target (R5 cmd-4)
const elementArb: fc.Arbitrary<GenTarget[]> = fc.oneof(
  fc
    .uniqueArray(targetArb, { maxLength: 3, selector: (t) => t.code ?? -1 })
    .map((ts) => ts.filter((t) => t.code !== null)),
  fc.constant<GenTarget[]>([{ code: null, equivalence: 'unmatched' }]),
);
const mapArb = fc.array(elementArb, { minLength: N, maxLength: N });

function codeSystem(url: string, prefix: string): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url,
    version: '1',
    status: 'active',
    content: 'complete',
    concept: Array.from({ length: N }, (_, i) => ({ code: `${prefix}${i}`, display: `${prefix} ${i}` })),
  };
}

function conceptMap(elements: GenTarget[][]): ConceptMap {
  return {
    resourceType: 'ConceptMap',
    url: 'http://example.org/fhir/ConceptMap/gen',
    version: '1',
    status: 'active',
    group: [
      {
        source: SRC,
        target: TGT,
        element: elements
          .map(
            (targets, i): ConceptMapGroupElement => ({
              code: `s${i}`,
              target: targets.map((t) => ({
                ...(t.code !== null ? { code: `t${t.code}` } : {}),
                equivalence: t.equivalence,
              })),
            }),
          )
          .filter((e) => (e.target?.length ?? 0) > 0),
      },
    ],
  };
}

const isTranslationEquivalence = (e: Equivalence): boolean => e !== 'disjoint' && e !== 'unmatched';

describe('$translate agrees with itself', () => {
  test('forward, in reverse and result as the map states them', () => {
    fc.assert(
      fc.property(mapArb, (elements) => {
        const store = new TerminologyStore();
        store.add(codeSystem(SRC, 's'));
        store.add(codeSystem(TGT, 't'));
        const map = conceptMap(elements);
        store.add(map);
        const ctx = new TxContext(store);
        for (let i = 0; i < N; i++) {
          const stated = elements[i].filter((t) => t.code !== null);
          const forward = translateCode(ctx, { codings: [{ system: SRC, code: `s${i}` }], conceptMaps: [map] });
          const got = forward.matches.filter((m) => m.concept).map((m) => `${m.concept?.code} ${m.equivalence}`);
          expect(got.sort(), `s${i}`).toEqual(stated.map((t) => `t${t.code} ${t.equivalence}`).sort());
          expect(forward.result, `result of s${i}`).toBe(stated.some((t) => isTranslationEquivalence(t.equivalence)));
          // an element that says there is no mapping is one match that says so
          const noMap = elements[i].some((t) => t.code === null);
          expect(forward.matches.filter((m) => m.noMap).length, `noMap of s${i}`).toBe(noMap ? 1 : 0);
        }
        for (let j = 0; j < N; j++) {
          const reverse = translateCode(ctx, {
            codings: [{ system: TGT, code: `t${j}` }],
            conceptMaps: [map],
            reverse: true,
          });
          const sources = reverse.matches.filter((m) => m.source).map((m) => `${m.source?.code} ${m.equivalence}`);
          const expected = elements.flatMap((targets, i) =>
            targets.filter((t) => t.code === j).map((t) => `s${i} ${t.equivalence}`),
          );
          expect(sources.sort(), `t${j} in reverse`).toEqual(expected.sort());
        }
      }),
      propertyRuns(500),
    );
  });
});
