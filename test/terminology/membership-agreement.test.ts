import type {
  CodeSystem,
  CodeSystemConcept,
  ValueSet,
  ValueSetComposeInclude,
  ValueSetComposeIncludeFilter,
  ValueSetExpansionContains,
} from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { TxContext } from '../../src/terminology/context.ts';
import { expandValueSet } from '../../src/terminology/expand.ts';
import { resolveImplicitValueSet } from '../../src/terminology/implicit-valueset.ts';
import { lookupCode } from '../../src/terminology/lookup.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { subsumes } from '../../src/terminology/subsumes.ts';
import { validateCodeInCodeSystem, validateCodeInValueSet } from '../../src/terminology/validate.ts';
import { VALID_FROM_PROPERTY_URI, VALID_TO_PROPERTY_URI } from '../../src/terminology/validity.ts';
import type { VersionRules } from '../../src/terminology/version-rules.ts';
import { propertyRuns } from '../support/property.ts';

/**
 * $expand and $validate-code decide membership in one place (valueset-core.ts), so they must
 * agree: for generated code systems (hierarchies, versions, aliases, inactive and abstract
 * concepts, properties) and value sets (concept lists, filters, excludes, imports, versions,
 * compose.inactive), every expanded code validates, and every code that validates is in the
 * full expansion. A coding validates alike by the code system's URL and by its OID, and, where the
 * code system is not case-sensitive, in another case.
 */

const URL = 'http://example.org/fhir/CodeSystem/gen';
const OID = 'urn:oid:2.999.1.2.3';
const VS = 'http://example.org/fhir/ValueSet/gen-';

interface GenConcept {
  parent: number | null;
  colour: 'red' | 'blue' | null;
  status: 'active' | 'retired' | 'inactive' | null;
  /** the concept's structuredefinition-standards-status extension (its status when it has no property) */
  standards?: 'withdrawn' | 'deprecated' | null;
  abstract: boolean;
  /** present in version 1.0 and/or 2.0 */
  inV1: boolean;
  inV2: boolean;
  /** valid from / to (the Norwegian code systems' validity properties) */
  validFrom?: string | null;
  validTo?: string | null;
}

const conceptArb = (i: number): fc.Arbitrary<GenConcept> =>
  fc.record({
    parent: i === 0 ? fc.constant(null) : fc.option(fc.nat(i - 1), { nil: null }),
    colour: fc.constantFrom<'red' | 'blue' | null>('red', 'blue', null),
    status: fc.constantFrom<'active' | 'retired' | 'inactive' | null>('active', 'retired', 'inactive', null, null),
    standards: fc.constantFrom<'withdrawn' | 'deprecated' | null>(null, null, null, 'withdrawn', 'deprecated'),
    abstract: fc.boolean(),
    inV1: fc.boolean(),
    inV2: fc.constant(true),
    validFrom: fc.constantFrom<string | null>(null, null, null, '2020-01-01', '2024-01-01'),
    validTo: fc.constantFrom<string | null>(null, null, null, '2021-12-31', '2025-12-31'),
  });

const conceptsArb = fc
  .integer({ min: 1, max: 10 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => conceptArb(i))));

function code(i: number): string {
  return `c${i}`;
}

/** One version of the generated code system; the hierarchy is stated by nesting or by `parent` properties. */
function codeSystem(concepts: GenConcept[], version: string, nested: boolean, caseSensitive: boolean): CodeSystem {
  const present = concepts.map((c) => (version === '1.0' ? c.inV1 : c.inV2));
  const make = (i: number): CodeSystemConcept => {
    const c = concepts[i];
    const property: NonNullable<CodeSystemConcept['property']> = [];
    if (c.colour) property.push({ code: 'colour', valueCode: c.colour });
    if (c.status) property.push({ code: 'status', valueCode: c.status });
    if (c.abstract) property.push({ code: 'notSelectable', valueBoolean: true });
    if (c.validFrom) property.push({ code: 'validFrom', valueDateTime: c.validFrom });
    if (c.validTo) property.push({ code: 'validTo', valueDateTime: c.validTo });
    // a parent that is not in this version: the concept is a root here
    const parent = c.parent !== null && present[c.parent] ? c.parent : null;
    if (!nested && parent !== null) property.push({ code: 'parent', valueCode: code(parent) });
    return {
      code: code(i),
      display: `Concept ${i}`,
      ...(property.length ? { property } : {}),
      ...(c.standards
        ? {
            extension: [
              {
                url: 'http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status',
                valueCode: c.standards,
              },
            ],
          }
        : {}),
    };
  };
  const nodes = new Map<number, CodeSystemConcept>();
  const roots: CodeSystemConcept[] = [];
  concepts.forEach((c, i) => {
    if (!present[i]) return;
    const node = make(i);
    nodes.set(i, node);
    const parent = c.parent !== null && present[c.parent] ? nodes.get(c.parent) : undefined;
    if (nested && parent) {
      parent.concept ??= [];
      parent.concept.push(node);
    } else {
      roots.push(node);
    }
  });
  return {
    resourceType: 'CodeSystem',
    url: URL,
    version,
    identifier: [{ system: 'urn:ietf:rfc:3986', value: OID }],
    status: 'active',
    content: 'complete',
    caseSensitive,
    hierarchyMeaning: 'is-a',
    property: [
      { code: 'colour', type: 'code' },
      { code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status', type: 'code' },
      { code: 'notSelectable', uri: 'http://hl7.org/fhir/concept-properties#notSelectable', type: 'boolean' },
      { code: 'parent', uri: 'http://hl7.org/fhir/concept-properties#parent', type: 'code' },
      { code: 'validFrom', uri: VALID_FROM_PROPERTY_URI, type: 'dateTime' },
      { code: 'validTo', uri: VALID_TO_PROPERTY_URI, type: 'dateTime' },
    ],
    concept: roots,
  };
}

const filterArb = (n: number): fc.Arbitrary<ValueSetComposeIncludeFilter> =>
  fc.oneof(
    fc.record({
      property: fc.constant('concept'),
      op: fc.constantFrom<'is-a' | 'descendent-of' | 'is-not-a' | '=' | 'child-of' | 'descendent-leaf'>(
        'is-a',
        'descendent-of',
        'is-not-a',
        '=',
        'child-of',
        'descendent-leaf',
      ),
      value: fc.nat(n - 1).map(code),
    }),
    fc.record({
      property: fc.constant('concept'),
      op: fc.constant<'in'>('in'),
      value: fc.uniqueArray(fc.nat(n - 1), { minLength: 1, maxLength: 3 }).map((a) => a.map(code).join(',')),
    }),
    fc.record({
      property: fc.constant('code'),
      op: fc.constant<'regex'>('regex'),
      value: fc.constantFrom('c[0-4]', 'c.*1', 'c(1|2)+'),
    }),
    fc.record({ property: fc.constant('colour'), op: fc.constant<'='>('='), value: fc.constantFrom('red', 'blue') }),
    fc.record({
      property: fc.constant('concept'),
      op: fc.constantFrom<'generalizes' | 'not-in'>('generalizes', 'not-in'),
      value: fc.nat(n - 1).map(code),
    }),
    fc.record({
      property: fc.constant('colour'),
      op: fc.constant<'exists'>('exists'),
      value: fc.constantFrom('true', 'false'),
    }),
    fc.record({
      property: fc.constant('colour'),
      op: fc.constant<'regex'>('regex'),
      value: fc.constantFrom('r.*', 'b?lue'),
    }),
    fc.record({
      property: fc.constant('status'),
      op: fc.constant<'='>('='),
      value: fc.constantFrom('active', 'retired'),
    }),
  ) as fc.Arbitrary<ValueSetComposeIncludeFilter>;

/** An include or exclude of the generated code system (or of an earlier value set). */
const setArb = (n: number, earlier: number): fc.Arbitrary<ValueSetComposeInclude> =>
  fc
    .record({
      system: fc.constantFrom(URL, URL, OID),
      version: fc.constantFrom<string | undefined>(undefined, undefined, '1.0', '2.0', '1.x'),
      concept: fc.option(
        // a listed code may be written in another case (valid where the code system is not case-sensitive)
        fc
          .uniqueArray(fc.tuple(fc.nat(n + 1), fc.boolean()), { minLength: 1, maxLength: 4, selector: ([i]) => i })
          .map((a) => a.map(([i, upper]) => ({ code: upper ? code(i).toUpperCase() : code(i) }))),
        { nil: undefined },
      ),
      filter: fc.option(fc.array(filterArb(n), { minLength: 1, maxLength: 2 }), { nil: undefined }),
      valueSet:
        earlier > 0
          ? fc.option(
              fc.nat(earlier - 1).map((j) => [`${VS}${j}`]),
              { nil: undefined },
            )
          : fc.constant(undefined),
      onlyValueSet: fc.boolean(),
    })
    .map((r): ValueSetComposeInclude => {
      if (r.valueSet && r.onlyValueSet) return { valueSet: r.valueSet };
      return {
        system: r.system,
        ...(r.version ? { version: r.version } : {}),
        ...(r.concept && !r.filter ? { concept: r.concept } : {}),
        ...(r.filter ? { filter: r.filter } : {}),
        ...(r.valueSet ? { valueSet: r.valueSet } : {}),
      };
    });

const valueSetArb = (n: number, index: number): fc.Arbitrary<ValueSet> =>
  fc
    .record({
      include: fc.array(setArb(n, index), { minLength: 1, maxLength: 3 }),
      exclude: fc.array(setArb(n, index), { maxLength: 2 }),
      inactive: fc.constantFrom<boolean | undefined>(undefined, undefined, false),
    })
    .map((c) => ({
      resourceType: 'ValueSet',
      url: `${VS}${index}`,
      version: '1',
      status: 'active',
      compose: {
        ...(c.inactive === false ? { inactive: false } : {}),
        include: c.include,
        ...(c.exclude.length ? { exclude: c.exclude } : {}),
      },
    }));

const scenarioArb = conceptsArb.chain((concepts) =>
  fc.record({
    concepts: fc.constant(concepts),
    nested: fc.boolean(),
    caseSensitive: fc.boolean(),
    activeOnly: fc.boolean(),
    // the system-version / force-system-version parameters, given alike to both operations
    contained: fc.boolean(),
    // the request's date: concepts outside their validity are inactive on it
    date: fc.constantFrom<string | undefined>(undefined, undefined, '2019-06-01', '2022-06-01', '2026-06-01'),
    // a parameter the root value set sets for its own expansions (valueset-expansion-parameter)
    own: fc.constantFrom<[string, string][]>(
      [],
      [],
      [['activeOnly', 'true']],
      [['system-version', `${URL}|1.0`]],
      [['force-system-version', `${URL}|2.0`]],
      [['activeOnly', 'false']],
    ),
    filter: fc.constantFrom('concept', '1', 'c1', 'conc 2', 'C', 'x'),
    // a CodeableConcept of several codings: indexes of codes (past the end: not in the code
    // system), and whether a coding of an unknown code system or one without a system comes too
    several: fc.record({
      codes: fc.array(fc.nat(concepts.length + 1), { minLength: 2, maxLength: 3 }),
      odd: fc.constantFrom<'none' | 'unknown-system' | 'no-system'>('none', 'none', 'unknown-system', 'no-system'),
    }),
    rule: fc.constantFrom<[('defaults' | 'forces')?, string?]>(
      [],
      [],
      ['defaults', '1.0'],
      ['defaults', '2.0'],
      ['forces', '1.0'],
      ['forces', '2.0'],
    ),
    valueSets: fc.tuple(
      valueSetArb(concepts.length, 0),
      valueSetArb(concepts.length, 1),
      valueSetArb(concepts.length, 2),
    ),
  }),
);

/** The last value set with the others contained in it, every reference to them made `#g<i>`. */
function containing(valueSets: ValueSet[]): ValueSet {
  const local = (vs: ValueSet): ValueSet => {
    const copy = structuredClone(vs);
    for (const set of [...(copy.compose?.include ?? []), ...(copy.compose?.exclude ?? [])]) {
      if (set.valueSet) set.valueSet = set.valueSet.map((u) => `#g${u.slice(VS.length)}`);
    }
    return copy;
  };
  const inner = valueSets.slice(0, -1).map((vs, i) => {
    const { url: _url, version: _version, ...rest } = local(vs);
    return { ...rest, id: `g${i}` };
  });
  return { ...local(valueSets[valueSets.length - 1]), contained: inner };
}

function flatten(list: ValueSetExpansionContains[] | undefined, out: ValueSetExpansionContains[] = []) {
  for (const c of list ?? []) {
    out.push(c);
    flatten(c.contains, out);
  }
  return out;
}

describe('$expand and $validate-code agree', () => {
  test('every expanded code validates, every code that validates is expanded', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const store = new TerminologyStore();
        store.add(codeSystem(s.concepts, '1.0', s.nested, s.caseSensitive));
        store.add(codeSystem(s.concepts, '2.0', s.nested, s.caseSensitive));
        // the value sets it imports are stored, or contained in it and named `#id`
        const bare: ValueSet = s.contained ? containing(s.valueSets) : s.valueSets[2];
        const root: ValueSet =
          s.own.length === 0
            ? bare
            : {
                ...bare,
                extension: s.own.map(([name, value]) => ({
                  url: 'http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter',
                  extension: [
                    { url: 'name', valueCode: name },
                    name === 'activeOnly'
                      ? { url: 'value', valueBoolean: value === 'true' }
                      : { url: 'value', valueUri: value },
                  ],
                })),
              };
        for (const vs of s.contained ? [root] : [...s.valueSets.slice(0, -1), root]) store.add(vs);
        const ctx = new TxContext(store, [], s.date ? { date: s.date } : {});
        const [kind, ruleVersion] = s.rule;
        const rules: VersionRules = { defaults: new Map(), checks: new Map(), forces: new Map() };
        if (kind && ruleVersion) rules[kind].set(URL, ruleVersion);
        let expanded: ValueSetExpansionContains[];
        try {
          const expansion = expandValueSet(ctx, root, {
            excludeNested: true,
            activeOnly: s.activeOnly,
            rules,
          }).expansion;
          expanded = flatten(expansion?.contains);
          expect(expansion?.total, 'total').toBe(expanded.length);
          // nested (where the value set allows a hierarchy) or not, the same codes
          const tree = expandValueSet(ctx, root, { activeOnly: s.activeOnly, rules }).expansion;
          const key = (c: ValueSetExpansionContains): string => `${c.version ?? ''}#${c.code}`;
          expect(flatten(tree?.contains).map(key).sort(), 'nested').toEqual(expanded.map(key).sort());
          expect(tree?.total, 'total of the nested').toBe(expanded.length);
          // the same value sets sent with the request (tx-resource) rather than stored: the same codes
          const bareStore = new TerminologyStore();
          bareStore.add(codeSystem(s.concepts, '1.0', s.nested, s.caseSensitive));
          bareStore.add(codeSystem(s.concepts, '2.0', s.nested, s.caseSensitive));
          const sent = new TxContext(
            bareStore,
            s.contained ? [root] : [...s.valueSets.slice(0, -1), root],
            s.date ? { date: s.date } : {},
          );
          const viaRequest = expandValueSet(sent, root, {
            excludeNested: true,
            activeOnly: s.activeOnly,
            rules,
          }).expansion;
          expect(flatten(viaRequest?.contains).map(key), 'sent as tx-resource').toEqual(expanded.map(key));
          // and the code systems sent too, to a store without them
          const allSent = new TxContext(
            new TerminologyStore(),
            [
              codeSystem(s.concepts, '1.0', s.nested, s.caseSensitive),
              codeSystem(s.concepts, '2.0', s.nested, s.caseSensitive),
              ...(s.contained ? [root] : [...s.valueSets.slice(0, -1), root]),
            ],
            s.date ? { date: s.date } : {},
          );
          const everything = expandValueSet(allSent, root, { excludeNested: true, activeOnly: s.activeOnly, rules });
          expect(flatten(everything.expansion?.contains).map(key), 'all sent').toEqual(expanded.map(key));
          // a page of it is that part of the whole, and the total stays the same
          const page = expandValueSet(ctx, root, {
            excludeNested: true,
            activeOnly: s.activeOnly,
            rules,
            offset: 1,
            count: 2,
          });
          expect(page.expansion?.total, 'total of a page').toBe(expanded.length);
          // pages of 3, one after the other, make the whole
          const pages: string[] = [];
          for (let offset = 0; offset < expanded.length; offset += 3) {
            const part = expandValueSet(ctx, root, {
              excludeNested: true,
              activeOnly: s.activeOnly,
              rules,
              offset,
              count: 3,
            });
            pages.push(...flatten(part.expansion?.contains).map(key));
          }
          expect(pages, 'pages').toEqual(expanded.map(key));
          // a text filter keeps the codes whose code or display has a word starting with each filter word
          const filtered = expandValueSet(ctx, root, {
            excludeNested: true,
            activeOnly: s.activeOnly,
            rules,
            filter: s.filter,
          });
          const wordsOf = (text: string | undefined): string[] => (text ?? '').toLowerCase().match(/[a-z0-9]+/g) ?? [];
          const wanted = wordsOf(s.filter);
          expect(flatten(filtered.expansion?.contains).map((c) => `${c.version ?? ''}#${c.code}`)).toEqual(
            expanded
              .filter((c) =>
                wanted.every((w) => [...wordsOf(c.code), ...wordsOf(c.display)].some((x) => x.startsWith(w))),
              )
              .map((c) => `${c.version ?? ''}#${c.code}`),
          );
          expect(flatten(page.expansion?.contains).map((c) => `${c.version ?? ''}#${c.code}`)).toEqual(
            expanded.slice(1, 3).map((c) => `${c.version ?? ''}#${c.code}`),
          );
        } catch (err) {
          if (err instanceof Error && err.name === 'AssertionError') throw err;
          // a value set that cannot be expanded (a version that does not exist) is out of scope here
          return;
        }
        // codes compare without regard to case where the code system is not case-sensitive
        const norm = (c: string | undefined): string => (s.caseSensitive ? (c ?? '') : (c ?? '').toLowerCase());
        const members = new Set(expanded.map((c) => `${c.version ?? ''}#${norm(c.code)}`));
        const validatesAs = (system: string, codeValue: string, version?: string): boolean =>
          validateCodeInValueSet(
            ctx,
            root,
            { mode: 'coding', codings: [{ system, code: codeValue, ...(version ? { version } : {}) }] },
            { activeOnly: s.activeOnly, versionRules: rules },
          ).result;
        const validates = (codeValue: string, version?: string): boolean => {
          const result = validatesAs(URL, codeValue, version);
          // as a CodeableConcept of that one coding (twice, too), the same answer
          const coding = { system: URL, code: codeValue, ...(version ? { version } : {}) };
          for (const codings of [[coding], [coding, coding]]) {
            const asConcept = validateCodeInValueSet(
              ctx,
              root,
              { mode: 'codeableConcept', codings, codeableConcept: { coding: codings } },
              { activeOnly: s.activeOnly, versionRules: rules },
            ).result;
            expect(asConcept, `${codeValue} in a CodeableConcept of ${codings.length}`).toBe(result);
          }
          if (!version) {
            // a bare code, its system inferred from the value set (inferSystem): every code here is gen's
            const inferred = validateCodeInValueSet(
              ctx,
              root,
              { mode: 'code', codings: [{ code: codeValue }] },
              { activeOnly: s.activeOnly, versionRules: rules, inferSystem: true },
            ).result;
            expect(inferred, `${codeValue} with its system inferred`).toBe(result);
          }
          // the same answer by the code system's OID, and in another case where case does not matter
          expect(validatesAs(OID, codeValue, version), `${codeValue} by OID`).toBe(result);
          if (!s.caseSensitive)
            expect(validatesAs(URL, codeValue.toUpperCase(), version), `${codeValue} upper`).toBe(result);
          return result;
        };
        // with a `date` outside a concept's validity, $expand lists the concept as inactive and
        // $validate-code refuses it ("not valid on that date", README: Dates); compared as such
        const outside = (codeValue: string | undefined): boolean => {
          const g = s.concepts[Number((codeValue ?? '').slice(1))];
          if (!s.date || !g) return false;
          return (!!g.validFrom && s.date < g.validFrom) || (!!g.validTo && s.date > g.validTo);
        };
        for (const c of expanded) {
          expect(c.system).toBe(URL);
          if (outside(c.code)) {
            expect(c.inactive, `${c.code} outside its validity is inactive`).toBe(true);
            expect(validates(c.code as string, c.version), `${c.code} outside its validity`).toBe(false);
            continue;
          }
          expect(validates(c.code as string, c.version), `expanded ${c.version ?? ''}#${c.code} validates`).toBe(true);
          // inactive in the expansion exactly when $validate-code says it is, with the same display
          const detail = validateCodeInValueSet(
            ctx,
            root,
            { mode: 'coding', codings: [{ system: URL, code: c.code, ...(c.version ? { version: c.version } : {}) }] },
            { activeOnly: s.activeOnly, versionRules: rules },
          );
          expect(detail.inactive === true, `${c.version ?? ''}#${c.code} inactive`).toBe(c.inactive === true);
          // a wrong display: an error, a warning with lenient-display-validation, not looked at with
          // valueset-membership-only
          const withDisplay = (extra: object) =>
            validateCodeInValueSet(
              ctx,
              root,
              {
                mode: 'coding',
                codings: [
                  {
                    system: URL,
                    code: c.code,
                    display: 'No such display',
                    ...(c.version ? { version: c.version } : {}),
                  },
                ],
              },
              { activeOnly: s.activeOnly, versionRules: rules, ...extra },
            );
          expect(withDisplay({}).result, `${c.code} wrong display`).toBe(false);
          expect(withDisplay({ lenientDisplay: true }).result, `${c.code} wrong display, lenient`).toBe(true);
          expect(withDisplay({ membershipOnly: true }).result, `${c.code} wrong display, membership only`).toBe(true);
          expect(detail.display, `${c.version ?? ''}#${c.code} display`).toBe(c.display);
        }
        // Codings that state a version are compared where the expansion tells versions apart. A
        // value set that includes the system without a version is not bound to one (R4
        // ValueSet.compose.include.version): it accepts a coding in any known version, while its
        // expansion must pick one (the newest), so a versioned coding is not compared then.
        const versioned = expanded.some((c) => c.version !== undefined);
        const unbound = (vs: ValueSet): boolean =>
          (vs.compose?.include ?? []).some(
            (inc) =>
              (inc.system && !inc.version) ||
              (inc.valueSet ?? []).some((u) =>
                unbound(
                  (u.startsWith('#')
                    ? root.contained?.find((c) => `#${c.id}` === u)
                    : s.valueSets.find((v) => v.url === u)) as ValueSet,
                ),
              ),
          );
        // abstract (notSelectable) codes: left out with excludeNotForUI, refused with abstract = false
        const forUi = new Set(
          flatten(
            expandValueSet(ctx, root, { excludeNested: true, activeOnly: s.activeOnly, rules, excludeNotForUI: true })
              .expansion?.contains,
          ).map((c) => `${c.version ?? ''}#${c.code}`),
        );
        for (const c of expanded) {
          if (outside(c.code)) continue;
          const key = `${c.version ?? ''}#${c.code}`;
          const selectable = validateCodeInValueSet(
            ctx,
            root,
            { mode: 'coding', codings: [{ system: URL, code: c.code, ...(c.version ? { version: c.version } : {}) }] },
            { activeOnly: s.activeOnly, versionRules: rules, abstractOk: false },
          ).result;
          expect(selectable, `${key} with abstract = false`).toBe(forUi.has(key));
          expect(c.abstract === true, `${key} abstract`).toBe(!forUi.has(key));
        }
        const versions = versioned && !unbound(root) ? ['1.0', '2.0'] : [undefined];
        for (let i = 0; i < s.concepts.length + 2; i++) {
          for (const version of versions) {
            const key = `${version ?? ''}#${code(i)}`;
            const listed = version ? members.has(key) : expanded.some((c) => norm(c.code) === code(i));
            if (validates(code(i), version)) expect(listed, `${key} validates, so it is expanded`).toBe(true);
          }
        }
        // a CodeableConcept of several codings is valid when one of them is in the value set and
        // none has an error of its own, beyond not being in the value set (a code its code system
        // does not define is an error whatever the others: the HL7 test
        // validation-complex-codeableconcept-full); a coding of an unknown code system or without a
        // system does not stop it. The code it reports is the first coding that is valid.
        const codings: { system?: string; code: string }[] = s.several.codes.map((i) => ({
          system: URL,
          code: code(i),
        }));
        if (s.several.odd === 'unknown-system')
          codings.splice(1, 0, { system: 'http://example.org/unknown', code: 'c0' });
        if (s.several.odd === 'no-system') codings.splice(1, 0, { code: 'c0' });
        const alone = codings.map((c) =>
          c.system === URL
            ? validateCodeInValueSet(
                ctx,
                root,
                { mode: 'coding', codings: [{ system: URL, code: c.code }] },
                { activeOnly: s.activeOnly, versionRules: rules },
              )
            : undefined,
        );
        const each = alone.map((r) => r?.result === true);
        // an error of the coding itself, not of its membership (an unknown code, one not valid on the date)
        const NOT_IN = new Set(['not-in-vs', 'this-code-not-in-vs']);
        const ownError = alone.some((r) =>
          r?.issues.some((i) => i.severity === 'error' && !NOT_IN.has(i.details?.coding?.[0]?.code ?? '')),
        );
        const asConcept = validateCodeInValueSet(
          ctx,
          root,
          { mode: 'codeableConcept', codings, codeableConcept: { coding: codings } },
          { activeOnly: s.activeOnly, versionRules: rules },
        );
        const shown = codings.map((c) => `${c.system ?? ''}#${c.code}`).join(', ');
        expect(asConcept.result, `CodeableConcept of ${shown}`).toBe(each.includes(true) && !ownError);
        if (s.several.codes.some((i) => i >= s.concepts.length)) expect(asConcept.result).toBe(false);
        if (asConcept.result) expect(asConcept.code, `the code of ${shown}`).toBe(codings[each.indexOf(true)].code);
      }),
      propertyRuns(2000),
    );
  });

  test('in one code system, $lookup, CodeSystem $validate-code, $subsumes and $expand agree', () => {
    const systemArb = fc.record({
      concepts: conceptsArb,
      nested: fc.boolean(),
      caseSensitive: fc.boolean(),
      version: fc.constantFrom('1.0', '2.0'),
    });
    fc.assert(
      fc.property(systemArb, ({ concepts, nested, caseSensitive, version }) => {
        const store = new TerminologyStore();
        store.add(codeSystem(concepts, '1.0', nested, caseSensitive));
        store.add(codeSystem(concepts, '2.0', nested, caseSensitive));
        const ctx = new TxContext(store);
        const all: ValueSet = {
          resourceType: 'ValueSet',
          url: `${VS}all`,
          status: 'active',
          compose: { include: [{ system: URL, version }] },
        };
        const listed = new Set(
          flatten(expandValueSet(ctx, all, { excludeNested: true }).expansion?.contains).map((c) => c.code),
        );
        const found = (c: string): boolean => {
          try {
            lookupCode(ctx, { system: URL, version, code: c });
            return true;
          } catch {
            return false;
          }
        };
        const candidates = Array.from({ length: concepts.length + 2 }, (_, i) => code(i));
        for (const c of [...candidates, ...candidates.map((x) => x.toUpperCase())]) {
          const known = found(c);
          const valid = validateCodeInCodeSystem(
            ctx,
            { url: URL, version },
            { mode: 'code', codings: [{ system: URL, code: c }] },
          ).result;
          expect(valid, `${c} validates as $lookup finds it`).toBe(known);
          // the expansion lists each code as the code system writes it
          if (c === c.toLowerCase()) expect(listed.has(c), `${c} is expanded as $lookup finds it`).toBe(known);
        }
        // the implicit all-codes value set ({system}?vs, at the version) holds the same codes
        const implicit = resolveImplicitValueSet(ctx, `${URL}?vs`, version);
        expect(implicit, 'implicit value set').toBeDefined();
        const implicitCodes = flatten(
          expandValueSet(ctx, implicit as ValueSet, { excludeNested: true }).expansion?.contains,
        ).map((c) => c.code);
        expect(implicitCodes.sort()).toEqual([...listed].sort());
        for (const c of candidates) {
          const viaValueSet = validateCodeInValueSet(ctx, implicit as ValueSet, {
            mode: 'coding',
            codings: [{ system: URL, code: c, version }],
          }).result;
          expect(viaValueSet, `${c} in the implicit value set`).toBe(found(c));
        }
        // the `inactive` and `status` filters select the concepts as $validate-code and $lookup see them
        const selected = (property: string, value: string): Set<string | undefined> =>
          new Set(
            flatten(
              expandValueSet(
                ctx,
                {
                  ...all,
                  url: `${VS}filtered`,
                  compose: { include: [{ system: URL, version, filter: [{ property, op: '=', value }] }] },
                },
                { excludeNested: true },
              ).expansion?.contains,
            ).map((c) => c.code),
          );
        const codes0 = [...listed].filter((c): c is string => c !== undefined);
        const inactive = selected('inactive', 'true');
        const active = selected('inactive', 'false');
        // notSelectable = true selects the abstract codes; `= false` only those that say so (the
        // HL7 notSelectable tests: a concept without the property is not selected)
        const abstract = selected('notSelectable', 'true');
        for (const c of listed) {
          const r = validateCodeInCodeSystem(
            ctx,
            { url: URL, version },
            { mode: 'code', codings: [{ system: URL, code: c as string }] },
          );
          expect(inactive.has(c), `${c} inactive = true`).toBe(r.inactive === true);
          expect(active.has(c), `${c} inactive = false`).toBe(r.inactive !== true);
          const looked = lookupCode(ctx, { system: URL, version, code: c as string });
          expect(abstract.has(c), `${c} notSelectable = true`).toBe(looked.abstract === true);
          // `parent = X` and `child = X` select the concepts $lookup gives that parent or child
          for (const [property, other] of [
            ['parent', 'child'],
            ['child', 'parent'],
          ] as const) {
            for (const p of looked.properties.filter((x) => x.code === property)) {
              expect(selected(other, c as string).has(p.value as string), `${p.value} ${other} = ${c}`).toBe(true);
            }
          }
          const parents = looked.properties.filter((x) => x.code === 'parent').map((x) => x.value);
          for (const x of codes0) {
            expect(selected('parent', x).has(c), `${c} parent = ${x}`).toBe(parents.includes(x));
          }
          const status = looked.properties.find((p) => p.code === 'status')?.value;
          if (typeof status === 'string')
            expect(selected('status', status).has(c), `${c} status = ${status}`).toBe(true);
        }
        // subsumption as the is-a filter sees it
        const codes = [...listed].filter((c): c is string => c !== undefined);
        for (const a of codes) {
          const below = new Set(
            flatten(
              expandValueSet(
                ctx,
                {
                  ...all,
                  url: `${VS}below`,
                  compose: {
                    include: [{ system: URL, version, filter: [{ property: 'concept', op: 'is-a', value: a }] }],
                  },
                },
                { excludeNested: true },
              ).expansion?.contains,
            ).map((c) => c.code),
          );
          for (const b of codes) {
            const { outcome } = subsumes(ctx, { system: URL, version, codeA: a, codeB: b });
            const expected = a === b ? 'equivalent' : below.has(b) ? 'subsumes' : undefined;
            if (expected) expect(outcome, `${a} ${b}`).toBe(expected);
            else expect(['subsumed-by', 'not-subsumed'], `${a} ${b}`).toContain(outcome);
          }
        }
      }),
      propertyRuns(500),
    );
  });
});
