import type { Coding, ValueSet } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { TxContext } from '../../src/terminology/context.ts';
import {
  resolveValueSet,
  type ValidationInput,
  type ValidationResult,
  type ValueSetValidationOptions,
  validateCodeInCodeSystem,
  validateCodeInValueSet,
} from '../../src/terminology/validate.ts';
import { NO_VERSION_RULES, type VersionRules } from '../../src/terminology/version-rules.ts';
import { MULTI, NOCASE, SIMPLE, SUPPLEMENT, VERSIONED, VS, validationStore } from './validate-fixtures.ts';

const store = validationStore();
const MESSAGE_ID = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id';

function ctx(): TxContext {
  return new TxContext(store);
}

const coding = (c: Coding): ValidationInput => ({ mode: 'coding', codings: [c] });
const code = (c: Coding): ValidationInput => ({ mode: 'code', codings: [c] });
const concept = (...codings: Coding[]): ValidationInput => ({
  mode: 'codeableConcept',
  codings,
  codeableConcept: { coding: codings },
});

function rules(kind: keyof VersionRules, url: string, version: string): VersionRules {
  const r: VersionRules = { defaults: new Map(), checks: new Map(), forces: new Map() };
  r[kind].set(url, version);
  return r;
}

/** The result with the issues flattened to [severity, code, tx-issue-type, expression, text]. */
function summary(r: ValidationResult): Record<string, unknown> {
  const out: Record<string, unknown> = { ...r };
  out.issues = r.issues.map((i) => [
    i.severity,
    i.code,
    i.details?.coding?.[0]?.code,
    i.expression?.join(','),
    i.details?.text,
  ]);
  for (const k of Object.keys(out)) {
    const v = out[k];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) delete out[k];
  }
  return out;
}

function inValueSet(id: string, input: ValidationInput, options: ValueSetValidationOptions = {}) {
  const c = ctx();
  return summary(validateCodeInValueSet(c, resolveValueSet(c, `${VS}${id}`, undefined), input, options));
}

const notFound = (c: string, vs: string) => `The provided code '${c}' was not found in the value set '${VS}${vs}|1.0'`;

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
        version: '0.1.0',
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
      name: 'coding without a system',
      vs: 'simple-all',
      input: coding({ code: 'code1' }),
      expected: {
        result: false,
        code: 'code1',
        message:
          'Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided; ' +
          notFound('#code1', 'simple-all'),
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

  test('CodeableConcept with no valid coding', () => {
    expect(inValueSet('simple-enum', concept({ system: SIMPLE, code: 'code3' }))).toEqual({
      result: false,
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

describe('validateCodeInValueSet: versions', () => {
  const v = (version: string) => `Display v1 (${version})`;
  test.each([
    { name: 'no pin: the latest version', vs: 'versioned-none', c: {}, r: NO_VERSION_RULES, version: '1.2.0' },
    { name: 'pinned version', vs: 'versioned-10', c: {}, r: NO_VERSION_RULES, version: '1.0.0' },
    { name: 'wildcard pin: the latest match', vs: 'versioned-1x', c: {}, r: NO_VERSION_RULES, version: '1.2.0' },
    {
      name: 'wildcard pin satisfied by the coding',
      vs: 'versioned-1x',
      c: { version: '1.0.0' },
      r: NO_VERSION_RULES,
      version: '1.0.0',
    },
    {
      name: 'system-version when the value set does not pin',
      vs: 'versioned-none',
      c: {},
      r: rules('defaults', VERSIONED, '1.0.0'),
      version: '1.0.0',
    },
    {
      name: 'system-version does not override a pin',
      vs: 'versioned-1x',
      c: {},
      r: rules('defaults', VERSIONED, '1.0.0'),
      version: '1.2.0',
    },
    {
      name: 'force-system-version overrides a pin',
      vs: 'versioned-bad',
      c: {},
      r: rules('forces', VERSIONED, '1.0.x'),
      version: '1.0.0',
    },
    {
      name: 'check-system-version picks the version when none is given',
      vs: 'versioned-none',
      c: {},
      r: rules('checks', VERSIONED, '1.0.x'),
      version: '1.0.0',
    },
  ])('$name', ({ vs, c, r, version }) => {
    expect(inValueSet(vs, coding({ system: VERSIONED, code: 'v1', ...c }), { versionRules: r })).toEqual({
      result: true,
      code: 'v1',
      system: VERSIONED,
      version,
      display: v(version),
    });
  });

  test('the coding names another version than the value set pins', () => {
    const text = `The code system '${VERSIONED}' version '1.0.0' in the ValueSet include is different to the one in the value ('1.2.0')`;
    expect(inValueSet('versioned-10', coding({ system: VERSIONED, version: '1.2.0', code: 'v1' }))).toEqual({
      result: false,
      code: 'v1',
      system: VERSIONED,
      version: '1.0.0',
      display: v('1.0.0'),
      message: text,
      issues: [['error', 'invalid', 'vs-invalid', 'Coding.version', text]],
    });
  });

  test('an unknown coding version with a versionless include: warning and unknown version', () => {
    const unknown = `A definition for CodeSystem '${VERSIONED}' version '2.0.0' could not be found, so the code cannot be validated. Valid versions: 1.0.0 or 1.2.0`;
    expect(inValueSet('versioned-none', code({ system: VERSIONED, version: '2.0.0', code: 'v1' }))).toEqual({
      result: false,
      code: 'v1',
      system: VERSIONED,
      version: '1.2.0',
      display: v('1.2.0'),
      message: unknown,
      causedByUnknownSystems: [`${VERSIONED}|2.0.0`],
      issues: [
        [
          'warning',
          'invalid',
          'vs-invalid',
          'version',
          `The code system '${VERSIONED}' version '1.2.0' for the versionless include in the ValueSet include is different to the one in the value ('2.0.0')`,
        ],
        ['error', 'not-found', 'not-found', 'system', unknown],
      ],
    });
  });

  test('the value set pins a version that does not exist', () => {
    const unknown = `A definition for CodeSystem '${VERSIONED}' version '9.9.9' could not be found, so the code cannot be validated. Valid versions: 1.0.0 or 1.2.0`;
    expect(inValueSet('versioned-bad', coding({ system: VERSIONED, code: 'v1' }))).toEqual({
      result: false,
      code: 'v1',
      system: VERSIONED,
      version: '1.2.0',
      message: unknown,
      causedByUnknownSystems: [`${VERSIONED}|9.9.9`],
      issues: [['error', 'not-found', 'not-found', 'Coding.system', unknown]],
    });
  });

  test('check-system-version refuses another version', () => {
    const text = `The version '1.2.0' is not allowed for system '${VERSIONED}': required to be '1.0.x' by a version-check parameter`;
    expect(
      inValueSet('versioned-1x', coding({ system: VERSIONED, code: 'v1' }), {
        versionRules: rules('checks', VERSIONED, '1.0.x'),
      }),
    ).toEqual({
      result: false,
      code: 'v1',
      system: VERSIONED,
      version: '1.2.0',
      display: v('1.2.0'),
      message: text,
      issues: [['error', 'exception', 'version-error', 'Coding.version', text]],
    });
  });
});

describe('validateCodeInValueSet: inferSystem', () => {
  test('the only system that has the code', () => {
    expect(inValueSet('two-systems', code({ code: 'm1' }), { inferSystem: true })).toEqual({
      result: true,
      code: 'm1',
      system: MULTI,
      display: 'One',
    });
  });

  test('no system has the code', () => {
    const text = `The System URI could not be determined for the code 'zz' in the ValueSet '${VS}two-systems|1.0'`;
    expect(inValueSet('two-systems', code({ code: 'zz' }), { inferSystem: true })).toEqual({
      result: false,
      code: 'zz',
      message: `${text}; ${notFound('#zz', 'two-systems')}`,
      issues: [
        ['error', 'not-found', 'cannot-infer', 'code', text],
        ['error', 'code-invalid', 'not-in-vs', 'code', notFound('#zz', 'two-systems')],
      ],
    });
  });

  test('a value set of one code system: the code is reported against it', () => {
    expect(inValueSet('simple-all', code({ code: 'zz' }), { inferSystem: true })).toEqual({
      result: false,
      code: 'zz',
      message: notFound(`${SIMPLE}#zz`, 'simple-all'),
      issues: [['error', 'code-invalid', 'not-in-vs', 'code', notFound(`${SIMPLE}#zz`, 'simple-all')]],
    });
  });
});

describe('validateCodeInValueSet: value sets that cannot be evaluated', () => {
  function error(id: string): OperationOutcomeError {
    try {
      inValueSet(id, coding({ system: SIMPLE, code: 'code1' }));
    } catch (e) {
      if (e instanceof OperationOutcomeError) return e;
      throw e;
    }
    throw new Error('no error');
  }

  test.each([
    {
      id: 'simple-broken',
      status: 400,
      issue: {
        severity: 'error',
        code: 'invalid',
        details: {
          coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: 'vs-invalid' }],
          text: `The system ${SIMPLE} filter with property = concept, op = is-a has no value`,
        },
        extension: [{ url: MESSAGE_ID, valueString: 'UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE' }],
        location: ['ValueSet.compose.include[0].filter[0]'],
        expression: ['ValueSet.compose.include[0].filter[0]'],
      },
    },
    {
      id: 'circle-a',
      status: 422,
      issue: {
        severity: 'error',
        code: 'processing',
        details: {
          coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: 'vs-invalid' }],
          text: `Found a circularity pointing to ${VS}circle-a|1.0 processing ValueSet with pathway [${VS}circle-a|1.0, ${VS}circle-b|1.0]`,
        },
        extension: [{ url: MESSAGE_ID, valueString: 'VALUESET_CIRCULAR_REFERENCE' }],
      },
    },
  ])('$id: HTTP $status', ({ id, status, issue }) => {
    const e = error(id);
    expect(e.status).toBe(status);
    expect(e.outcome.issue).toEqual([issue]);
  });

  test('an unknown value set: 422', () => {
    expect(() => resolveValueSet(ctx(), `${VS}nowhere`, '2')).toThrow(
      `A definition for the value Set '${VS}nowhere|2' could not be found`,
    );
  });

  test('a required supplement that does not exist: 422', () => {
    const c = ctx();
    const vs = resolveValueSet(c, `${VS}multi-all`, undefined);
    const run = () =>
      validateCodeInValueSet(c, vs, coding({ system: MULTI, code: 'm1' }), {
        useSupplements: ['http://example.org/none'],
      });
    expect(run).toThrow('Required supplement not found: http://example.org/none');
  });

  test('an imported value set that cannot be found: result false', () => {
    expect(inValueSet('import-missing', code({ system: SIMPLE, code: 'code1' }))).toEqual({
      result: false,
      code: 'code1',
      system: SIMPLE,
      version: '0.1.0',
      message: `A definition for the value Set '${VS}nowhere' could not be found`,
      issues: [
        [
          'error',
          'not-found',
          'not-found',
          undefined,
          `A definition for the value Set '${VS}nowhere' could not be found`,
        ],
      ],
    });
  });

  test('a contained value set imported with #id', () => {
    const vs: ValueSet = {
      resourceType: 'ValueSet',
      status: 'active',
      contained: [
        {
          resourceType: 'ValueSet',
          id: 'inner',
          status: 'active',
          compose: { include: [{ system: SIMPLE, concept: [{ code: 'code1' }] }] },
        },
      ],
      compose: { include: [{ valueSet: ['#inner', `${VS}simple-all`] }] },
    };
    const good = validateCodeInValueSet(ctx(), vs, coding({ system: SIMPLE, code: 'code1' }));
    expect(good.result).toBe(true);
    const bad = validateCodeInValueSet(ctx(), vs, coding({ system: SIMPLE, code: 'code3' }));
    expect(bad.result).toBe(false);
    expect(bad.message).toBe(`The provided code '${SIMPLE}#code3' was not found in the value set '(unidentified)'`);
  });
});

describe('validateCodeInCodeSystem', () => {
  test.each([
    {
      name: 'a known code',
      target: { url: SIMPLE },
      input: code({ system: SIMPLE, code: 'code1' }),
      expected: { result: true, code: 'code1', system: SIMPLE, version: '0.1.0', display: 'Display 1' },
    },
    {
      name: 'an unknown code: only the code system finding',
      target: { url: SIMPLE },
      input: code({ system: SIMPLE, code: 'nope' }),
      expected: {
        result: false,
        code: 'nope',
        system: SIMPLE,
        version: '0.1.0',
        message: `Unknown code 'nope' in the CodeSystem '${SIMPLE}' version '0.1.0'`,
        issues: [
          [
            'error',
            'code-invalid',
            'invalid-code',
            'code',
            `Unknown code 'nope' in the CodeSystem '${SIMPLE}' version '0.1.0'`,
          ],
        ],
      },
    },
    {
      name: 'an unknown code system',
      target: { url: 'http://example.org/unknown' },
      input: coding({ system: 'http://example.org/unknown', code: 'x' }),
      expected: {
        result: false,
        code: 'x',
        system: 'http://example.org/unknown',
        message:
          "A definition for CodeSystem 'http://example.org/unknown' could not be found, so the code cannot be validated",
        causedByUnknownSystems: ['http://example.org/unknown'],
        issues: [
          [
            'error',
            'not-found',
            'not-found',
            'Coding.system',
            "A definition for CodeSystem 'http://example.org/unknown' could not be found, so the code cannot be validated",
          ],
        ],
      },
    },
    {
      name: 'an unknown version',
      target: { url: VERSIONED, version: '3' },
      input: code({ system: VERSIONED, version: '3', code: 'v1' }),
      expected: {
        result: false,
        code: 'v1',
        system: VERSIONED,
        version: '3',
        message: `A definition for CodeSystem '${VERSIONED}' version '3' could not be found, so the code cannot be validated. Valid versions: 1.0.0 or 1.2.0`,
        causedByUnknownSystems: [`${VERSIONED}|3`],
        issues: [
          [
            'error',
            'not-found',
            'not-found',
            'system',
            `A definition for CodeSystem '${VERSIONED}' version '3' could not be found, so the code cannot be validated. Valid versions: 1.0.0 or 1.2.0`,
          ],
        ],
      },
    },
    {
      name: 'a code system passed as a resource',
      target: {
        codeSystem: {
          resourceType: 'CodeSystem' as const,
          url: 'http://example.org/inline',
          status: 'active' as const,
          content: 'complete' as const,
          concept: [{ code: 'i1', display: 'Inline' }],
        },
      },
      input: code({ code: 'i1' }),
      expected: { result: true, code: 'i1', system: 'http://example.org/inline', display: 'Inline' },
    },
  ])('$name', ({ target, input, expected }) => {
    expect(summary(validateCodeInCodeSystem(ctx(), target, input))).toEqual(expected);
  });
});
