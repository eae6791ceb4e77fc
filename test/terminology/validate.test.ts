import { describe, expect, test } from 'vitest';
import type { ValidationInput } from '../../src/terminology/validate.ts';
import {
  code,
  coding,
  concept,
  inValueSet,
  MULTI,
  NOCASE,
  notFound,
  SIMPLE,
  SUPPLEMENT,
  VS,
} from './validate-fixtures.ts';

/**
 * validateCodeInValueSet: membership, status, abstract and case, and displays and languages.
 * Versions, inferSystem, value sets that cannot be evaluated and validateCodeInCodeSystem are in
 * validate-systems.test.ts.
 */

describe('validateCodeInValueSet: membership', () => {
  test.each([
    {
      name: 'code in a whole-system include',
      vs: 'simple-all',
      input: coding({ system: SIMPLE, code: 'code1' }),
      expected: { result: true, code: 'code1', system: SIMPLE, version: '0.1.0', display: 'Display 1' },
    },
    {
      name: 'unknown code: not in the value set and not in the code system',
      vs: 'simple-all',
      input: coding({ system: SIMPLE, code: 'nope' }),
      expected: {
        result: false,
        code: 'nope',
        system: SIMPLE,
        message: `${notFound(`${SIMPLE}#nope`, 'simple-all')}; Unknown code 'nope' in the CodeSystem '${SIMPLE}' version '0.1.0'`,
        issues: [
          [
            'error',
            'code-invalid',
            'invalid-code',
            'Coding.code',
            `Unknown code 'nope' in the CodeSystem '${SIMPLE}' version '0.1.0'`,
          ],
          ['error', 'code-invalid', 'not-in-vs', 'Coding.code', notFound(`${SIMPLE}#nope`, 'simple-all')],
        ],
      },
    },
    {
      name: 'code outside an enumerated value set is looked up for the report',
      vs: 'simple-enum',
      input: code({ system: SIMPLE, code: 'code3', display: 'Display 3' }),
      expected: {
        result: false,
        code: 'code3',
        system: SIMPLE,
        version: '0.1.0',
        display: 'Display 3',
        message: notFound(`${SIMPLE}#code3 ('Display 3')`, 'simple-enum'),
        issues: [
          ['error', 'code-invalid', 'not-in-vs', 'code', notFound(`${SIMPLE}#code3 ('Display 3')`, 'simple-enum')],
        ],
      },
    },
    {
      name: 'is-a filter includes descendants',
      vs: 'simple-isa',
      input: coding({ system: SIMPLE, code: 'code2a' }),
      expected: { result: true, code: 'code2a', system: SIMPLE, version: '0.1.0', display: 'Display 2a' },
    },
    {
      name: 'unknown system: x-unknown-system',
      vs: 'simple-all',
      input: coding({ system: 'http://example.org/unknown', code: 'x' }),
      expected: {
        result: false,
        code: 'x',
        system: 'http://example.org/unknown',
        unknownSystems: ['http://example.org/unknown'],
        // a system outside the value set is named bare (as the 1.9.3 tests have it)
        message: `A definition for CodeSystem http://example.org/unknown could not be found, so the code cannot be validated; ${notFound('http://example.org/unknown#x', 'simple-all')}`,
        issues: [
          [
            'error',
            'not-found',
            'not-found',
            'Coding.system',
            'A definition for CodeSystem http://example.org/unknown could not be found, so the code cannot be validated',
          ],
          ['error', 'code-invalid', 'not-in-vs', 'Coding.code', notFound('http://example.org/unknown#x', 'simple-all')],
        ],
      },
    },
    {
      // tx-ecosystem 1.9.3 (validation-simple-coding-no-system): a warning that the coding cannot be
      // validated, and the code is not in the value set
      name: 'coding without a system: false, with a warning and the not-in-vs error',
      vs: 'simple-all',
      input: coding({ code: 'code1' }),
      expected: {
        result: false,
        code: 'code1',
        message: `Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided; ${notFound('#code1', 'simple-all')}`,
        issues: [
          [
            'warning',
            'invalid',
            'invalid-data',
            'Coding',
            'Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided',
          ],
          ['error', 'code-invalid', 'not-in-vs', 'Coding.code', notFound('#code1', 'simple-all')],
        ],
      },
    },
  ])('$name', ({ vs, input, expected }) => {
    expect(inValueSet(vs, input)).toEqual(expected);
  });

  test('CodeableConcept: one coding in the value set is enough', () => {
    expect(
      inValueSet(
        'simple-all',
        concept({ system: 'http://example.org/unknown', code: 'x' }, { system: SIMPLE, code: 'code1' }),
      ),
    ).toEqual({
      result: true,
      code: 'code1',
      system: SIMPLE,
      version: '0.1.0',
      display: 'Display 1',
      message:
        "A definition for the code system 'http://example.org/unknown' could not be found, so this coding was not checked. The CodeableConcept is still valid: another coding is in the value set",
      codeableConcept: {
        coding: [
          { system: 'http://example.org/unknown', code: 'x' },
          { system: SIMPLE, code: 'code1' },
        ],
      },
      issues: [
        [
          'information',
          'code-invalid',
          'this-code-not-in-vs',
          'CodeableConcept.coding[0].code',
          notFound('http://example.org/unknown#x', 'simple-all'),
        ],
        [
          'warning',
          'not-found',
          'not-found',
          'CodeableConcept.coding[0].system',
          "A definition for the code system 'http://example.org/unknown' could not be found, so this coding was not checked. The CodeableConcept is still valid: another coding is in the value set",
        ],
      ],
    });
  });

  test('the version a failed answer names: the known code of a Coding or of a one-coding CodeableConcept only', () => {
    const versionOf = (input: ValidationInput) => inValueSet('simple-enum', input).version;
    // known, not in the value set: the version it was found in
    expect(versionOf(coding({ system: SIMPLE, code: 'code3' }))).toBe('0.1.0');
    expect(versionOf(concept({ system: SIMPLE, code: 'code3' }))).toBe('0.1.0');
    // unknown: no version was found to hold it
    expect(versionOf(coding({ system: SIMPLE, code: 'nope' }))).toBeUndefined();
    expect(versionOf(concept({ system: SIMPLE, code: 'nope' }))).toBeUndefined();
    // several codings: no one version speaks for the concept
    expect(versionOf(concept({ system: SIMPLE, code: 'code3' }, { system: SIMPLE, code: 'nope' }))).toBeUndefined();
  });

  test('CodeableConcept with no valid coding', () => {
    // one known code: the version it was found in is reported
    expect(inValueSet('simple-enum', concept({ system: SIMPLE, code: 'code3' }))).toEqual({
      result: false,
      version: '0.1.0',
      message: `No valid coding was found for the value set '${VS}simple-enum|1.0'`,
      codeableConcept: { coding: [{ system: SIMPLE, code: 'code3' }] },
      issues: [
        [
          'information',
          'code-invalid',
          'this-code-not-in-vs',
          'CodeableConcept.coding[0].code',
          notFound(`${SIMPLE}#code3`, 'simple-enum'),
        ],
        [
          'error',
          'code-invalid',
          'not-in-vs',
          undefined,
          `No valid coding was found for the value set '${VS}simple-enum|1.0'`,
        ],
      ],
    });
  });

  test('CodeableConcept of codings without a system: false, a warning for each and no valid coding', () => {
    const bare = inValueSet('simple-enum', concept({ code: 'code1' }, { code: 'code2' }));
    expect(bare.result).toBe(false);
    expect((bare.issues as string[][]).filter((i) => i[0] === 'error').map((i) => i[2])).toEqual(['not-in-vs']);
    expect((bare.issues as string[][]).filter((i) => i[2] === 'invalid-data').map((i) => i[3])).toEqual([
      'CodeableConcept.coding[0]',
      'CodeableConcept.coding[1]',
    ]);
    const mixed = inValueSet('simple-enum', concept({ code: 'code1' }, { system: SIMPLE, code: 'code3' }));
    expect(mixed.result).toBe(false);
    expect((mixed.issues as string[][]).filter((i) => i[0] === 'error').map((i) => i[2])).toEqual(['not-in-vs']);
  });

  test('a deprecated member: status and a warning', () => {
    expect(inValueSet('simple-all', coding({ system: SIMPLE, code: 'code3' }))).toEqual({
      result: true,
      code: 'code3',
      system: SIMPLE,
      version: '0.1.0',
      display: 'Display 3',
      status: 'deprecated',
      message: "The concept 'code3' is deprecated and its use should be reviewed",
      issues: [
        [
          'warning',
          'business-rule',
          'code-comment',
          'Coding',
          "The concept 'code3' is deprecated and its use should be reviewed",
        ],
      ],
    });
  });
});

describe('validateCodeInValueSet: status, abstract, case', () => {
  const retired = "The concept 'code2' has a status of retired and inactive and its use should be reviewed";
  test.each([
    {
      name: 'inactive code: valid, with a warning',
      vs: 'simple-all',
      options: {},
      expected: {
        result: true,
        code: 'code2',
        system: SIMPLE,
        version: '0.1.0',
        display: 'Display 2',
        inactive: true,
        status: 'retired',
        message: retired,
        issues: [['warning', 'business-rule', 'code-comment', 'Coding', retired]],
      },
    },
    {
      name: 'activeOnly: an inactive code is not a member',
      vs: 'simple-all',
      options: { activeOnly: true },
      expected: {
        result: false,
        code: 'code2',
        system: SIMPLE,
        version: '0.1.0',
        display: 'Display 2',
        inactive: true,
        status: 'retired',
        message: `${retired}; The concept 'code2' is valid but is not active; ${notFound(`${SIMPLE}#code2`, 'simple-all')}`,
        issues: [
          ['error', 'business-rule', 'code-rule', 'Coding.code', "The concept 'code2' is valid but is not active"],
          ['error', 'code-invalid', 'not-in-vs', 'Coding.code', notFound(`${SIMPLE}#code2`, 'simple-all')],
          ['warning', 'business-rule', 'code-comment', 'Coding', retired],
        ],
      },
    },
    {
      name: 'compose.inactive = false excludes inactive codes',
      vs: 'simple-active',
      options: {},
      expected: {
        result: false,
        code: 'code2',
        system: SIMPLE,
        version: '0.1.0',
        display: 'Display 2',
        inactive: true,
        status: 'retired',
        message: `${retired}; The concept 'code2' is valid but is not active; ${notFound(`${SIMPLE}#code2`, 'simple-active')}`,
        issues: [
          ['error', 'business-rule', 'code-rule', 'Coding.code', "The concept 'code2' is valid but is not active"],
          ['error', 'code-invalid', 'not-in-vs', 'Coding.code', notFound(`${SIMPLE}#code2`, 'simple-active')],
          ['warning', 'business-rule', 'code-comment', 'Coding', retired],
        ],
      },
    },
    {
      name: 'abstract = false: a notSelectable code is refused',
      vs: 'simple-all',
      options: { abstractOk: false },
      expected: {
        result: false,
        code: 'code2',
        system: SIMPLE,
        version: '0.1.0',
        display: 'Display 2',
        inactive: true,
        status: 'retired',
        message: `Code '${SIMPLE}#code2' is abstract, and not allowed in this context; ${retired}; ${notFound(`${SIMPLE}#code2`, 'simple-all')}`,
        issues: [
          [
            'error',
            'business-rule',
            'code-rule',
            'Coding.code',
            `Code '${SIMPLE}#code2' is abstract, and not allowed in this context`,
          ],
          ['error', 'code-invalid', 'not-in-vs', 'Coding.code', notFound(`${SIMPLE}#code2`, 'simple-all')],
          ['warning', 'business-rule', 'code-comment', 'Coding', retired],
        ],
      },
    },
  ])('$name', ({ vs, options, expected }) => {
    expect(inValueSet(vs, coding({ system: SIMPLE, code: 'code2' }), options)).toEqual(expected);
  });

  test('case-insensitive code system: valid, with the normalized code', () => {
    expect(inValueSet('nocase-all', coding({ system: NOCASE, code: 'ABC' }))).toEqual({
      result: true,
      code: 'ABC',
      system: NOCASE,
      version: '1',
      display: 'Alpha',
      normalizedCode: 'abc',
      issues: [
        [
          'information',
          'business-rule',
          'code-rule',
          'Coding.code',
          `The code 'ABC' differs from the correct code 'abc' by case. Although the code system '${NOCASE}|1' is case insensitive, implementers are strongly encouraged to use the correct case anyway`,
        ],
      ],
    });
  });
});

describe('validateCodeInValueSet: displays and languages', () => {
  const wrong = (display: string, valid: string, langs = '--') =>
    `Wrong Display Name '${display}' for ${MULTI}#m1. Valid display is ${valid} (for the language(s) '${langs}')`;
  test.each([
    { name: 'the display', display: 'One', options: {}, vs: 'multi-all', expected: { result: true, display: 'One' } },
    {
      name: 'a designation',
      display: 'Eins',
      options: {},
      vs: 'multi-all',
      expected: { result: true, display: 'One' },
    },
    {
      name: 'displayLanguage picks the display returned',
      display: 'Eins',
      options: { displayLanguage: 'de' },
      vs: 'multi-all',
      expected: { result: true, display: 'Eins' },
    },
    {
      name: 'wrong display: error with every valid display',
      display: 'Uno',
      options: {},
      vs: 'multi-all',
      expected: {
        result: false,
        display: 'One',
        message: wrong('Uno', "one of 2 choices: 'One' (en) or 'Eins' (de)"),
        issues: [
          [
            'error',
            'invalid',
            'invalid-display',
            'Coding.display',
            wrong('Uno', "one of 2 choices: 'One' (en) or 'Eins' (de)"),
          ],
        ],
      },
    },
    {
      name: 'lenient-display-validation: a warning',
      display: 'Uno',
      options: { lenientDisplay: true },
      vs: 'multi-all',
      expected: {
        result: true,
        display: 'One',
        message: wrong('Uno', "one of 2 choices: 'One' (en) or 'Eins' (de)"),
        issues: [
          [
            'warning',
            'invalid',
            'invalid-display',
            'Coding.display',
            wrong('Uno', "one of 2 choices: 'One' (en) or 'Eins' (de)"),
          ],
        ],
      },
    },
    {
      name: 'only displays in the requested language count',
      display: 'Eins',
      options: { displayLanguage: 'en' },
      vs: 'multi-all',
      expected: {
        result: false,
        display: 'One',
        message: wrong('Eins', "'One' (en)", 'en'),
        issues: [['error', 'invalid', 'invalid-display', 'Coding.display', wrong('Eins', "'One' (en)", 'en')]],
      },
    },
    {
      name: 'Accept-Language applies when there is no displayLanguage',
      display: 'Eins',
      options: { acceptLanguage: 'en;q=0.9' },
      vs: 'multi-all',
      expected: {
        result: false,
        display: 'One',
        message: wrong('Eins', "'One' (en)", 'en;q=0.9'),
        issues: [['error', 'invalid', 'invalid-display', 'Coding.display', wrong('Eins', "'One' (en)", 'en;q=0.9')]],
      },
    },
    {
      name: 'ValueSet.language applies last',
      display: 'Eins',
      options: {},
      vs: 'multi-de',
      expected: { result: true, display: 'Eins' },
    },
    {
      name: 'whitespace differences have their own message',
      display: 'One ',
      options: { displayLanguage: 'en' },
      vs: 'multi-all',
      expected: {
        result: false,
        display: 'One',
        message: `Wrong whitespace in Display Name 'One ' for ${MULTI}#m1. Valid display is 'One' (en) (for the language(s) 'en')`,
        issues: [
          [
            'error',
            'invalid',
            'invalid-display',
            'Coding.display',
            `Wrong whitespace in Display Name 'One ' for ${MULTI}#m1. Valid display is 'One' (en) (for the language(s) 'en')`,
          ],
        ],
      },
    },
    {
      name: 'a supplement named by useSupplement adds designations',
      display: 'Een',
      options: { useSupplements: [SUPPLEMENT] },
      vs: 'multi-all',
      expected: { result: true, display: 'One' },
    },
  ])('$name', ({ display, options, vs, expected }) => {
    expect(inValueSet(vs, coding({ system: MULTI, code: 'm1', display }), options)).toEqual({
      code: 'm1',
      system: MULTI,
      ...expected,
    });
  });

  test("no display in the requested language, and the code's own display given: information naming it so", () => {
    const text = `There are no valid display names found for the code ${MULTI}#m2 for language(s) 'de'. The display is 'two' which is the default language display`;
    const r = inValueSet('multi-all', coding({ system: MULTI, code: 'm2', display: 'two' }), { displayLanguage: 'de' });
    expect([r.result, r.message]).toEqual([true, text]);
  });

  test('no display in the requested language, but valid in the default language: information', () => {
    const text = `There are no valid display names found for the code ${MULTI}#m2 for language(s) 'de'. The display is 'Second' which is a valid display for the default language`;
    expect(
      inValueSet('multi-all', coding({ system: MULTI, code: 'm2', display: 'Second' }), { displayLanguage: 'de' }),
    ).toEqual({
      result: true,
      code: 'm2',
      system: MULTI,
      display: 'Two',
      message: text,
      issues: [['information', 'invalid', 'invalid-display', 'Coding.display', text]],
    });
  });
});
