import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import { TxContext } from '../../src/terminology/context.ts';
import { TerminologyStore, type TxResource } from '../../src/terminology/store.ts';

/**
 * Small terminology for the $expand and compose tests, shaped like the tx-ecosystem test data
 * (a nested code system with a retired abstract code, a language pair, two versions).
 */

export const TREE = 'http://example.org/fhir/CodeSystem/tree';
export const LANG = 'http://example.org/fhir/CodeSystem/lang';
export const VER = 'http://example.org/fhir/CodeSystem/ver';
export const SUPP = 'http://example.org/fhir/CodeSystem/tree-supplement';
export const VS = 'http://example.org/fhir/ValueSet/';

const STATUS = { code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status', type: 'code' } as const;
const NOT_SELECTABLE = {
  code: 'notSelectable',
  uri: 'http://hl7.org/fhir/concept-properties#notSelectable',
  type: 'boolean',
} as const;

/** root1; root2 (retired, abstract) > child2a > {leaf2aI, leaf2aII}; root2 > child2b; root3 */
export function treeCodeSystem(): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url: TREE,
    version: '1.0.0',
    language: 'en',
    status: 'active',
    content: 'complete',
    valueSet: `${VS}tree-all-implicit`,
    property: [{ code: 'colour', uri: 'http://example.org/colour', type: 'code' }, STATUS, NOT_SELECTABLE],
    concept: [
      {
        code: 'root1',
        display: 'Heart examination',
        definition: 'The first root',
        designation: [{ language: 'nb', value: 'Hjerteundersøkelse' }],
        property: [{ code: 'colour', valueCode: 'red' }],
        extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/codesystem-conceptOrder', valueInteger: 3 }],
      },
      {
        code: 'root2',
        display: 'Lung findings',
        property: [
          { code: 'colour', valueCode: 'blue' },
          { code: 'notSelectable', valueBoolean: true },
          { code: 'status', valueCode: 'retired' },
        ],
        concept: [
          {
            code: 'child2a',
            display: 'Lung sound',
            property: [{ code: 'colour', valueCode: 'blue' }],
            concept: [
              { code: 'leaf2aI', display: 'Wheezing lung sound' },
              { code: 'leaf2aII', display: 'Crackling lung sound' },
            ],
          },
          { code: 'child2b', display: 'Lung volume', property: [{ code: 'colour', valueCode: 'red' }] },
        ],
      },
      { code: 'root3', display: 'Kidney function' },
    ],
  };
}

export function treeSupplement(): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url: SUPP,
    version: '0.1.0',
    status: 'active',
    content: 'supplement',
    supplements: TREE,
    concept: [
      {
        code: 'root1',
        designation: [{ language: 'de', value: 'Herzuntersuchung' }],
        extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/codesystem-label', valueString: 'a)' }],
      },
    ],
  };
}

/** English code system with German and Spanish designations. */
export function langCodeSystem(): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url: LANG,
    language: 'en',
    status: 'active',
    content: 'complete',
    concept: [
      { code: 'a', display: 'Apple', designation: [{ language: 'de', value: 'Apfel' }] },
      {
        code: 'b',
        display: 'Pear',
        designation: [
          { language: 'de-CH', value: 'Birne' },
          { language: 'es', value: 'Pera' },
        ],
      },
      { code: 'c', display: 'Plum', designation: [{ language: 'es', value: 'Ciruela' }] },
    ],
  };
}

export function versionedCodeSystem(version: string, codes: string[]): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url: VER,
    version,
    status: 'active',
    content: 'complete',
    concept: codes.map((code) => ({ code, display: `${code} (${version})` })),
  };
}

export function valueSet(id: string, compose: ValueSet['compose'], extra: Partial<ValueSet> = {}): ValueSet {
  return { resourceType: 'ValueSet', id, url: `${VS}${id}`, version: '1.0.0', status: 'active', compose, ...extra };
}

export function bigCodeSystem(url: string, n: number): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url,
    status: 'active',
    content: 'complete',
    concept: Array.from({ length: n }, (_, i) => ({ code: `c${i + 1}`, display: `Display ${i + 1}` })),
  };
}

/** A store with the fixtures plus the given resources, and a context over it. */
export function fixtureContext(extra: TxResource[] = [], overlay: TxResource[] = []): TxContext {
  const store = new TerminologyStore();
  for (const r of [
    treeCodeSystem(),
    treeSupplement(),
    langCodeSystem(),
    versionedCodeSystem('1.0.0', ['x', 'y']),
    versionedCodeSystem('1.2.0', ['x', 'y', 'z']),
    ...extra,
  ]) {
    store.add(r);
  }
  return new TxContext(store, overlay);
}
