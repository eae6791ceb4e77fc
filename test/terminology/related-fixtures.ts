import type { CodeSystem, ValueSet, ValueSetCompose } from '@medplum/fhirtypes';

/**
 * Fixtures for the ValueSet $compare / $related tests: small code systems (one nested, one with a
 * concept that has two parents, one that needs its version) and a helper for value sets.
 */

export const TREE_URL = 'http://example.org/fhir/CodeSystem/tree';

/** A nested is-a hierarchy: a > (a1 > (a1x, a1y), a2), b > b1, c. */
export function treeCodeSystem(version = '1.0.0'): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: 'tree',
    url: TREE_URL,
    version,
    name: 'Tree',
    status: 'active',
    content: 'complete',
    caseSensitive: true,
    hierarchyMeaning: 'is-a',
    concept: [
      {
        code: 'a',
        display: 'A',
        concept: [
          {
            code: 'a1',
            display: 'A1',
            concept: [
              { code: 'a1x', display: 'A1x' },
              { code: 'a1y', display: 'A1y' },
            ],
          },
          { code: 'a2', display: 'A2' },
        ],
      },
      { code: 'b', display: 'B', concept: [{ code: 'b1', display: 'B1' }] },
      { code: 'c', display: 'C' },
    ],
  };
}

export const MULTI_URL = 'http://example.org/fhir/CodeSystem/multi';

/** A hierarchy stated by `subsumedBy` properties (as THO does), where `both` has two parents. */
export function multiParentCodeSystem(): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: 'multi',
    url: MULTI_URL,
    version: '1.0.0',
    name: 'MultiParent',
    status: 'active',
    content: 'complete',
    caseSensitive: true,
    property: [{ code: 'subsumedBy', uri: 'http://hl7.org/fhir/concept-properties#parent', type: 'code' }],
    concept: [
      { code: 'root', display: 'Root' },
      { code: 'left', display: 'Left', property: [{ code: 'subsumedBy', valueCode: 'root' }] },
      { code: 'right', display: 'Right', property: [{ code: 'subsumedBy', valueCode: 'root' }] },
      {
        code: 'both',
        display: 'Both',
        property: [
          { code: 'subsumedBy', valueCode: 'left' },
          { code: 'subsumedBy', valueCode: 'right' },
        ],
      },
      { code: 'leftOnly', display: 'Left only', property: [{ code: 'subsumedBy', valueCode: 'left' }] },
    ],
  };
}

export const VERSIONED_URL = 'http://example.org/fhir/CodeSystem/versioned';

/** A code system whose codes mean different things in different versions (versionNeeded). */
export function versionedCodeSystem(version: string, versionNeeded = true): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url: VERSIONED_URL,
    version,
    name: 'Versioned',
    status: 'active',
    content: 'complete',
    caseSensitive: true,
    versionNeeded,
    concept: [
      { code: 'x', display: 'X' },
      { code: 'y', display: 'Y' },
    ],
  };
}

export const UNKNOWN_URL = 'http://example.org/fhir/CodeSystem/unknown';

export function valueSet(name: string, compose?: ValueSetCompose, version?: string): ValueSet {
  return {
    resourceType: 'ValueSet',
    id: name,
    url: `http://example.org/fhir/ValueSet/${name}`,
    ...(version ? { version } : {}),
    name,
    status: 'active',
    ...(compose ? { compose } : {}),
  };
}

export const vsUrl = (name: string): string => `http://example.org/fhir/ValueSet/${name}`;
