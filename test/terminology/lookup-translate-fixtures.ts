import type { CodeSystem, ConceptMap, ValueSet } from '@medplum/fhirtypes';
import type { Json } from '../../conformance/runner/json.ts';
import { requestR5ToR4 } from '../../conformance/runner/r5-to-r4.ts';

/**
 * Small terminology fixtures for the $lookup, $subsumes and $translate tests, modelled on the
 * tx-ecosystem test resources (simple/codesystem-simple.json, extensions/codesystem-supplement.json,
 * translate/*.json) but cut down to, or widened for, what the tests look at.
 */

export const SIMPLE_URL = 'http://example.org/fhir/CodeSystem/simple';

export function simpleCodeSystem(version = '0.1.0'): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: 'simple',
    language: 'en',
    url: SIMPLE_URL,
    version,
    name: 'SimpleTestCodeSystem',
    status: 'active',
    caseSensitive: true,
    hierarchyMeaning: 'is-a',
    content: 'complete',
    property: [
      { code: 'prop', uri: 'http://example.org/fhir/properties#prop', type: 'code' },
      { code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status', type: 'code' },
      { code: 'notSelectable', uri: 'http://hl7.org/fhir/concept-properties#notSelectable', type: 'boolean' },
    ],
    concept: [
      {
        code: 'code1',
        display: 'Display 1',
        definition: 'My first code',
        designation: [
          { language: 'de', value: 'Mein erster Code' },
          { use: { system: 'http://example.org/designations', code: 'olde-english' }, value: 'mine own first code' },
        ],
        property: [{ code: 'prop', valueCode: 'old' }],
      },
      {
        code: 'code2',
        display: 'Display 2',
        definition: 'My second code, with children',
        property: [
          { code: 'prop', valueCode: 'new' },
          { code: 'notSelectable', valueBoolean: true },
          { code: 'status', valueCode: 'retired' },
        ],
        concept: [
          {
            code: 'code2a',
            display: 'Display 2a',
            definition: 'My first second level code',
            concept: [
              { code: 'code2aI', display: 'Display 2aI' },
              { code: 'code2aII', display: 'Display 2aII' },
            ],
          },
          { code: 'code2b', display: 'Display 2b' },
        ],
      },
      { code: 'code3', display: 'Display 3' },
    ],
  };
}

export const SUPPLEMENT_URL = 'http://example.org/fhir/CodeSystem/supplement';

export function supplementCodeSystem(): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: 'supplement',
    language: 'en',
    url: SUPPLEMENT_URL,
    version: '0.1.1',
    name: 'SupplementToSimple',
    status: 'active',
    content: 'supplement',
    supplements: SIMPLE_URL,
    property: [{ code: 'prop1', uri: 'http://example.org/fhir/property1', type: 'string' }],
    concept: [
      {
        code: 'code1',
        designation: [{ language: 'nl', value: 'ectenoot' }],
        property: [{ code: 'prop1', valueString: 'value1' }],
      },
    ],
  };
}

/** A code system whose hierarchy is given by `parent` properties, not by nesting. */
export const FLAT_URL = 'http://example.org/fhir/CodeSystem/flat';

export function flatCodeSystem(hierarchyMeaning?: CodeSystem['hierarchyMeaning']): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: 'flat',
    url: FLAT_URL,
    version: '1.0.0',
    name: 'FlatHierarchy',
    status: 'active',
    caseSensitive: false,
    content: 'complete',
    ...(hierarchyMeaning ? { hierarchyMeaning } : {}),
    property: [{ code: 'parent', uri: 'http://hl7.org/fhir/concept-properties#parent', type: 'code' }],
    concept: [
      { code: 'animal', display: 'Animal' },
      { code: 'mammal', display: 'Mammal', property: [{ code: 'parent', valueCode: 'animal' }] },
      { code: 'dog', display: 'Dog', property: [{ code: 'parent', valueCode: 'mammal' }] },
      { code: 'bird', display: 'Bird', property: [{ code: 'parent', valueCode: 'animal' }] },
    ],
  };
}

export const SOURCE_CS = 'http://example.org/fhir/CodeSystem/source';
export const TARGET_CS = 'http://example.org/fhir/CodeSystem/target';
export const OTHER_CS = 'http://example.org/fhir/CodeSystem/other';
export const SOURCE_VS = 'http://example.org/fhir/ValueSet/source';
export const TARGET_VS = 'http://example.org/fhir/ValueSet/target';
export const MAP_URL = 'http://example.org/fhir/ConceptMap/full';
export const PROP = 'http://example.org/fhir/StructureDefinition/prop';

/** The cross-version extension that carries ConceptMap.group.element.comment (R6) in R4 and R5. */
export const ELEMENT_COMMENT_5 =
  'http://hl7.org/fhir/5.0/StructureDefinition/extension-ConceptMap.group.element.comment';
export const ELEMENT_COMMENT_6 =
  'http://hl7.org/fhir/6.0/StructureDefinition/extension-ConceptMap.group.element.comment';

function codeList(url: string, codes: string[]): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url,
    version: '0.1.0',
    name: url.split('/').pop(),
    status: 'active',
    content: 'complete',
    caseSensitive: true,
    concept: codes.map((code) => ({ code, display: `Display ${code}` })),
  };
}

/** code-8 is in the code system but not in the source value set: outside the map's scope. */
export function sourceCodeSystem(): CodeSystem {
  return codeList(SOURCE_CS, ['code-1', 'code-2', 'code-3', 'code-4', 'code-5', 'code-6', 'code-7', 'code-8']);
}

export function targetCodeSystem(): CodeSystem {
  return codeList(TARGET_CS, ['code1', 'code2', 'code3', 'code4', 'code5', 'code7', 'temp']);
}

export function otherCodeSystem(): CodeSystem {
  return codeList(OTHER_CS, ['code-1']);
}

/** As translate/valueset-source.json: an enumerated list (code-8 left out). */
export function sourceValueSet(): ValueSet {
  return {
    resourceType: 'ValueSet',
    url: SOURCE_VS,
    version: '5.0.0',
    status: 'active',
    compose: {
      include: [
        {
          system: SOURCE_CS,
          concept: ['code-1', 'code-2', 'code-3', 'code-4', 'code-5', 'code-6', 'code-7'].map((code) => ({ code })),
        },
      ],
    },
  };
}

export function targetValueSet(): ValueSet {
  return {
    resourceType: 'ValueSet',
    url: TARGET_VS,
    version: '5.0.0',
    status: 'active',
    compose: { include: [{ system: TARGET_CS }] },
  };
}

/** The terminology the maps below refer to. */
export function mapTerminology(): (CodeSystem | ValueSet)[] {
  return [sourceCodeSystem(), targetCodeSystem(), otherCodeSystem(), sourceValueSet(), targetValueSet()];
}

/**
 * The main map, in R5 form as the tx tests write their maps: every relationship, a product,
 * comments on the element (the cross-version extension) and on the target, noMap, and an
 * unmapped rule for the codes without an element.
 */
export function fullConceptMap(
  unmapped: Record<string, unknown> = { mode: 'fixed', code: 'temp', relationship: 'related-to' },
): ConceptMap {
  return {
    resourceType: 'ConceptMap',
    id: 'full',
    url: MAP_URL,
    version: '0.1.0',
    name: 'FullConceptMap',
    status: 'draft',
    date: '2024-04-11',
    sourceScopeUri: SOURCE_VS,
    targetScopeUri: TARGET_VS,
    group: [
      {
        source: SOURCE_CS,
        target: TARGET_CS,
        element: [
          { code: 'code-1', target: [{ code: 'code1', relationship: 'equivalent' }] },
          {
            code: 'code-2',
            target: [
              {
                code: 'code2',
                relationship: 'source-is-broader-than-target',
                comment: 'only the acute cases',
                product: [{ attribute: PROP, valueCoding: { system: TARGET_CS, code: 'code3' } }],
              },
            ],
          },
          {
            code: 'code-3',
            extension: [{ url: ELEMENT_COMMENT_5, valueString: 'a source concept remark' }],
            target: [{ code: 'code3', relationship: 'source-is-narrower-than-target' }],
          },
          {
            code: 'code-4',
            target: [
              { code: 'code4', relationship: 'related-to' },
              { code: 'code5', relationship: 'not-related-to' },
            ],
          },
          {
            code: 'code-6',
            noMap: true,
            extension: [{ url: ELEMENT_COMMENT_5, valueString: 'deliberately unmapped' }],
          },
          { code: 'code-7', target: [{ code: 'code7', relationship: 'not-related-to' }] },
        ],
        unmapped,
      },
    ],
  } as unknown as ConceptMap;
}

/** A second map with the same canonical, between other systems (translate/ConceptMap-novs.json). */
export function otherConceptMap(): ConceptMap {
  return {
    resourceType: 'ConceptMap',
    id: 'full',
    url: MAP_URL,
    version: '0.1.0',
    status: 'draft',
    group: [
      {
        source: OTHER_CS,
        target: SIMPLE_URL,
        element: [{ code: 'code-1', target: [{ code: 'code1', relationship: 'equivalent' }] }],
      },
    ],
  } as unknown as ConceptMap;
}

/** A map source -> target in R5 form, with only what a test gives it. */
export function chainMap(name: string, elements: unknown[], unmapped?: Record<string, unknown>): ConceptMap {
  return {
    resourceType: 'ConceptMap',
    id: name,
    url: `http://example.org/fhir/ConceptMap/${name}`,
    version: '1.0.0',
    status: 'draft',
    group: [{ source: SOURCE_CS, target: TARGET_CS, element: elements, ...(unmapped ? { unmapped } : {}) }],
  } as unknown as ConceptMap;
}

/** A map as the conformance runner sends it to an R4 server (conformance/runner/r5-to-r4.ts). */
export function asR4<T extends ConceptMap>(map: T): T {
  const copy = structuredClone(map) as unknown as Json;
  requestR5ToR4(copy);
  return copy as unknown as T;
}
