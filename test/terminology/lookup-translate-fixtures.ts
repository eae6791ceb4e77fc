import type { CodeSystem, ConceptMap, ValueSet } from '@medplum/fhirtypes';

/**
 * Small terminology fixtures for the $lookup, $subsumes and $translate tests, modelled on the
 * tx-ecosystem test resources (simple/codesystem-simple.json, extensions/codesystem-supplement.json,
 * translate/ConceptMap-full.json) but cut down to what the tests look at.
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

export function sourceCodeSystem(): CodeSystem {
  return codeList(SOURCE_CS, ['code-1', 'code-2', 'code-3', 'code-4', 'code-5', 'code-2b', 'code-6']);
}

export function targetCodeSystem(): CodeSystem {
  return codeList(TARGET_CS, ['code1', 'code2', 'code3', 'code2b', 'temp']);
}

export function sourceValueSet(): ValueSet {
  return {
    resourceType: 'ValueSet',
    url: SOURCE_VS,
    version: '5.0.0',
    status: 'active',
    compose: { include: [{ system: SOURCE_CS }] },
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

/** The map in R5 form (relationship, sourceScopeUri, unmapped.relationship), as the tx tests write it. */
export function r5ConceptMap(
  unmapped: Record<string, unknown> = { mode: 'fixed', code: 'temp', relationship: 'related-to' },
): ConceptMap {
  return {
    resourceType: 'ConceptMap',
    id: 'full',
    url: MAP_URL,
    version: '0.1.0',
    name: 'FullConceptMap',
    status: 'draft',
    sourceScopeUri: SOURCE_VS,
    targetScopeUri: TARGET_VS,
    group: [
      {
        source: SOURCE_CS,
        target: TARGET_CS,
        element: [
          { code: 'code-1', target: [{ code: 'code1', relationship: 'equivalent' }] },
          { code: 'code-2', target: [{ code: 'code2', relationship: 'source-is-broader-than-target' }] },
          {
            code: 'code-3',
            target: [{ code: 'code3', relationship: 'source-is-narrower-than-target', comment: 'roughly' }],
          },
          { code: 'code-2b', target: [{ code: 'code2b', relationship: 'not-related-to' }] },
          { code: 'code-6', noMap: true },
        ],
        unmapped,
      },
    ],
  } as unknown as ConceptMap;
}

/** The same map as the conformance runner sends it to an R4 server. */
export function r4ConceptMap(): ConceptMap {
  return {
    resourceType: 'ConceptMap',
    id: 'full-r4',
    url: MAP_URL,
    version: '0.1.0',
    name: 'FullConceptMap',
    status: 'draft',
    sourceUri: SOURCE_VS,
    targetUri: TARGET_VS,
    group: [
      {
        source: SOURCE_CS,
        target: TARGET_CS,
        element: [
          { code: 'code-1', target: [{ code: 'code1', equivalence: 'equivalent' }] },
          { code: 'code-2', target: [{ code: 'code2', equivalence: 'narrower' }] },
          { code: 'code-3', target: [{ code: 'code3', equivalence: 'wider', comment: 'roughly' }] },
          { code: 'code-2b', target: [{ code: 'code2b', equivalence: 'disjoint' }] },
          { code: 'code-6', target: [{ equivalence: 'unmatched' }] },
        ],
        unmapped: {
          mode: 'fixed',
          code: 'temp',
          extension: [
            {
              url: 'http://hl7.org/fhir/5.0/StructureDefinition/extension-ConceptMap.group.unmapped.relationship',
              valueCode: 'related-to',
            },
          ],
        },
      },
    ],
  };
}

/** A second map with the same canonical, from another system (translate/ConceptMap-novs.json). */
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
        element: [{ code: 'code-1', target: [{ code: 'code1', equivalence: 'equivalent' }] }],
      },
    ],
  };
}
