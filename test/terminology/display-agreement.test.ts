import type { CodeSystem, CodeSystemConcept, Coding, ValueSet, ValueSetExpansionContains } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { TxContext } from '../../src/terminology/context.ts';
import { expandValueSet } from '../../src/terminology/expand.ts';
import { lookupCode } from '../../src/terminology/lookup.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { validateCodeInCodeSystem, validateCodeInValueSet } from '../../src/terminology/validate.ts';
import { propertyRuns } from '../support/property.ts';

/**
 * The display an expansion gives a code, in a language asked for, is one that $validate-code
 * accepts for it in that language: a client that shows the expansion's display and sends it back
 * gets no display error. Generated code systems (with or without a language, displays and
 * designations in several languages) and value sets (with or without a language, displays of their
 * own), with displayLanguage or Accept-Language.
 */

const URL = 'http://example.org/fhir/CodeSystem/words';
const VS = 'http://example.org/fhir/ValueSet/words';
const LANGS = ['en', 'de', 'nb'] as const;

/** designation uses: none, the display ones, SNOMED CT synonym and FSN, and one that is no display */
const USES: (Coding | undefined)[] = [
  undefined,
  { system: 'http://terminology.hl7.org/CodeSystem/designation-usage', code: 'display' },
  { system: 'http://snomed.info/sct', code: '900000000000013009' },
  { system: 'http://snomed.info/sct', code: '900000000000003001' },
  { system: 'http://example.org/fhir/CodeSystem/uses', code: 'abbreviation' },
];

interface GenConcept {
  display: string | null;
  designations: { language: (typeof LANGS)[number]; value: string; use?: Coding }[];
  vsDisplay: string | null;
}

const word = fc.constantFrom('Heart', 'Herz', 'Hjerte', 'Lung', 'Lunge', 'Blood', 'Blut', 'Blod', 'Kidney');

const conceptArb: fc.Arbitrary<GenConcept> = fc.record({
  display: fc.option(word, { nil: null, freq: 5 }),
  designations: fc.array(
    fc
      .record({ language: fc.constantFrom(...LANGS), value: word, use: fc.constantFrom(...USES) })
      .map(({ use, ...d }) => (use ? { ...d, use } : d)),
    { maxLength: 3 },
  ),
  vsDisplay: fc.option(word, { nil: null, freq: 2 }),
});

const scenarioArb = fc.record({
  concepts: fc.array(conceptArb, { minLength: 1, maxLength: 6 }),
  // a language pack (a supplement applied without being asked for) with nb displays for some codes
  pack: fc.option(fc.array(fc.option(word, { nil: null }), { maxLength: 6 }), { nil: null }),
  // a supplement asked for with useSupplement, with de displays for some codes
  supplement: fc.option(fc.array(fc.option(word, { nil: null }), { maxLength: 6 }), { nil: null }),
  csLanguage: fc.constantFrom<string | undefined>(undefined, 'en', 'de'),
  vsLanguage: fc.constantFrom<string | undefined>(undefined, undefined, 'de', 'nb'),
  enumerate: fc.boolean(),
  ask: fc.constantFrom<[('displayLanguage' | 'acceptLanguage')?, string?]>(
    [],
    ['displayLanguage', 'de'],
    ['displayLanguage', 'nb'],
    ['displayLanguage', 'en'],
    ['displayLanguage', 'de,en;q=0.5'],
    ['acceptLanguage', 'nb'],
    ['acceptLanguage', 'de, *;q=0.1'],
  ),
});

function codeSystem(concepts: GenConcept[], language: string | undefined): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url: URL,
    version: '1',
    status: 'active',
    content: 'complete',
    ...(language ? { language } : {}),
    concept: concepts.map(
      (c, i): CodeSystemConcept => ({
        code: `w${i}`,
        ...(c.display ? { display: c.display } : {}),
        ...(c.designations.length ? { designation: c.designations } : {}),
      }),
    ),
  };
}

/**
 * A supplement with a designation for some codes: a language pack (nb, applied without being asked
 * for) or one that is asked for with useSupplement (de).
 */
function supplementOf(kind: 'pack' | 'asked', words: (string | null)[]): CodeSystem {
  const [suffix, language] = kind === 'pack' ? ['nb', 'nb'] : ['sup', 'de'];
  return {
    resourceType: 'CodeSystem',
    url: `${URL}-${suffix}`,
    version: '1',
    status: 'active',
    content: 'supplement',
    supplements: URL,
    ...(kind === 'pack'
      ? {
          extension: [
            { url: 'http://hl7.org/fhir/StructureDefinition/codesystem-supplement-type', valueCode: 'lang-pack' },
          ],
        }
      : {}),
    concept: words.flatMap((w, i) =>
      w ? [{ code: `w${i}`, designation: [{ language, value: `${w} (${suffix})` }] }] : [],
    ),
  };
}

const languagePack = (words: (string | null)[]): CodeSystem => supplementOf('pack', words);
const supplement = (words: (string | null)[]): CodeSystem => supplementOf('asked', words);

function valueSet(concepts: GenConcept[], language: string | undefined, enumerate: boolean): ValueSet {
  return {
    resourceType: 'ValueSet',
    url: VS,
    version: '1',
    status: 'active',
    ...(language ? { language } : {}),
    compose: {
      include: [
        enumerate
          ? {
              system: URL,
              concept: concepts.map((c, i) => ({ code: `w${i}`, ...(c.vsDisplay ? { display: c.vsDisplay } : {}) })),
            }
          : { system: URL },
      ],
    },
  };
}

/** The generated code system and its supplements, stored. */
function storeOf(s: {
  concepts: GenConcept[];
  csLanguage: string | undefined;
  pack: (string | null)[] | null;
  supplement: (string | null)[] | null;
}): TerminologyStore {
  const store = new TerminologyStore();
  store.add(codeSystem(s.concepts, s.csLanguage));
  if (s.pack) store.add(languagePack(s.pack));
  if (s.supplement) store.add(supplement(s.supplement));
  return store;
}

describe('the displays of an expansion validate', () => {
  test('every display $expand gives is accepted by $validate-code in the same language', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const store = storeOf(s);
        const vs = valueSet(s.concepts, s.vsLanguage, s.enumerate);
        store.add(vs);
        const ctx = new TxContext(store);
        const [kind, language] = s.ask;
        const lang = {
          ...(kind && language ? { [kind]: language } : {}),
          ...(s.supplement ? { useSupplements: [`${URL}-sup`] } : {}),
        };
        const contains: ValueSetExpansionContains[] = expandValueSet(ctx, vs, lang).expansion?.contains ?? [];
        expect(contains).toHaveLength(s.concepts.length);
        for (const c of contains) {
          if (c.display === undefined) continue;
          // in another case too: displays compare without regard to case
          for (const shown of [c.display, c.display.toUpperCase()]) {
            const result = validateCodeInValueSet(
              ctx,
              vs,
              { mode: 'coding', codings: [{ system: URL, code: c.code, display: shown }] },
              lang,
            );
            const errors = result.issues.filter((i) => i.severity === 'error').map((i) => i.details?.text);
            expect(errors, `${c.code} "${shown}"`).toEqual([]);
            expect(result.result, `${c.code} "${shown}"`).toBe(true);
          }
        }
      }),
      propertyRuns(1000),
    );
  });

  test('the display $lookup gives in a language passes CodeSystem $validate-code in that language', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const ctx = new TxContext(storeOf(s));
        const [kind, language] = s.ask;
        const displayLanguage = kind === 'displayLanguage' ? language : undefined;
        const sup = s.supplement ? [`${URL}-sup`] : undefined;
        for (let i = 0; i < s.concepts.length; i++) {
          const { display } = lookupCode(ctx, {
            system: URL,
            code: `w${i}`,
            ...(displayLanguage ? { displayLanguage } : {}),
            ...(sup ? { useSupplement: sup } : {}),
          });
          // in another case too: displays compare without regard to case
          for (const shown of [display, display.toUpperCase()]) {
            const result = validateCodeInCodeSystem(
              ctx,
              { url: URL },
              { mode: 'coding', codings: [{ system: URL, code: `w${i}`, display: shown }] },
              { ...(displayLanguage ? { displayLanguage } : {}), ...(sup ? { useSupplements: sup } : {}) },
            );
            const errors = result.issues.filter((x) => x.severity === 'error').map((x) => x.details?.text);
            expect(errors, `w${i} "${shown}"`).toEqual([]);
          }
        }
      }),
      propertyRuns(1000),
    );
  });

  test('$expand, $lookup and $validate-code give a code the same display in the language asked for', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const store = storeOf(s);
        // the value set gives no displays of its own and has no language: the code system decides
        const vs = valueSet(s.concepts, undefined, false);
        store.add(vs);
        const ctx = new TxContext(store);
        const [kind, language] = s.ask;
        const displayLanguage = kind === 'displayLanguage' ? language : undefined;
        const sup = s.supplement ? [`${URL}-sup`] : undefined;
        const options = { ...(displayLanguage ? { displayLanguage } : {}), ...(sup ? { useSupplements: sup } : {}) };
        const contains = expandValueSet(ctx, vs, options).expansion?.contains ?? [];
        for (const c of contains) {
          const code = c.code as string;
          // no display to agree with ($lookup must give one, and falls back to any designation or the code)
          if (c.display === undefined) continue;
          const looked = lookupCode(ctx, {
            system: URL,
            code,
            ...(displayLanguage ? { displayLanguage } : {}),
            ...(sup ? { useSupplement: sup } : {}),
          });
          const validated = validateCodeInValueSet(
            ctx,
            vs,
            { mode: 'coding', codings: [{ system: URL, code }] },
            options,
          );
          expect(looked.display, `${code}: $lookup`).toBe(c.display);
          expect(validated.display, `${code}: $validate-code`).toBe(c.display);
        }
      }),
      propertyRuns(1000),
    );
  });

  // cases the property found
  const context = (cs: CodeSystem, vs: ValueSet): TxContext => {
    const store = new TerminologyStore();
    store.add(cs);
    store.add(vs);
    return new TxContext(store);
  };
  const cs = (language: string | undefined, concept: CodeSystemConcept): CodeSystem => ({
    ...codeSystem([], language),
    concept: [concept],
  });
  const vs = (language: string | undefined, display: string): ValueSet => ({
    ...valueSet([], language, true),
    compose: { include: [{ system: URL, concept: [{ code: 'w0', display }] }] },
  });
  const check = (ctx: TxContext, v: ValueSet, display: string, displayLanguage: string) =>
    validateCodeInValueSet(
      ctx,
      v,
      { mode: 'coding', codings: [{ system: URL, code: 'w0', display }] },
      { displayLanguage },
    );

  test("a value set's own display, in no language asked for, is information, not an error", () => {
    for (const [concept, given] of [
      [{ code: 'w0' }, 'Heart'],
      [{ code: 'w0', display: 'Heart', designation: [{ language: 'de', value: 'Lunge' }] }, 'Lunge'],
    ] as [CodeSystemConcept, string][]) {
      const v = vs('de', given);
      const result = check(context(cs(undefined, concept), v), v, given, 'nb');
      expect(result.result).toBe(true);
      expect(result.issues.map((i) => [i.severity, i.details?.text])).toEqual([
        [
          'information',
          `There are no valid display names found for the code ${URL}#w0 for language(s) 'nb'. The display is '${given}' which is a valid display for the default language`,
        ],
      ]);
    }
  });

  test("the code system's display in the language asked for wins over the value set's in another", () => {
    const v = vs('nb', 'Blood');
    const ctx = context(cs('de', { code: 'w0', display: 'Herz' }), v);
    expect(expandValueSet(ctx, v, { displayLanguage: 'de' }).expansion?.contains?.[0]?.display).toBe('Herz');
    expect(expandValueSet(ctx, v, { displayLanguage: 'nb' }).expansion?.contains?.[0]?.display).toBe('Blood');
    expect(expandValueSet(ctx, v, {}).expansion?.contains?.[0]?.display).toBe('Blood');
  });

  test('a code without a display of its own is looked up with its first display designation', () => {
    const c = cs(undefined, { code: 'w0', designation: [{ language: 'nb', value: 'Hjerte' }] });
    const ctx = context(c, vs(undefined, 'x'));
    expect(lookupCode(ctx, { system: URL, code: 'w0' }).display).toBe('Hjerte');
    expect(lookupCode(ctx, { system: URL, code: 'w0', displayLanguage: 'en' }).display).toBe('Hjerte');
    // sent back in another case, in a language it has no display for: information
    const result = validateCodeInCodeSystem(
      ctx,
      { url: URL },
      { mode: 'coding', codings: [{ system: URL, code: 'w0', display: 'HJERTE' }] },
      { displayLanguage: 'en' },
    );
    expect(result.result).toBe(true);
    expect(result.issues.map((i) => i.severity)).toEqual(['information']);
  });

  test('$lookup applies a language pack without being asked, as $expand and $validate-code do', () => {
    const store = new TerminologyStore();
    store.add(cs('en', { code: 'w0', display: 'Heart' }));
    store.add(languagePack(['Hjerte']));
    const ctx = new TxContext(store);
    const found = lookupCode(ctx, { system: URL, code: 'w0', displayLanguage: 'nb' });
    expect(found.display).toBe('Hjerte (nb)');
    expect(found.designations).toContainEqual({ language: 'nb', value: 'Hjerte (nb)', source: `${URL}-nb|1` });
    expect(found.usedSupplements).toEqual([]);
  });
});
