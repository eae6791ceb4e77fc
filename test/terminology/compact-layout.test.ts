import type { CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { indexCodeSystem } from '../../src/terminology/codesystem-index.ts';
import { attachCompact, compactCodeSystem, shellOf } from '../../src/terminology/compact-codesystem.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { expandValueSet } from '../../src/terminology/expand.ts';
import { lookupCode } from '../../src/terminology/lookup.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { subsumes } from '../../src/terminology/subsumes.ts';
import { validateCodeInCodeSystem, validateCodeInValueSet } from '../../src/terminology/validate.ts';
import { propertyRuns } from '../support/property.ts';

/**
 * The compact layout of large code systems (compact-codesystem.ts) must answer exactly as the
 * object layout: for generated code systems (nesting and `parent` properties, several parents,
 * repeated codes, inactive/retired/abstract concepts, designations, extensions, case-insensitive
 * codes), $lookup, $validate-code, $subsumes and $expand (whole system, property filters, text
 * filter) give the same results from both.
 */

const URL = 'http://example.org/fhir/CodeSystem/compact-gen';
const WORDS = ['alfa', 'beta', 'gamma', 'delta', 'epsilon', 'Zeta', 'øre', 'æble'];

interface Gen {
  code: string;
  parent: number | null;
  byProperty: boolean;
  extraParent: number | null;
  display: string | null;
  status: 'active' | 'retired' | null;
  inactive: boolean | null;
  abstract: boolean;
  designation: string | null;
  extension: boolean;
}

const genArb = (i: number): fc.Arbitrary<Gen> =>
  fc.record({
    // a few repeated codes and codes differing only by case
    code: fc.constantFrom(`c${i}`, `c${i}`, `c${i}`, `C${i}`, `c${Math.max(0, i - 1)}`),
    parent: i === 0 ? fc.constant(null) : fc.option(fc.nat(i - 1), { nil: null }),
    byProperty: fc.boolean(),
    extraParent: i === 0 ? fc.constant(null) : fc.option(fc.nat(i - 1), { nil: null, freq: 4 }),
    display: fc.option(
      fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 }).map((w) => w.join(' ')),
      { nil: null },
    ),
    status: fc.constantFrom<'active' | 'retired' | null>('active', 'retired', null, null),
    inactive: fc.constantFrom<boolean | null>(true, false, null, null, null),
    abstract: fc.boolean(),
    designation: fc.option(fc.constantFrom(...WORDS), { nil: null, freq: 3 }),
    extension: fc.boolean(),
  });

const systemArb = fc.record({
  concepts: fc.integer({ min: 1, max: 14 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => genArb(i)))),
  caseSensitive: fc.constantFrom<boolean | undefined>(true, false, undefined),
});

function codeSystem(gens: Gen[], caseSensitive: boolean | undefined): CodeSystem {
  const elements: CodeSystemConcept[] = gens.map((g) => {
    const c: CodeSystemConcept = { code: g.code };
    if (g.display !== null) c.display = g.display;
    const property: NonNullable<CodeSystemConcept['property']> = [];
    if (g.status) property.push({ code: 'status', valueCode: g.status });
    if (g.inactive !== null) property.push({ code: 'inactive', valueBoolean: g.inactive });
    if (g.abstract) property.push({ code: 'notSelectable', valueBoolean: true });
    if (g.byProperty && g.parent !== null) property.push({ code: 'parent', valueCode: gens[g.parent].code });
    if (g.extraParent !== null) property.push({ code: 'parent', valueCode: gens[g.extraParent].code });
    if (property.length > 0) c.property = property;
    if (g.designation) c.designation = [{ language: 'nb', value: g.designation }];
    if (g.extension) c.extension = [{ url: 'http://example.org/ext', valueString: 'x' }];
    return c;
  });
  const top: CodeSystemConcept[] = [];
  gens.forEach((g, i) => {
    if (g.parent === null || g.byProperty) top.push(elements[i]);
    else {
      const p = elements[g.parent];
      p.concept = [...(p.concept ?? []), elements[i]];
    }
  });
  return {
    resourceType: 'CodeSystem',
    id: 'compact-gen',
    url: URL,
    version: '1',
    status: 'active',
    content: 'complete',
    ...(caseSensitive !== undefined ? { caseSensitive } : {}),
    hierarchyMeaning: 'is-a',
    property: [
      { code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status', type: 'code' },
      { code: 'inactive', uri: 'http://hl7.org/fhir/concept-properties#inactive', type: 'boolean' },
      { code: 'notSelectable', uri: 'http://hl7.org/fhir/concept-properties#notSelectable', type: 'boolean' },
      { code: 'parent', uri: 'http://hl7.org/fhir/concept-properties#parent', type: 'code' },
    ],
    concept: top,
  };
}

/** The same code system in both layouts, each in a store of its own. */
function stores(cs: CodeSystem): { object: TerminologyStore; compact: TerminologyStore } {
  const object = new TerminologyStore();
  object.add(structuredClone(cs));
  const compact = new TerminologyStore();
  compact.add(attachCompact(shellOf(cs), compactCodeSystem(structuredClone(cs))));
  return { object, compact };
}

/** The answer of `run`, or the error it throws (as its outcome), to compare. */
function answer(run: () => unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(run()));
  } catch (err) {
    if (err instanceof OperationOutcomeError) return { status: err.status, outcome: err.outcome };
    throw err;
  }
}

/** An expansion without its timestamp and identifier (they differ from call to call). */
function expansionOf(run: () => ValueSet): unknown {
  const r = answer(run) as { expansion?: { timestamp?: string; identifier?: string } };
  if (r.expansion) {
    delete r.expansion.timestamp;
    delete r.expansion.identifier;
  }
  return r;
}

const asked = (gens: Gen[]) => [...new Set([...gens.map((g) => g.code), 'c0', 'C0', 'c3', 'nope'])];

describe('compact layout', () => {
  test('answers $lookup, $validate-code and $subsumes as the object layout', () => {
    fc.assert(
      fc.property(systemArb, ({ concepts, caseSensitive }) => {
        const cs = codeSystem(concepts, caseSensitive);
        const { object, compact } = stores(cs);
        const both = (run: (ctx: TxContext) => unknown) => [
          answer(() => run(new TxContext(object))),
          answer(() => run(new TxContext(compact))),
        ];
        for (const code of asked(concepts)) {
          const [a, b] = both((ctx) => lookupCode(ctx, { system: URL, code, properties: ['*'] }));
          expect(b).toEqual(a);
          const input = { mode: 'code' as const, codings: [{ system: URL, code, display: 'beta' }] };
          const [c, d] = both((ctx) => validateCodeInCodeSystem(ctx, { url: URL }, input));
          expect(d).toEqual(c);
          for (const other of ['c0', 'c1', 'c2']) {
            const [e, f] = both((ctx) => subsumes(ctx, { system: URL, codeA: other, codeB: code }));
            expect(f).toEqual(e);
          }
        }
      }),
      propertyRuns(60),
    );
  });

  test('expands and validates in value sets as the object layout', () => {
    const valueSets: ValueSet[] = [
      {
        resourceType: 'ValueSet',
        url: 'http://example.org/vs/all',
        status: 'active',
        compose: { include: [{ system: URL }] },
      },
      {
        resourceType: 'ValueSet',
        url: 'http://example.org/vs/active',
        status: 'active',
        compose: { inactive: false, include: [{ system: URL }] },
      },
      {
        resourceType: 'ValueSet',
        url: 'http://example.org/vs/is-a',
        status: 'active',
        compose: { include: [{ system: URL, filter: [{ property: 'concept', op: 'is-a', value: 'c1' }] }] },
      },
      {
        resourceType: 'ValueSet',
        url: 'http://example.org/vs/descendent-of',
        status: 'active',
        compose: { include: [{ system: URL, filter: [{ property: 'concept', op: 'descendent-of', value: 'c0' }] }] },
      },
    ];
    fc.assert(
      fc.property(
        systemArb,
        fc.constantFrom('', 'al', 'beta', 'g', 'zeta ø', 'c1', 'æb'),
        ({ concepts, caseSensitive }, filter) => {
          const cs = codeSystem(concepts, caseSensitive);
          const { object, compact } = stores(cs);
          for (const vs of valueSets) {
            for (const hierarchical of [false, true]) {
              const options = { ...(filter ? { filter } : {}), excludeNested: !hierarchical };
              const a = expansionOf(() => expandValueSet(new TxContext(object), vs, options));
              const b = expansionOf(() => expandValueSet(new TxContext(compact), vs, options));
              expect(b).toEqual(a);
            }
            for (const code of asked(concepts)) {
              const input = { mode: 'code' as const, codings: [{ system: URL, code }] };
              const a = answer(() => validateCodeInValueSet(new TxContext(object), vs, input));
              const b = answer(() => validateCodeInValueSet(new TxContext(compact), vs, input));
              expect(b).toEqual(a);
            }
          }
        },
      ),
      propertyRuns(60),
    );
  });

  test('gives the resource back with its concepts for reads', () => {
    fc.assert(
      fc.property(systemArb, ({ concepts, caseSensitive }) => {
        // distinct codes: a repeated code is kept once (its first element), as the index keeps it
        const cs = codeSystem(
          concepts.map((g, i) => ({ ...g, code: `c${i}` })),
          caseSensitive,
        );
        const shell = attachCompact(shellOf(cs), compactCodeSystem(cs));
        const index = indexCodeSystem(shell) as unknown as { materialise(): CodeSystem };
        expect(index.materialise()).toEqual(cs);
      }),
      propertyRuns(60),
    );
  });
});
