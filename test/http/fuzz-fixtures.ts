import { operationRoutes } from '../../src/app.ts';
import type { ParamDef } from '../../src/http/params.ts';
import { operations } from '../../src/operations/registry.ts';
import { TX_RESOURCE_TYPES } from '../../src/terminology/store.ts';
import { testStore } from '../support/fhir.ts';

/**
 * The fuzz suite's fixtures: the endpoints to send to (every operation route, known and odd ids),
 * a code system, value set and concept map to send along, and realistic Parameters per operation,
 * which the generators (fuzz-generators.ts) garble.
 */

// --- the endpoints ----------------------------------------------------------------------------

const store = testStore();
/** A few ids of each type that exist, for instance-level routes and reads. */
export const KNOWN_IDS: Record<string, string[]> = Object.fromEntries(
  TX_RESOURCE_TYPES.map((t) => [
    t,
    store
      .all(t)
      .slice(0, 3)
      .map((r) => r.id ?? ''),
  ]),
);
export const ODD_IDS = [
  'does-not-exist',
  '%00',
  '..',
  '%2F',
  'a'.repeat(300),
  '%C3%A6%C3%B8%C3%A5',
  '%F0%9F%98%80',
  '%ZZ',
  '$x',
];

export const ROUTES = operationRoutes(operations);

export const GENDER_CS = 'http://hl7.org/fhir/administrative-gender';
export const GENDER_VS = 'http://hl7.org/fhir/ValueSet/administrative-gender';
export const CS_URL = 'http://example.org/fuzz/cs';
const VS_URL = 'http://example.org/fuzz/vs';
export const CM_URL = 'http://example.org/fuzz/cm';

export const CODE_SYSTEM = {
  resourceType: 'CodeSystem',
  url: CS_URL,
  version: '1.0',
  name: 'Fuzz',
  status: 'active',
  content: 'complete',
  caseSensitive: true,
  hierarchyMeaning: 'is-a',
  property: [
    { code: 'status', type: 'code' },
    { code: 'weight', type: 'decimal' },
  ],
  filter: [{ code: 'concept', operator: ['is-a'], value: 'code' }],
  concept: [
    {
      code: 'a',
      display: 'A',
      definition: 'The first',
      designation: [
        { language: 'nb', use: { system: 'http://snomed.info/sct', code: '900000000000013009' }, value: 'a på norsk' },
      ],
      property: [
        { code: 'status', valueCode: 'active' },
        { code: 'weight', valueDecimal: 1.5 },
      ],
      concept: [{ code: 'a1', display: 'A1', concept: [{ code: 'a11' }] }, { code: 'a2' }],
    },
    { code: 'b', display: 'B', property: [{ code: 'status', valueCode: 'retired' }] },
  ],
};

export const VALUE_SET = {
  resourceType: 'ValueSet',
  url: VS_URL,
  version: '1.0',
  name: 'FuzzVS',
  status: 'active',
  compose: {
    include: [
      { system: CS_URL, concept: [{ code: 'a' }, { code: 'b', display: 'Bee', designation: [{ value: 'Bi' }] }] },
      { system: CS_URL, filter: [{ property: 'concept', op: 'is-a', value: 'a' }] },
      { valueSet: [GENDER_VS] },
    ],
    exclude: [{ system: CS_URL, concept: [{ code: 'a2' }] }],
  },
};

export const CONCEPT_MAP = {
  resourceType: 'ConceptMap',
  url: CM_URL,
  status: 'active',
  sourceCanonical: VS_URL,
  targetCanonical: GENDER_VS,
  group: [
    {
      source: CS_URL,
      target: GENDER_CS,
      element: [
        {
          code: 'a',
          target: [
            { code: 'male', equivalence: 'equivalent', dependsOn: [{ property: 'x', value: 'y' }] },
            { code: 'other', equivalence: 'wider', product: [{ property: 'p', system: GENDER_CS, value: 'unknown' }] },
          ],
        },
        { code: 'b', target: [{ equivalence: 'unmatched' }] },
      ],
      unmapped: { mode: 'fixed', code: 'unknown' },
    },
  ],
};

export type P = Record<string, unknown>;
export const tx = (resource: unknown): P => ({ name: 'tx-resource', resource });
export const coding = (system: string, code: string, display?: string): P => ({
  system,
  code,
  ...(display ? { display } : {}),
});

/** Realistic Parameters per operation code, which the mutations garble. */
const TEMPLATES: Record<string, P[][]> = {
  lookup: [
    [
      { name: 'system', valueUri: GENDER_CS },
      { name: 'code', valueCode: 'male' },
    ],
    [
      { name: 'coding', valueCoding: coding(CS_URL, 'a1') },
      { name: 'property', valueCode: 'designation' },
      tx(CODE_SYSTEM),
    ],
  ],
  'validate-code': [
    [
      { name: 'url', valueUri: VS_URL },
      { name: 'system', valueUri: CS_URL },
      { name: 'code', valueCode: 'a11' },
      { name: 'display', valueString: 'x' },
      tx(VALUE_SET),
      tx(CODE_SYSTEM),
    ],
    [
      { name: 'valueSet', resource: VALUE_SET },
      { name: 'codeableConcept', valueCodeableConcept: { coding: [coding(CS_URL, 'b', 'B')], text: 'b' } },
      { name: 'activeOnly', valueBoolean: true },
      tx(CODE_SYSTEM),
    ],
    [
      { name: 'codeSystem', resource: CODE_SYSTEM },
      { name: 'coding', valueCoding: coding(CS_URL, 'a', 'A') },
      { name: 'url', valueUri: GENDER_VS },
    ],
  ],
  expand: [
    [
      { name: 'url', valueUri: GENDER_VS },
      { name: 'count', valueInteger: 10 },
      { name: 'offset', valueInteger: 0 },
      { name: 'filter', valueString: 'ma' },
    ],
    [
      { name: 'valueSet', resource: VALUE_SET },
      { name: 'includeDesignations', valueBoolean: true },
      { name: 'property', valueString: 'status' },
      { name: 'displayLanguage', valueCode: 'nb' },
      tx(CODE_SYSTEM),
    ],
  ],
  subsumes: [
    [
      { name: 'system', valueUri: CS_URL },
      { name: 'codeA', valueCode: 'a' },
      { name: 'codeB', valueCode: 'a11' },
      tx(CODE_SYSTEM),
    ],
    [
      { name: 'codingA', valueCoding: coding(GENDER_CS, 'male') },
      { name: 'codingB', valueCoding: coding(GENDER_CS, 'male') },
    ],
  ],
  translate: [
    [
      { name: 'url', valueUri: CM_URL },
      { name: 'sourceCode', valueCode: 'a' },
      { name: 'sourceSystem', valueUri: CS_URL },
      tx(CONCEPT_MAP),
    ],
    [
      { name: 'conceptMap', resource: CONCEPT_MAP },
      { name: 'coding', valueCoding: coding(CS_URL, 'a') },
      { name: 'reverse', valueBoolean: false },
      { name: 'dependency', part: [{ name: 'element', valueUri: 'x' }] },
    ],
  ],
  'batch-validate-code': [
    [
      { name: 'url', valueUri: VS_URL },
      tx(VALUE_SET),
      tx(CODE_SYSTEM),
      {
        name: 'validation',
        resource: { resourceType: 'Parameters', parameter: [{ name: 'coding', valueCoding: coding(CS_URL, 'a') }] },
      },
      {
        name: 'validation',
        resource: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'code', valueCode: 'male' },
            { name: 'system', valueUri: GENDER_CS },
            { name: 'url', valueUri: GENDER_VS },
          ],
        },
      },
    ],
  ],
};

export function templatesFor(code: string, defs: ParamDef[]): P[][] {
  return TEMPLATES[code] ?? [defs.slice(0, 4).map((d) => ({ name: d.name, valueString: 'x' }))];
}
