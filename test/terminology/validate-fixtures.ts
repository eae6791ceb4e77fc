import type { CodeSystem, Coding, ValueSet } from '@medplum/fhirtypes';
import { TxContext } from '../../src/terminology/context.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import {
  resolveValueSet,
  type ValidationInput,
  type ValidationResult,
  type ValueSetValidationOptions,
  validateCodeInValueSet,
} from '../../src/terminology/validate.ts';

/**
 * Small terminology for the $validate-code tests, modelled on the tx-ecosystem test resources
 * (simple/, version/, case/, language/ and inactive/) but cut down to what the tests look at.
 */

export const SIMPLE = 'http://example.org/fhir/CodeSystem/simple';
export const VERSIONED = 'http://example.org/fhir/CodeSystem/versioned';
export const NOCASE = 'http://example.org/fhir/CodeSystem/nocase';
export const MULTI = 'http://example.org/fhir/CodeSystem/multi';
export const SUPPLEMENT = 'http://example.org/fhir/CodeSystem/multi-supplement';
export const VS = 'http://example.org/fhir/ValueSet/';

export function simpleCodeSystem(): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: 'simple',
    language: 'en',
    url: SIMPLE,
    version: '0.1.0',
    name: 'Simple',
    status: 'active',
    caseSensitive: true,
    content: 'complete',
    property: [
      { code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status', type: 'code' },
      { code: 'notSelectable', uri: 'http://hl7.org/fhir/concept-properties#notSelectable', type: 'boolean' },
    ],
    concept: [
      { code: 'code1', display: 'Display 1' },
      {
        code: 'code2',
        display: 'Display 2',
        property: [
          { code: 'notSelectable', valueBoolean: true },
          { code: 'status', valueCode: 'retired' },
        ],
        concept: [{ code: 'code2a', display: 'Display 2a' }],
      },
      { code: 'code3', display: 'Display 3', property: [{ code: 'status', valueCode: 'deprecated' }] },
    ],
  };
}

function versioned(version: string, codes: string[]): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: `versioned-${version}`,
    language: 'en',
    url: VERSIONED,
    version,
    name: 'Versioned',
    status: 'active',
    content: 'complete',
    concept: codes.map((c) => ({ code: c, display: `Display ${c} (${version})` })),
  };
}

export function noCaseCodeSystem(): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: 'nocase',
    language: 'en',
    url: NOCASE,
    version: '1',
    name: 'NoCase',
    status: 'active',
    caseSensitive: false,
    content: 'complete',
    concept: [{ code: 'abc', display: 'Alpha' }],
  };
}

export function multiLanguageCodeSystem(): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: 'multi',
    language: 'en',
    url: MULTI,
    name: 'Multi',
    status: 'active',
    content: 'complete',
    concept: [
      { code: 'm1', display: 'One', designation: [{ language: 'de', value: 'Eins' }] },
      { code: 'm2', display: 'Two', designation: [{ language: 'en', value: 'Second' }] },
    ],
  };
}

export function supplementCodeSystem(): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: 'multi-supplement',
    url: SUPPLEMENT,
    version: '1',
    name: 'MultiSupplement',
    status: 'active',
    content: 'supplement',
    supplements: MULTI,
    concept: [{ code: 'm1', designation: [{ language: 'nl', value: 'Een' }] }],
  };
}

function valueSet(id: string, compose: ValueSet['compose'], extra: Partial<ValueSet> = {}): ValueSet {
  return { resourceType: 'ValueSet', id, url: `${VS}${id}`, version: '1.0', status: 'active', compose, ...extra };
}

export function testValueSets(): ValueSet[] {
  return [
    valueSet('simple-all', { include: [{ system: SIMPLE }] }),
    valueSet('simple-active', { inactive: false, include: [{ system: SIMPLE }] }),
    valueSet('simple-enum', { include: [{ system: SIMPLE, concept: [{ code: 'code1' }, { code: 'code2a' }] }] }),
    valueSet('simple-isa', {
      include: [{ system: SIMPLE, filter: [{ property: 'concept', op: 'is-a', value: 'code2' }] }],
    }),
    valueSet('simple-broken', {
      include: [{ system: SIMPLE, filter: [{ property: 'concept', op: 'is-a' } as never] }],
    }),
    valueSet('import-missing', { include: [{ valueSet: [`${VS}nowhere`] }] }),
    valueSet('circle-a', { include: [{ valueSet: [`${VS}circle-b`] }] }),
    valueSet('circle-b', { include: [{ valueSet: [`${VS}circle-a`] }] }),
    valueSet('versioned-none', { include: [{ system: VERSIONED }] }),
    valueSet('versioned-10', { include: [{ system: VERSIONED, version: '1.0.0' }] }),
    valueSet('versioned-1x', { include: [{ system: VERSIONED, version: '1.x' }] }),
    valueSet('versioned-bad', { include: [{ system: VERSIONED, version: '9.9.9' }] }),
    valueSet('nocase-all', { include: [{ system: NOCASE }] }),
    valueSet('multi-all', { include: [{ system: MULTI }] }),
    valueSet('multi-de', { include: [{ system: MULTI }] }, { language: 'de' }),
    valueSet('two-systems', { include: [{ system: SIMPLE }, { system: MULTI }] }),
  ];
}

export function validationStore(): TerminologyStore {
  const store = new TerminologyStore();
  for (const r of [
    simpleCodeSystem(),
    versioned('1.0.0', ['v1', 'v2']),
    versioned('1.2.0', ['v1', 'v2', 'v3']),
    noCaseCodeSystem(),
    multiLanguageCodeSystem(),
    supplementCodeSystem(),
    ...testValueSets(),
  ]) {
    store.add(r);
  }
  return store;
}

/* Helpers shared by validate.test.ts and validate-systems.test.ts. */

let sharedStore: TerminologyStore | undefined;

/** A context over the validation store, built once per test file on first use. */
export function ctx(): TxContext {
  sharedStore ??= validationStore();
  return new TxContext(sharedStore);
}

export const coding = (c: Coding): ValidationInput => ({ mode: 'coding', codings: [c] });
export const code = (c: Coding): ValidationInput => ({ mode: 'code', codings: [c] });
export const concept = (...codings: Coding[]): ValidationInput => ({
  mode: 'codeableConcept',
  codings,
  codeableConcept: { coding: codings },
});

/** The result with the issues flattened to [severity, code, tx-issue-type, expression, text]. */
export function summary(r: ValidationResult): Record<string, unknown> {
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

export function inValueSet(id: string, input: ValidationInput, options: ValueSetValidationOptions = {}) {
  const c = ctx();
  return summary(validateCodeInValueSet(c, resolveValueSet(c, `${VS}${id}`, undefined), input, options));
}

export const notFound = (c: string, vs: string) =>
  `The provided code '${c}' was not found in the value set '${VS}${vs}|1.0'`;
