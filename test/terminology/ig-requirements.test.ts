import type { CodeSystem, ValueSet, ValueSetExpansionParameter } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { InputParams } from '../../src/http/params.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { expandValueSet } from '../../src/terminology/expand.ts';
import { lookupCode } from '../../src/terminology/lookup.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import {
  type ValidationResult,
  validateCodeInCodeSystem,
  validateCodeInValueSet,
} from '../../src/terminology/validate.ts';
import { NO_VERSION_RULES, parseValueSetVersionRules } from '../../src/terminology/version-rules.ts';

/**
 * Requirements of the HL7 terminology ecosystem IG (requirements.md), tested from the text:
 * status of what an answer depends on, CodeSystem.content, several versions of one code system
 * in one value set, and code systems named by any of their identifiers.
 */

const BASE = 'http://example.org/fhir/CodeSystem/';
const VSB = 'http://example.org/fhir/ValueSet/';
const STANDARDS = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status';

function cs(id: string, extra: Partial<CodeSystem> = {}, codes = ['a', 'b']): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url: `${BASE}${id}`,
    version: '1.0',
    status: 'active',
    content: 'complete',
    concept: codes.map((c) => ({ code: c, display: `Display ${c}` })),
    ...extra,
  };
}

function vs(id: string, include: ValueSet['compose'], extra: Partial<ValueSet> = {}): ValueSet {
  return { resourceType: 'ValueSet', url: `${VSB}${id}`, version: '1', status: 'active', compose: include, ...extra };
}

function context(...resources: (CodeSystem | ValueSet)[]): TxContext {
  const store = new TerminologyStore();
  for (const r of resources) store.add(r);
  return new TxContext(store);
}

function params(v: ValueSet): string[] {
  return (v.expansion?.parameter ?? []).map(
    (p: ValueSetExpansionParameter) => `${p.name}=${p.valueUri ?? p.valueString ?? p.valueBoolean ?? p.valueCode}`,
  );
}

function issues(r: ValidationResult): string[] {
  return r.issues.map((i) => `${i.severity}|${i.details?.coding?.[0]?.code}|${i.details?.text}`);
}

const coding = (system: string, code: string, version?: string) => ({
  mode: 'coding' as const,
  codings: [{ system, code, ...(version ? { version } : {}) }],
});

describe('status of what an answer depends on', () => {
  const draft = cs('draft', { status: 'draft' });
  const experimental = cs('experimental', { experimental: true });
  const retired = cs('retired', { status: 'retired' });
  const deprecated = cs('deprecated', { extension: [{ url: STANDARDS, valueCode: 'deprecated' }] });
  const withdrawn = cs('withdrawn', { extension: [{ url: STANDARDS, valueCode: 'withdrawn' }] });
  const all = [draft, experimental, retired, deprecated, withdrawn];
  const uses = vs('uses', { include: all.map((c) => ({ system: c.url })) });
  const draftVs = vs('draft-vs', { include: [{ system: draft.url }] }, { status: 'draft' });
  const importer = vs('importer', { include: [{ valueSet: [`${VSB}retired-vs`] }] });
  const retiredVs = vs('retired-vs', { include: [{ system: `${BASE}plain` }] }, { status: 'retired' });
  const ctx = context(...all, uses, draftVs, importer, retiredVs, cs('plain'));

  test('$expand reports each code system whose status differs from the value set in a warning-* parameter', () => {
    const p = params(expandValueSet(ctx, uses));
    expect(p).toContain(`warning-draft=${draft.url}|1.0`);
    expect(p).toContain(`warning-experimental=${experimental.url}|1.0`);
    expect(p).toContain(`warning-retired=${retired.url}|1.0`);
    expect(p).toContain(`warning-deprecated=${deprecated.url}|1.0`);
    expect(p).toContain(`warning-withdrawn=${withdrawn.url}|1.0`);
  });

  test('a draft value set may use a draft code system without a warning', () => {
    expect(params(expandValueSet(ctx, draftVs)).filter((x) => x.startsWith('warning-'))).toEqual([]);
  });

  test('an imported value set that is retired is reported', () => {
    expect(params(expandValueSet(ctx, importer))).toContain(`warning-retired=${VSB}retired-vs|1`);
  });

  test('the value set expanded is reported when it is itself retired, deprecated or withdrawn, not when draft', () => {
    expect(params(expandValueSet(ctx, retiredVs))).toContain(`warning-retired=${VSB}retired-vs|1`);
    for (const status of ['deprecated', 'withdrawn']) {
      const own = vs(
        `${status}-vs`,
        { include: [{ system: `${BASE}plain` }] },
        {
          extension: [{ url: STANDARDS, valueCode: status }],
        },
      );
      const c = context(own, cs('plain'));
      expect(params(expandValueSet(c, own))).toContain(`warning-${status}=${VSB}${status}-vs|1`);
    }
    expect(params(expandValueSet(ctx, draftVs)).filter((p) => p.startsWith('warning-'))).toEqual([]);
  });

  test('$validate-code reports the status as information (tx-issue-type status-check), outside the message', () => {
    const r = validateCodeInValueSet(ctx, uses, coding(retired.url as string, 'a'));
    expect(r.result).toBe(true);
    expect(issues(r)).toEqual([`information|status-check|Reference to retired CodeSystem ${retired.url}|1.0`]);
    expect(r.message).toBeUndefined();
    // a draft used by a value set that is not draft (MSG_DRAFT, as the 1.9.3 deprecated tests have it)
    expect(issues(validateCodeInValueSet(ctx, uses, coding(draft.url as string, 'a')))).toEqual([
      `information|status-check|Reference to draft CodeSystem ${draft.url}|1.0`,
    ]);
    expect(
      validateCodeInValueSet(ctx, uses, coding(draft.url as string, 'a')).issues[0]?.extension?.[0]?.valueString,
    ).toBe('MSG_DRAFT');
    expect(issues(validateCodeInValueSet(ctx, draftVs, coding(draft.url as string, 'a')))).toEqual([]);
  });

  test('a deprecated value set is reported by $validate-code', () => {
    const dvs = vs(
      'dep-vs',
      { include: [{ system: `${BASE}plain` }] },
      { extension: [{ url: STANDARDS, valueCode: 'deprecated' }] },
    );
    const c = context(cs('plain'), dvs);
    expect(issues(validateCodeInValueSet(c, dvs, coding(`${BASE}plain`, 'a')))).toEqual([
      `information|status-check|Reference to deprecated ValueSet ${VSB}dep-vs|1`,
    ]);
  });

  test('a concept whose inclusion is deprecated in the value set: a warning, still valid', () => {
    const v = vs('dep-concept', {
      include: [
        {
          system: `${BASE}plain`,
          concept: [{ code: 'a', extension: [{ url: STANDARDS, valueCode: 'deprecated' }] }, { code: 'b' }],
        },
      ],
    });
    const r = validateCodeInValueSet(context(cs('plain'), v), v, coding(`${BASE}plain`, 'a'));
    expect(r.result).toBe(true);
    expect(issues(r)[0]).toContain('warning|code-comment|The presence of the concept');
  });

  test('an inactive (withdrawn) designation given as the display: valid display, but no longer current', () => {
    const c = cs('designations', {}, []);
    c.concept = [
      {
        code: 'a',
        display: 'Current',
        designation: [{ value: 'Old name', extension: [{ url: STANDARDS, valueCode: 'withdrawn' }] }],
      },
    ];
    const ctx2 = context(c);
    const input = { mode: 'coding' as const, codings: [{ system: c.url, code: 'a', display: 'Old name' }] };
    // requirements.md: "an inactive display causes a warning that the display is no longer current
    // (but it is valid)", with or without lenient-display-validation
    const expected = [
      `warning|display-comment|'Old name' is no longer considered a correct display for code 'a' (status = withdrawn). The correct display is one of "Current".`,
    ];
    for (const lenientDisplay of [false, true]) {
      const r = validateCodeInCodeSystem(ctx2, { url: c.url }, input, { lenientDisplay });
      expect(r.result).toBe(true);
      expect(issues(r)).toEqual(expected);
      expect(r.message).toBeUndefined();
    }
  });

  test('a designation of use SNOMED CT |Inactive value| is inactive too: valid, no longer current', () => {
    const c = cs('inactive-use', {}, []);
    const inactiveValue = { system: 'http://snomed.info/sct', code: '900000000000546006' };
    c.concept = [{ code: 'a', display: 'Current', designation: [{ value: 'Former', use: inactiveValue }] }];
    const ctx2 = context(c);
    const r = validateCodeInCodeSystem(
      ctx2,
      { url: c.url },
      {
        mode: 'coding',
        codings: [{ system: c.url, code: 'a', display: 'Former' }],
      },
    );
    expect(r.result).toBe(true);
    expect(issues(r)).toEqual([
      `warning|display-comment|'Former' is no longer considered a correct display for code 'a' (status = inactive). The correct display is one of "Current".`,
    ]);
    // it is no display to offer: $lookup and $expand keep to the current one
    expect(r.display).toBe('Current');
    // a code with no current display at all: the warning names none
    c.concept = [{ code: 'b', designation: [{ value: 'Former', use: inactiveValue }] }];
    const none = validateCodeInCodeSystem(
      context(c),
      { url: c.url },
      {
        mode: 'coding',
        codings: [{ system: c.url, code: 'b', display: 'Former' }],
      },
    );
    expect(issues(none)).toEqual([
      `warning|display-comment|'Former' is no longer considered a correct display for code 'b' (status = inactive).`,
    ]);
  });
});

describe('a concept status stated by the standards-status extension', () => {
  // requirements.md, Inactive Codes: "if there is no status property for a concept, the
  // standards-status extension may provide the status"; Extensions: "The status codes 'withdrawn'
  // and 'deprecated' mean that the concept / designation is inactive" (deprecated concepts stay
  // active as the HL7 tests have it since 1.9.3: a warning, not inactive)
  const c = cs('standards', {}, []);
  c.concept = [
    { code: 'w', display: 'Withdrawn', extension: [{ url: STANDARDS, valueCode: 'withdrawn' }] },
    { code: 'd', display: 'Deprecated', extension: [{ url: STANDARDS, valueCode: 'deprecated' }] },
    {
      code: 'p',
      display: 'Property wins',
      property: [{ code: 'status', valueCode: 'active' }],
      extension: [{ url: STANDARDS, valueCode: 'withdrawn' }],
    },
    { code: 'n', display: 'Normative', extension: [{ url: STANDARDS, valueCode: 'normative' }] },
  ];
  c.property = [{ code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status', type: 'code' }];
  const all = vs('standards-all', { include: [{ system: c.url }] });
  const ctx2 = context(c, all);

  test('withdrawn: inactive in the expansion, left out with activeOnly, valid with a warning, inactive and status', () => {
    const expansion = expandValueSet(ctx2, all, {}).expansion;
    const w = expansion?.contains?.find((x) => x.code === 'w');
    expect(w?.inactive).toBe(true);
    expect(JSON.stringify(w)).toContain('"valueCode":"withdrawn"');
    expect(expandValueSet(ctx2, all, { activeOnly: true }).expansion?.contains?.map((x) => x.code)).toEqual([
      'd',
      'p',
      'n',
    ]);
    const r = validateCodeInValueSet(ctx2, all, coding(c.url as string, 'w'));
    expect(r).toMatchObject({ result: true, inactive: true, status: 'withdrawn' });
    expect(issues(r)[0]).toMatch(/^warning\|code-comment\|The concept 'w' has a status of withdrawn/);
    expect(validateCodeInValueSet(ctx2, all, coding(c.url as string, 'w'), { activeOnly: true }).result).toBe(false);
    const looked = lookupCode(ctx2, { system: c.url as string, code: 'w' }).properties.map(
      (p) => `${p.code}=${p.value}`,
    );
    expect(looked).toEqual(['status=withdrawn', 'inactive=true']);
  });

  test('filters on inactive and status judge the concept as $validate-code does', () => {
    const codes = (filter: { property: string; op: 'in' | '='; value: string }) => {
      const v = vs('standards-filter', { include: [{ system: c.url, filter: [filter] }] });
      return expandValueSet(context(c, v), v, {}).expansion?.contains?.map((x) => x.code);
    };
    expect(codes({ property: 'inactive', op: '=', value: 'true' })).toEqual(['w']);
    expect(codes({ property: 'inactive', op: '=', value: 'false' })).toEqual(['d', 'p', 'n']);
    expect(codes({ property: 'status', op: '=', value: 'withdrawn' })).toEqual(['w']);
    expect(codes({ property: 'status', op: 'in', value: 'deprecated,active' })).toEqual(['d', 'p']);
  });

  test('a code system that declares `inactive`: a concept without it is judged by its status', () => {
    const declared = cs('declares-inactive', {}, []);
    declared.property = [
      { code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status', type: 'code' },
      { code: 'inactive', uri: 'http://hl7.org/fhir/concept-properties#inactive', type: 'boolean' },
    ];
    declared.concept = [
      { code: 'a' },
      { code: 'r', property: [{ code: 'status', valueCode: 'retired' }] },
      { code: 'i', property: [{ code: 'inactive', valueBoolean: true }] },
      {
        code: 'f',
        property: [
          { code: 'status', valueCode: 'retired' },
          { code: 'inactive', valueBoolean: false },
        ],
      },
    ];
    const codes = (value: string) => {
      const v = vs('declared-filter', {
        include: [{ system: declared.url, filter: [{ property: 'inactive', op: '=', value }] }],
      });
      return expandValueSet(context(declared, v), v, {}).expansion?.contains?.map((x) => x.code);
    };
    expect(codes('true')).toEqual(['r', 'i']);
    expect(codes('false')).toEqual(['a', 'f']);
  });

  test('deprecated: active, a warning; a status property is read before the extension', () => {
    const d = validateCodeInValueSet(ctx2, all, coding(c.url as string, 'd'));
    expect(d).toMatchObject({ result: true, status: 'deprecated' });
    expect(d.inactive).toBeUndefined();
    expect(issues(d)[0]).toContain("warning|code-comment|The concept 'd' is deprecated");
    for (const code of ['p', 'n']) {
      const r = validateCodeInValueSet(ctx2, all, coding(c.url as string, code));
      expect(r.result).toBe(true);
      expect(r.inactive).toBeUndefined();
      expect(r.issues).toEqual([]);
    }
  });
});

describe('CodeSystem.content', () => {
  const fragment = cs('fragment', { content: 'fragment' });
  const stub = cs('stub', { content: 'not-present' }, []);
  const example = cs('example', { content: 'example' });
  const ctx = context(fragment, stub, example);

  test('an unknown code in a fragment: a warning, not an error (it may be in another fragment)', () => {
    const r = validateCodeInCodeSystem(ctx, { url: fragment.url }, coding(fragment.url as string, 'zz'));
    expect(r.result).toBe(true);
    expect(issues(r)).toEqual([
      `warning|invalid-code|Unknown Code 'zz' in the CodeSystem '${fragment.url}' version '1.0' - note that the code system is labeled as a fragment, so the code may be valid in some other fragment`,
    ]);
  });

  test('the expansion of a fragment says it is not closed', () => {
    const e = expandValueSet(ctx, vs('frag', { include: [{ system: fragment.url }] }));
    expect(e.expansion?.extension).toContainEqual({
      url: 'http://hl7.org/fhir/StructureDefinition/valueset-unclosed',
      valueBoolean: true,
    });
    expect(params(e)).toContain(`used-fragment=${fragment.url}|1.0`);
  });

  test.each([
    ['not-present', `${BASE}stub`],
    ['example', `${BASE}example`],
  ])('a %s code system is answered like an unknown one (cannot check, not invalid)', (_content, url) => {
    const r = validateCodeInCodeSystem(ctx, { url }, coding(url, 'a'));
    expect(r.result).toBe(false);
    expect(r.causedByUnknownSystems).toEqual([url]);
    expect(issues(r).join()).not.toContain('Unknown code');
    const v = vs('uses-stub', { include: [{ system: url }] });
    const inVs = validateCodeInValueSet(context(stub, example, v), v, coding(url, 'a'));
    expect(inVs.result).toBe(false);
    expect(inVs.causedByUnknownSystems).toEqual([url]);
    expect(() => expandValueSet(ctx, v)).toThrow(`A definition for CodeSystem '${url}' could not be found`);
  });
});

describe('several versions of one code system in one value set', () => {
  const v1 = cs('ver', { version: '1.0' }, ['a', 'b', 'c']);
  const v2 = cs('ver', { version: '2.0' }, ['a', 'b', 'd']);
  const url = `${BASE}ver`;
  const ctx = context(v1, v2);
  const codes = (v: ValueSet) => (v.expansion?.contains ?? []).map((c) => `${c.version ?? ''}#${c.code}`).sort();

  test('includes pinned to two versions: codes carry their version, counted per version', () => {
    const e = expandValueSet(
      ctx,
      vs('both', {
        include: [
          { system: url, version: '1.0' },
          { system: url, version: '2.0' },
        ],
      }),
    );
    expect(codes(e)).toEqual(['1.0#a', '1.0#b', '1.0#c', '2.0#a', '2.0#b', '2.0#d']);
    expect(e.expansion?.total).toBe(6);
  });

  test('an exclude pinned to one version removes codes of that version only', () => {
    const e = expandValueSet(
      ctx,
      vs('both-ex', {
        include: [
          { system: url, version: '1.0' },
          { system: url, version: '2.0' },
        ],
        exclude: [{ system: url, version: '2.0', concept: [{ code: 'a' }] }],
      }),
    );
    expect(codes(e)).toEqual(['1.0#a', '1.0#b', '1.0#c', '2.0#b', '2.0#d']);
    expect(e.expansion?.total).toBe(5);
  });

  test('including one version and excluding another removes the code by code (versionsMatch)', () => {
    const e = expandValueSet(
      ctx,
      vs('cross', {
        include: [{ system: url, version: '2.0' }],
        exclude: [{ system: url, version: '1.0', concept: [{ code: 'a' }] }],
      }),
    );
    expect(codes(e)).toEqual(['2.0#b', '2.0#d']);
    expect(params(e)).toContain('versionsMatch=true');
  });

  test('an unpinned include and a pinned one are merged, newest first', () => {
    const e = expandValueSet(ctx, vs('mixed', { include: [{ system: url }, { system: url, version: '1.0' }] }));
    expect(codes(e)).toEqual(['1.0#a', '1.0#b', '1.0#c', '2.0#a', '2.0#b', '2.0#d']);
  });

  test('$validate-code: a coding in a version the value set pins is valid, another version is not', () => {
    const v = vs('one', { include: [{ system: url, version: '1.0' }] });
    expect(validateCodeInValueSet(ctx, v, coding(url, 'c', '1.0')).result).toBe(true);
    const wrong = validateCodeInValueSet(ctx, v, coding(url, 'a', '2.0'));
    expect(wrong.result).toBe(false);
    expect(issues(wrong).join()).toContain(
      "version '1.0' in the ValueSet include is different to the one in the value ('2.0')",
    );
  });

  test('force-system-version overrides the version of the include', () => {
    const v = vs('force', { include: [{ system: url, version: '1.0' }] });
    const e = expandValueSet(ctx, v, { rules: { ...NO_VERSION_RULES, forces: new Map([[url, '2.0']]) } });
    expect(codes(e)).toEqual(['#a', '#b', '#d']);
    expect(params(e)).toContain(`force-system-version=${url}|2.0`);
  });
});

describe('a code system named by any of its identifiers', () => {
  const oid = 'urn:oid:2.999.77';
  const c = cs('aliased', { identifier: [{ system: 'urn:ietf:rfc:3986', value: oid }] });
  const byOid = vs('by-oid', { include: [{ system: oid }] });
  const ctx = context(c, byOid);

  test('a value set including the OID expands to the code system, under its canonical URL', () => {
    const e = expandValueSet(ctx, byOid);
    expect((e.expansion?.contains ?? []).map((x) => `${x.system}#${x.code}`)).toEqual([`${c.url}#a`, `${c.url}#b`]);
  });

  test.each([
    ['OID coding, OID include', oid],
    ['URL coding, OID include', c.url as string],
  ])('%s: the code validates', (_name, system) => {
    expect(validateCodeInValueSet(ctx, byOid, coding(system, 'a')).result).toBe(true);
    expect(validateCodeInValueSet(ctx, byOid, coding(system, 'zz')).result).toBe(false);
  });

  test('CodeSystem $validate-code by the OID', () => {
    expect(validateCodeInCodeSystem(ctx, { url: oid }, coding(oid, 'b')).result).toBe(true);
  });
});

describe('value set versions: default-, check- and force-valueset-version', () => {
  const plain = cs('plain', {}, ['a', 'b', 'c']);
  const v1 = vs('versioned', { include: [{ system: plain.url, concept: [{ code: 'a' }] }] }, { version: '1' });
  const v2 = vs('versioned', { include: [{ system: plain.url, concept: [{ code: 'b' }] }] }, { version: '2' });
  const importer = vs('imports-versioned', { include: [{ valueSet: [`${VSB}versioned`] }] });
  const pinnedMissing = vs('imports-missing', { include: [{ valueSet: [`${VSB}versioned|9`] }] });
  const ctx = context(plain, v1, v2, importer, pinnedMissing);
  const rules = (kind: 'defaults' | 'checks' | 'forces', version: string) => ({
    ...NO_VERSION_RULES,
    [kind]: new Map([[`${VSB}versioned`, version]]),
  });
  const codes = (v: ValueSet) => (v.expansion?.contains ?? []).map((c) => c.code);

  test('an import without a version takes the newest', () => {
    expect(codes(expandValueSet(ctx, importer))).toEqual(['b']);
  });

  test('default-valueset-version picks the version of a versionless import', () => {
    expect(codes(expandValueSet(ctx, importer, { valueSetRules: rules('defaults', '1') }))).toEqual(['a']);
    const r = validateCodeInValueSet(ctx, importer, coding(plain.url as string, 'a'), {
      valueSetVersionRules: rules('defaults', '1'),
    });
    expect(r.result).toBe(true);
  });

  test('valueset-version is read as default-valueset-version, which wins when both name a value set', () => {
    const defs = [
      { name: 'valueset-version', type: 'canonical' as const, max: '*' as const },
      { name: 'default-valueset-version', type: 'canonical' as const, max: '*' as const },
    ];
    const read = (...parameter: { name: string; valueCanonical: string }[]) =>
      parseValueSetVersionRules(InputParams.fromParameters({ resourceType: 'Parameters', parameter }, defs)).defaults;
    expect(read({ name: 'valueset-version', valueCanonical: `${VSB}versioned|1` })).toEqual(
      new Map([[`${VSB}versioned`, '1']]),
    );
    expect(
      read(
        { name: 'default-valueset-version', valueCanonical: `${VSB}versioned|2` },
        { name: 'valueset-version', valueCanonical: `${VSB}versioned|1` },
      ),
    ).toEqual(new Map([[`${VSB}versioned`, '2']]));
  });

  test('force-valueset-version overrides a pinned import', () => {
    const pinned = vs('imports-v2', { include: [{ valueSet: [`${VSB}versioned|2`] }] });
    const c = context(plain, v1, v2, pinned);
    expect(codes(expandValueSet(c, pinned, { valueSetRules: rules('forces', '1') }))).toEqual(['a']);
  });

  test('an import pinned to a version that does not exist: $expand 422, $validate-code result false', () => {
    expect(() => expandValueSet(ctx, pinnedMissing)).toThrow(
      `Unable to find included value set '${VSB}versioned' version '9'`,
    );
    const r = validateCodeInValueSet(ctx, pinnedMissing, coding(plain.url as string, 'a'));
    expect(r.result).toBe(false);
    expect(r.message).toBe(`A definition for the value Set '${VSB}versioned|9' could not be found`);
  });
});

describe('languages', () => {
  const multi = cs('lang', { language: 'en' }, []);
  multi.concept = [
    {
      code: 'a',
      display: 'Heart',
      designation: [
        { language: 'nb', value: 'Hjerte' },
        { language: 'de', value: 'Herz' },
      ],
    },
  ];
  const noLanguage = cs('no-language', {}, ['a']);
  const v = vs('lang-vs', { include: [{ system: multi.url }] });
  const ctx = context(multi, noLanguage, v);
  const display = (system: string, code: string, d: string) => ({
    mode: 'coding' as const,
    codings: [{ system, code, display: d }],
  });

  test('displayLanguage picks the display of the expansion; Accept-Language applies when there is none', () => {
    const nb = expandValueSet(ctx, v, { displayLanguage: 'nb' });
    expect(nb.expansion?.contains?.[0]?.display).toBe('Hjerte');
    const header = expandValueSet(ctx, v, { acceptLanguage: 'de' });
    expect(header.expansion?.contains?.[0]?.display).toBe('Herz');
    const both = expandValueSet(ctx, v, { displayLanguage: 'nb', acceptLanguage: 'de' });
    expect(both.expansion?.contains?.[0]?.display).toBe('Hjerte');
  });

  test('no display in the language asked for, but valid in the default language: information, still valid', () => {
    const r = validateCodeInValueSet(ctx, v, display(multi.url as string, 'a', 'Heart'), { displayLanguage: 'fr' });
    expect(r.result).toBe(true);
    expect(issues(r).join()).toContain('information|invalid-display|');
  });

  test('a display in another language than the one asked for, which has displays: an error', () => {
    const r = validateCodeInValueSet(ctx, v, display(multi.url as string, 'a', 'Heart'), { displayLanguage: 'nb' });
    expect(r.result).toBe(false);
    expect(issues(r)[0]).toContain("Valid display is 'Hjerte' (nb)");
  });

  test('a wrong display is an error, a warning when lenient', () => {
    const strict = validateCodeInValueSet(ctx, v, display(multi.url as string, 'a', 'Lung'));
    expect(strict.result).toBe(false);
    expect(issues(strict)[0]).toMatch(/^error\|invalid-display\|Wrong Display Name 'Lung'/);
    const lenient = validateCodeInValueSet(ctx, v, display(multi.url as string, 'a', 'Lung'), { lenientDisplay: true });
    expect(lenient.result).toBe(true);
    expect(issues(lenient)[0]).toMatch(/^warning\|invalid-display\|/);
  });

  test('a code system without a language: its displays count for any language asked for', () => {
    const r = validateCodeInCodeSystem(
      ctx,
      { url: noLanguage.url },
      display(noLanguage.url as string, 'a', 'Display a'),
      {
        displayLanguage: 'nb',
      },
    );
    expect(r.result).toBe(true);
  });
});

describe('supplements and case', () => {
  test('a language pack sent with the request gives displays in its language without being asked for', () => {
    const base = cs('packed', { language: 'en' }, ['a']);
    const pack: CodeSystem = {
      resourceType: 'CodeSystem',
      url: `${BASE}packed-nb`,
      version: '1',
      status: 'active',
      content: 'supplement',
      supplements: base.url,
      language: 'nb',
      extension: [
        { url: 'http://hl7.org/fhir/StructureDefinition/codesystem-supplement-type', valueCode: 'lang-pack' },
      ],
      concept: [{ code: 'a', designation: [{ language: 'nb', value: 'Norsk a' }] }],
    };
    const v = vs('packed-vs', { include: [{ system: base.url }] });
    const ctx = context(base, v).withResources([pack]);
    expect(expandValueSet(ctx, v, { displayLanguage: 'nb' }).expansion?.contains?.[0]?.display).toBe('Norsk a');
    const r = validateCodeInValueSet(
      ctx,
      v,
      { mode: 'coding', codings: [{ system: base.url, code: 'a', display: 'Norsk a' }] },
      {
        displayLanguage: 'nb',
      },
    );
    expect(r.result).toBe(true);
    // a language pack is not a supplement the answer depends on: not reported as used-supplement
    expect(params(expandValueSet(ctx, v)).filter((p) => p.startsWith('used-supplement'))).toEqual([]);
  });

  test('a code system that does not say whether it is case sensitive compares codes without regard to case', () => {
    const c = cs('unsaid', {}, ['Abc']);
    const r = validateCodeInCodeSystem(context(c), { url: c.url }, coding(c.url as string, 'abc'));
    expect(r.result).toBe(true);
    expect(r.normalizedCode).toBe('Abc');
    const sensitive = cs('said', { caseSensitive: true }, ['Abc']);
    expect(
      validateCodeInCodeSystem(context(sensitive), { url: sensitive.url }, coding(sensitive.url as string, 'abc'))
        .result,
    ).toBe(false);
  });
});

describe('CodeSystem.versionNeeded and CodeSystem.compositional', () => {
  const needs = cs('needs-version', { versionNeeded: true });
  const composed = cs('compositional', { compositional: true });
  const plain = cs('plain-codes');
  const v = vs('needs-version-vs', { include: [{ system: needs.url }] });
  const ctx = context(needs, composed, plain, v);

  test('a coding without a version of a code system that needs one: an error on the version', () => {
    const r = validateCodeInCodeSystem(ctx, { url: needs.url }, coding(needs.url as string, 'a'));
    expect(r.result).toBe(false);
    expect(issues(r)).toEqual([
      `error|version-error|The code system '${needs.url}' says that a version is needed to interpret its codes (versionNeeded), but the coding has no version`,
    ]);
    expect(r.issues[0].expression).toEqual(['Coding.version']);
    const inVs = validateCodeInValueSet(ctx, v, coding(needs.url as string, 'a'));
    expect(inVs.result).toBe(false);
    expect(issues(inVs).join()).toContain('versionNeeded');
  });

  test('with its version the same coding is valid, in the code system and in the value set', () => {
    const r = validateCodeInCodeSystem(ctx, { url: needs.url }, coding(needs.url as string, 'a', '1.0'));
    expect(r.result).toBe(true);
    expect(r.issues).toEqual([]);
    expect(validateCodeInValueSet(ctx, v, coding(needs.url as string, 'a', '1.0')).result).toBe(true);
  });

  test('an unknown code of a compositional code system: invalid, and the answer says the grammar is not known', () => {
    const r = validateCodeInCodeSystem(ctx, { url: composed.url }, coding(composed.url as string, 'a:b'));
    expect(r.result).toBe(false);
    expect(issues(r)).toEqual([
      `error|invalid-code|Unknown code 'a:b' in the CodeSystem '${composed.url}' version '1.0'`,
      `warning|processing-note|The code system '${composed.url}' is compositional (codes may be expressions of other codes), but this server does not know its grammar: only the codes the code system lists are recognised`,
    ]);
  });

  test('an expression in a code system that is not compositional is just an unknown code', () => {
    const r = validateCodeInCodeSystem(ctx, { url: plain.url }, coding(plain.url as string, 'a:b'));
    expect(r.result).toBe(false);
    expect(issues(r)).toEqual([`error|invalid-code|Unknown code 'a:b' in the CodeSystem '${plain.url}' version '1.0'`]);
  });
});
