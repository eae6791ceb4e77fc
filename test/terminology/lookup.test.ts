import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { lookupCode } from '../../src/terminology/lookup.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import {
  FLAT_URL,
  flatCodeSystem,
  SIMPLE_URL,
  SUPPLEMENT_URL,
  simpleCodeSystem,
  supplementCodeSystem,
} from './lookup-translate-fixtures.ts';

const PREFERRED = {
  system: 'http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra',
  code: 'preferredForLanguage',
  display: 'Preferred For Language',
};

function context(): TxContext {
  const store = new TerminologyStore();
  store.add(simpleCodeSystem('0.1.0'));
  store.add(simpleCodeSystem('0.2.0'));
  store.add(flatCodeSystem());
  // the supplement arrives as a tx-resource, as in the tx tests
  return new TxContext(store, [supplementCodeSystem()]);
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

describe('lookupCode', () => {
  test('a nested code with every property', () => {
    const r = lookupCode(context(), { system: SIMPLE_URL, version: '0.1.0', code: 'code2a', properties: ['*'] });
    expect(r).toEqual({
      name: 'SimpleTestCodeSystem',
      system: SIMPLE_URL,
      version: '0.1.0',
      code: 'code2a',
      display: 'Display 2a',
      definition: 'My first second level code',
      abstract: false,
      designations: [{ language: 'en', use: PREFERRED, value: 'Display 2a' }],
      properties: [
        { code: 'parent', valueKey: 'valueCode', value: 'code2', description: 'Display 2' },
        { code: 'child', valueKey: 'valueCode', value: 'code2aI', description: 'Display 2aI' },
        { code: 'child', valueKey: 'valueCode', value: 'code2aII', description: 'Display 2aII' },
        { code: 'inactive', valueKey: 'valueBoolean', value: false },
      ],
      usedSupplements: [],
      warnings: [],
    });
  });

  test('a retired, notSelectable root code', () => {
    const r = lookupCode(context(), { system: SIMPLE_URL, version: '0.1.0', code: 'code2' });
    expect(r.abstract).toBe(true);
    expect(r.properties).toEqual([
      { code: 'prop', valueKey: 'valueCode', value: 'new' },
      { code: 'notSelectable', valueKey: 'valueBoolean', value: true },
      { code: 'status', valueKey: 'valueCode', value: 'retired' },
      { code: 'child', valueKey: 'valueCode', value: 'code2a', description: 'Display 2a' },
      { code: 'child', valueKey: 'valueCode', value: 'code2b', description: 'Display 2b' },
      { code: 'inactive', valueKey: 'valueBoolean', value: true },
    ]);
  });

  test('a property may be asked for by its URI: the code system one, or a standard one', () => {
    const r = lookupCode(context(), {
      system: SIMPLE_URL,
      version: '0.1.0',
      code: 'code2',
      properties: ['http://example.org/fhir/properties#prop', 'http://hl7.org/fhir/concept-properties#inactive'],
    });
    expect(r.properties).toEqual([
      { code: 'prop', valueKey: 'valueCode', value: 'new' },
      { code: 'inactive', valueKey: 'valueBoolean', value: true },
    ]);
  });

  test('no version means the newest version', () => {
    expect(lookupCode(context(), { system: SIMPLE_URL, code: 'code1' }).version).toBe('0.2.0');
  });

  test('designations of the concept, display first', () => {
    const r = lookupCode(context(), { system: SIMPLE_URL, code: 'code1' });
    expect(r.designations).toEqual([
      { language: 'en', use: PREFERRED, value: 'Display 1' },
      { language: 'de', value: 'Mein erster Code' },
      { use: { system: 'http://example.org/designations', code: 'olde-english' }, value: 'mine own first code' },
    ]);
  });

  test.each([
    { properties: ['parent'], codes: ['parent'], definition: false, designations: 0 },
    { properties: ['child', 'inactive'], codes: ['child', 'child', 'inactive'], definition: false, designations: 0 },
    { properties: ['definition', 'prop'], codes: ['prop'], definition: true, designations: 0 },
    { properties: ['designation'], codes: [], definition: false, designations: 1 },
    { properties: ['*'], codes: ['prop', 'parent', 'child', 'child', 'inactive'], definition: true, designations: 1 },
    { properties: [], codes: ['prop', 'parent', 'child', 'child', 'inactive'], definition: true, designations: 1 },
  ])('property filter $properties', ({ properties, codes, definition, designations }) => {
    const store = new TerminologyStore();
    const cs = simpleCodeSystem();
    cs.concept![1].concept![0].property = [{ code: 'prop', valueCode: 'new' }];
    store.add(cs);
    const r = lookupCode(new TxContext(store), { system: SIMPLE_URL, code: 'code2a', properties });
    expect(r.properties.map((p) => p.code)).toEqual(codes);
    expect(r.definition !== undefined).toBe(definition);
    expect(r.designations).toHaveLength(designations);
    expect(r.display).toBe('Display 2a');
  });

  test('lang.X selects designations by language', () => {
    const r = lookupCode(context(), { system: SIMPLE_URL, code: 'code1', properties: ['lang.de'] });
    expect(r.designations).toEqual([{ language: 'de', value: 'Mein erster Code' }]);
  });

  test.each([
    { displayLanguage: 'de', display: 'Mein erster Code' },
    { displayLanguage: 'de-CH', display: 'Mein erster Code' },
    { displayLanguage: 'en', display: 'Display 1' },
    { displayLanguage: 'fr, de', display: 'Mein erster Code' },
    { displayLanguage: 'de;q=0.5, en', display: 'Display 1' },
    { displayLanguage: 'fr', display: 'Display 1' },
    { displayLanguage: 'fr, *;q=0', display: 'Display 1' },
    { displayLanguage: undefined, display: 'Display 1' },
  ])('display language $displayLanguage', ({ displayLanguage, display }) => {
    expect(lookupCode(context(), { system: SIMPLE_URL, code: 'code1', displayLanguage }).display).toBe(display);
  });

  test('useSupplement adds designations and properties, with their source', () => {
    const r = lookupCode(context(), { system: SIMPLE_URL, code: 'code1', useSupplement: [SUPPLEMENT_URL] });
    expect(r.usedSupplements).toEqual([`${SUPPLEMENT_URL}|0.1.1`]);
    expect(r.designations).toContainEqual({ language: 'nl', value: 'ectenoot', source: `${SUPPLEMENT_URL}|0.1.1` });
    expect(r.properties).toContainEqual({
      code: 'prop1',
      valueKey: 'valueString',
      value: 'value1',
      source: `${SUPPLEMENT_URL}|0.1.1`,
    });
  });

  test('supplements are not applied unless asked for', () => {
    const r = lookupCode(context(), { system: SIMPLE_URL, code: 'code1' });
    expect(r.usedSupplements).toEqual([]);
    expect(r.designations.map((d) => d.value)).not.toContain('ectenoot');
  });

  test('instance-level: the given resource, whatever the store holds', () => {
    const cs = simpleCodeSystem('9.9.9');
    const r = lookupCode(new TxContext(new TerminologyStore()), { codeSystem: cs, code: 'code3' });
    expect([r.version, r.display]).toEqual(['9.9.9', 'Display 3']);
  });

  test('case-insensitive code system finds the code in another case, and echoes it as asked', () => {
    // tx-ecosystem IG requirements, $lookup: "`code` SHALL be echoed as it was asked for, not normalised"
    const r = lookupCode(context(), { system: FLAT_URL, code: 'DOG' });
    expect(r.code).toBe('DOG');
    expect(r.display).toBe(lookupCode(context(), { system: FLAT_URL, code: 'dog' }).display);
    expect(r.properties).toEqual([
      { code: 'parent', valueKey: 'valueCode', value: 'mammal', description: 'Mammal' },
      { code: 'inactive', valueKey: 'valueBoolean', value: false },
    ]);
  });

  test.each([
    {
      name: 'unknown code',
      input: { system: SIMPLE_URL, version: '0.1.0', code: 'code9' },
      status: 404,
      issue: {
        severity: 'error',
        code: 'not-found',
        details: {
          coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: 'invalid-code' }],
          text: `Unknown code 'code9' in the CodeSystem '${SIMPLE_URL}' version '0.1.0'`,
        },
      },
    },
    {
      name: 'unknown system',
      input: { system: 'http://example.org/nothing', code: 'a' },
      status: 404,
      issue: {
        severity: 'error',
        code: 'not-found',
        details: {
          coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: 'not-found' }],
          text: "A definition for CodeSystem 'http://example.org/nothing' could not be found",
        },
      },
    },
    {
      name: 'unknown version',
      input: { system: SIMPLE_URL, version: '1.0.0', code: 'code1' },
      status: 404,
      issue: {
        severity: 'error',
        code: 'not-found',
        details: {
          coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: 'not-found' }],
          text: `A definition for CodeSystem '${SIMPLE_URL}' version '1.0.0' could not be found. Valid versions: 0.1.0 or 0.2.0`,
        },
      },
    },
    {
      name: 'unknown supplement',
      input: { system: SIMPLE_URL, code: 'code1', useSupplement: [`${SUPPLEMENT_URL}-X`] },
      status: 400,
      issue: {
        severity: 'error',
        code: 'not-found',
        details: {
          coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: 'not-found' }],
          text: `Required supplement not found: ${SUPPLEMENT_URL}-X`,
        },
      },
    },
    {
      name: 'supplement as the system',
      input: { system: SUPPLEMENT_URL, code: 'code1' },
      status: 400,
      issue: {
        severity: 'error',
        code: 'invalid',
        details: {
          coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: 'invalid-data' }],
          text: `CodeSystem ${SUPPLEMENT_URL}|0.1.1 is a supplement, so it cannot be used as a code system`,
        },
      },
    },
    {
      name: 'no system',
      input: { code: 'code1' },
      status: 400,
      issue: {
        severity: 'error',
        code: 'invalid',
        details: {
          coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: 'invalid-data' }],
          text: 'Must provide either coding parameter, or system and code parameters',
        },
        expression: ['system'],
      },
    },
  ])('$name', ({ input, status, issue }) => {
    const err = errorOf(() => lookupCode(context(), input));
    expect(err.status).toBe(status);
    const { extension: _ignored, ...rest } = err.outcome.issue![0];
    expect(rest).toEqual(issue);
  });

  test('supplement of another code system', () => {
    const store = new TerminologyStore();
    store.add(flatCodeSystem());
    const err = errorOf(() =>
      lookupCode(new TxContext(store, [supplementCodeSystem()]), {
        system: FLAT_URL,
        code: 'dog',
        useSupplement: [SUPPLEMENT_URL],
      }),
    );
    expect(err.status).toBe(400);
    expect(err.outcome.issue![0].details!.text).toBe(
      `The supplement ${SUPPLEMENT_URL}|0.1.1 does not apply to the CodeSystem ${FLAT_URL}|1.0.0`,
    );
  });
});
