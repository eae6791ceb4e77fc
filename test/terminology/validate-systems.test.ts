import type { ValueSet } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { resolveValueSet, validateCodeInCodeSystem, validateCodeInValueSet } from '../../src/terminology/validate.ts';
import { NO_VERSION_RULES, type VersionRules } from '../../src/terminology/version-rules.ts';
import {
  code,
  coding,
  ctx,
  inValueSet,
  MULTI,
  notFound,
  SIMPLE,
  SUPPLEMENT,
  summary,
  VERSIONED,
  VS,
} from './validate-fixtures.ts';

/**
 * validateCodeInValueSet with code system versions and inferSystem, value sets that cannot be
 * evaluated, and validateCodeInCodeSystem. The rest of the $validate-code engine tests are in
 * validate.test.ts.
 */

const MESSAGE_ID = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id';

function rules(kind: keyof VersionRules, url: string, version: string): VersionRules {
  const r: VersionRules = { defaults: new Map(), checks: new Map(), forces: new Map() };
  r[kind].set(url, version);
  return r;
}

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

  test('several systems have the code: they are listed, comma-separated, as the reference server lists them', () => {
    const cs = (url: string) => ({
      resourceType: 'CodeSystem' as const,
      url,
      version: '1',
      status: 'active' as const,
      content: 'complete' as const,
      concept: [{ code: 'x', display: 'X' }],
    });
    const both: ValueSet = {
      resourceType: 'ValueSet',
      url: 'http://example.org/vs/both',
      version: '1',
      status: 'active',
      compose: { include: [{ system: 'http://example.org/cs/a' }, { system: 'http://example.org/cs/b' }] },
    };
    const store = new TerminologyStore();
    for (const r of [cs('http://example.org/cs/a'), cs('http://example.org/cs/b'), both]) store.add(r);
    const r = validateCodeInValueSet(new TxContext(store), both, code({ code: 'x' }), { inferSystem: true });
    expect(r.result).toBe(false);
    expect(r.issues.map((i) => i.details?.text)).toContain(
      "The System URI could not be determined for the code 'x' in the ValueSet 'http://example.org/vs/both|1': value set expansion has multiple matches: [http://example.org/cs/a, http://example.org/cs/b]",
    );
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
  test('a supplement named as the system of a coding: an error naming the system as given', () => {
    for (const target of [{ url: SUPPLEMENT }, { url: SIMPLE }]) {
      const r = summary(validateCodeInCodeSystem(ctx(), target, coding({ system: SUPPLEMENT, code: 'code1' })));
      expect(r.result).toBe(false);
      expect(r.message).toBe(`CodeSystem ${SUPPLEMENT} is a supplement, so can't be used as a value in Coding.system`);
    }
  });

  test('a deprecated concept named by a bare code: the warning names the code parameter', () => {
    const r = summary(validateCodeInCodeSystem(ctx(), { url: SIMPLE }, code({ system: SIMPLE, code: 'code3' })));
    expect(r.result).toBe(true);
    expect(r.issues).toEqual([
      [
        'warning',
        'business-rule',
        'code-comment',
        'code',
        "The concept 'code3' is deprecated and its use should be reviewed",
      ],
    ]);
  });

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
        // an unknown code names no version of its own (the message names the one searched)
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
