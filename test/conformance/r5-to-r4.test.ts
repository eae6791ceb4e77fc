import { describe, expect, it } from 'vitest';
import type { Json } from '../../conformance/runner/json.ts';
import { RELATIONSHIP_TO_EQUIVALENCE, requestR5ToR4, responseR4ToR5, XVER } from '../../conformance/runner/r5-to-r4.ts';

function toR4(v: Json): Json {
  const copy = structuredClone(v);
  requestR5ToR4(copy);
  return copy;
}

function toR5(v: Json): Json {
  const copy = structuredClone(v);
  responseR4ToR5(copy);
  return copy;
}

const params = (...resources: Json[]): Json => ({
  resourceType: 'Parameters',
  parameter: [{ name: 'url', valueUri: 'u' }, ...resources.map((resource) => ({ name: 'tx-resource', resource }))],
});

describe('requestR5ToR4: CodeSystem', () => {
  it('versionAlgorithmCoding / String become the cross-version extension', () => {
    const coding = { system: 'http://hl7.org/fhir/version-algorithm', code: 'semver' };
    expect(toR4(params({ resourceType: 'CodeSystem', url: 'cs', versionAlgorithmCoding: coding }))).toEqual(
      params({
        resourceType: 'CodeSystem',
        url: 'cs',
        extension: [{ url: `${XVER}CodeSystem.versionAlgorithm`, valueCoding: coding }],
      }),
    );
    expect(toR4({ resourceType: 'CodeSystem', versionAlgorithmString: 'date' })).toEqual({
      resourceType: 'CodeSystem',
      extension: [
        {
          url: 'http://hl7.org/fhir/5.0/StructureDefinition/extension-CodeSystem.versionAlgorithm',
          valueString: 'date',
        },
      ],
    });
  });

  it('keeps existing extensions and appends', () => {
    const existing = { url: 'http://example.org/x', valueString: 'y' };
    expect(toR4({ resourceType: 'CodeSystem', extension: [existing], copyrightLabel: '(c)' })).toEqual({
      resourceType: 'CodeSystem',
      extension: [existing, { url: `${XVER}CodeSystem.copyrightLabel`, valueString: '(c)' }],
    });
  });

  it('designation.additionalUse (nested concepts too)', () => {
    const use = { system: 'http://snomed.info/sct', code: '900000000000013009' };
    expect(
      toR4({
        resourceType: 'CodeSystem',
        concept: [{ code: 'a', concept: [{ code: 'b', designation: [{ value: 'B', additionalUse: [use] }] }] }],
      }),
    ).toEqual({
      resourceType: 'CodeSystem',
      concept: [
        {
          code: 'a',
          concept: [
            {
              code: 'b',
              designation: [
                {
                  value: 'B',
                  extension: [{ url: `${XVER}CodeSystem.concept.designation.additionalUse`, valueCoding: use }],
                },
              ],
            },
          ],
        },
      ],
    });
  });

  it('leaves R4-compatible content unchanged', () => {
    const cs: Json = {
      resourceType: 'CodeSystem',
      url: 'http://hl7.org/fhir/test/CodeSystem/simple',
      version: '0.1.0',
      status: 'active',
      content: 'complete',
      property: [{ code: 'prop', uri: 'http://x', type: 'code' }],
      concept: [{ code: 'a', display: 'A', property: [{ code: 'prop', valueCode: 'new' }] }],
    };
    expect(toR4(cs)).toEqual(cs);
  });
});

describe('requestR5ToR4: ValueSet', () => {
  it('compose.property, include.copyright; filters (also child-of) unchanged', () => {
    const filter = [{ property: 'concept', op: 'child-of', value: 'code2' }];
    expect(
      toR4({
        resourceType: 'ValueSet',
        compose: {
          property: ['prop', 'status'],
          include: [{ system: 's', copyright: 'c', filter }],
        },
      }),
    ).toEqual({
      resourceType: 'ValueSet',
      compose: {
        include: [
          { system: 's', filter, extension: [{ url: `${XVER}ValueSet.compose.include.copyright`, valueString: 'c' }] },
        ],
        extension: [
          { url: `${XVER}ValueSet.compose.property`, valueString: 'prop' },
          { url: `${XVER}ValueSet.compose.property`, valueString: 'status' },
        ],
      },
    });
  });

  it('a data-absent filter value stays as is (valid R4 JSON)', () => {
    const vs: Json = {
      resourceType: 'ValueSet',
      compose: {
        include: [
          {
            system: 's',
            filter: [
              {
                property: 'concept',
                op: 'is-a',
                _value: {
                  extension: [
                    { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'not-applicable' },
                  ],
                },
              },
            ],
          },
        ],
      },
    };
    expect(toR4(vs)).toEqual(vs);
  });

  it('expansion properties go to extensions', () => {
    expect(
      toR4({
        resourceType: 'ValueSet',
        expansion: {
          property: [{ code: 'prop', uri: 'http://x#prop' }],
          contains: [
            {
              code: 'a',
              property: [{ code: 'prop', valueCode: 'new', subProperty: [{ code: 'sub', valueString: 's' }] }],
            },
          ],
        },
      }),
    ).toEqual({
      resourceType: 'ValueSet',
      expansion: {
        extension: [
          {
            url: `${XVER}ValueSet.expansion.property`,
            extension: [
              { url: 'code', valueCode: 'prop' },
              { url: 'uri', valueUri: 'http://x#prop' },
            ],
          },
        ],
        contains: [
          {
            code: 'a',
            extension: [
              {
                url: `${XVER}ValueSet.expansion.contains.property`,
                extension: [
                  { url: 'code', valueCode: 'prop' },
                  { url: 'value', valueCode: 'new' },
                  {
                    url: 'subProperty',
                    extension: [
                      { url: 'code', valueCode: 'sub' },
                      { url: 'value', valueString: 's' },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      },
    });
  });

  it('converts resources nested in batch validation Parameters too', () => {
    const nested: Json = {
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'validation',
          resource: {
            resourceType: 'Parameters',
            parameter: [{ name: 'valueSet', resource: { resourceType: 'ValueSet', compose: { property: ['p'] } } }],
          },
        },
      ],
    };
    expect(toR4(nested)).toEqual({
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'validation',
          resource: {
            resourceType: 'Parameters',
            parameter: [
              {
                name: 'valueSet',
                resource: {
                  resourceType: 'ValueSet',
                  compose: { extension: [{ url: `${XVER}ValueSet.compose.property`, valueString: 'p' }] },
                },
              },
            ],
          },
        },
      ],
    });
  });
});

describe('requestR5ToR4: ConceptMap', () => {
  const relationships: Array<[string, string]> = [
    ['equivalent', 'equivalent'],
    ['source-is-narrower-than-target', 'wider'],
    ['source-is-broader-than-target', 'narrower'],
    ['related-to', 'relatedto'],
    ['not-related-to', 'disjoint'],
  ];
  it.each(relationships)('relationship %s -> equivalence %s', (r5, r4) => {
    expect(RELATIONSHIP_TO_EQUIVALENCE[r5]).toBe(r4);
    const cm = toR4({
      resourceType: 'ConceptMap',
      group: [{ element: [{ code: 'a', target: [{ code: 'b', relationship: r5 }] }] }],
    });
    expect(cm).toEqual({
      resourceType: 'ConceptMap',
      group: [{ element: [{ code: 'a', target: [{ code: 'b', equivalence: r4 }] }] }],
    });
  });

  it('converts the tx-ecosystem ConceptMap-full shape', () => {
    expect(
      toR4({
        resourceType: 'ConceptMap',
        url: 'http://hl7.org/fhir/test/ConceptMap/full',
        sourceScopeUri: 'http://hl7.org/fhir/test/ValueSet/source',
        targetScopeUri: 'http://hl7.org/fhir/test/ValueSet/target',
        group: [
          {
            source: 'http://hl7.org/fhir/test/CodeSystem/source',
            target: 'http://hl7.org/fhir/test/CodeSystem/target',
            element: [{ code: 'code-1', target: [{ code: 'code1', relationship: 'equivalent' }] }],
            unmapped: { mode: 'fixed', code: 'temp', relationship: 'related-to' },
          },
        ],
      }),
    ).toEqual({
      resourceType: 'ConceptMap',
      url: 'http://hl7.org/fhir/test/ConceptMap/full',
      sourceUri: 'http://hl7.org/fhir/test/ValueSet/source',
      targetUri: 'http://hl7.org/fhir/test/ValueSet/target',
      group: [
        {
          source: 'http://hl7.org/fhir/test/CodeSystem/source',
          target: 'http://hl7.org/fhir/test/CodeSystem/target',
          element: [{ code: 'code-1', target: [{ code: 'code1', equivalence: 'equivalent' }] }],
          unmapped: {
            mode: 'fixed',
            code: 'temp',
            extension: [{ url: `${XVER}ConceptMap.group.unmapped.relationship`, valueCode: 'related-to' }],
          },
        },
      ],
    });
  });

  it('canonical scopes, identifier, noMap, unmapped use-source-code / otherMap, dependsOn', () => {
    expect(
      toR4({
        resourceType: 'ConceptMap',
        identifier: [{ value: '1' }, { value: '2' }],
        sourceScopeCanonical: 'http://vs/a',
        targetScopeCanonical: 'http://vs/b',
        group: [
          {
            element: [
              { code: 'x', noMap: true },
              {
                code: 'y',
                target: [
                  {
                    code: 'z',
                    relationship: 'equivalent',
                    dependsOn: [
                      { attribute: 'http://attr', valueCoding: { system: 'http://s', code: 'c', display: 'C' } },
                    ],
                  },
                ],
              },
            ],
            unmapped: { mode: 'use-source-code' },
          },
          { unmapped: { mode: 'other-map', otherMap: 'http://cm/other' } },
        ],
      }),
    ).toEqual({
      resourceType: 'ConceptMap',
      identifier: { value: '1' },
      sourceCanonical: 'http://vs/a',
      targetCanonical: 'http://vs/b',
      group: [
        {
          element: [
            { code: 'x', target: [{ equivalence: 'unmatched' }] },
            {
              code: 'y',
              target: [
                {
                  code: 'z',
                  equivalence: 'equivalent',
                  dependsOn: [{ property: 'http://attr', system: 'http://s', value: 'c', display: 'C' }],
                },
              ],
            },
          ],
          unmapped: { mode: 'provided' },
        },
        { unmapped: { mode: 'other-map', url: 'http://cm/other' } },
      ],
    });
  });
});

describe('responseR4ToR5', () => {
  it('expansion.property and contains.property come back as R5 elements', () => {
    const r4: Json = {
      resourceType: 'ValueSet',
      expansion: {
        extension: [
          { url: 'http://example.org/other', valueString: 'stays' },
          {
            url: `${XVER}ValueSet.expansion.property`,
            extension: [
              { url: 'code', valueCode: 'prop' },
              { url: 'uri', valueUri: 'http://hl7.org/fhir/test/CodeSystem/properties#prop' },
            ],
          },
        ],
        contains: [
          {
            system: 's',
            code: 'code2',
            extension: [
              {
                url: `${XVER}ValueSet.expansion.contains.property`,
                extension: [
                  { url: 'code', valueCode: 'prop' },
                  { url: 'value', valueCode: 'new' },
                ],
              },
              {
                url: `${XVER}ValueSet.expansion.contains.property`,
                extension: [
                  { url: 'code', valueCode: 'weight' },
                  { url: 'value', valueDecimal: 1.2 },
                  {
                    url: 'subProperty',
                    extension: [
                      { url: 'code', valueCode: 'unit' },
                      { url: 'value', valueString: 'kg' },
                    ],
                  },
                ],
              },
            ],
            contains: [
              {
                code: 'code2a',
                extension: [
                  {
                    url: `${XVER}ValueSet.expansion.contains.property`,
                    extension: [
                      { url: 'code', valueCode: 'prop' },
                      { url: 'value', valueCode: 'old' },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      },
    };
    expect(toR5(r4)).toEqual({
      resourceType: 'ValueSet',
      expansion: {
        extension: [{ url: 'http://example.org/other', valueString: 'stays' }],
        property: [{ code: 'prop', uri: 'http://hl7.org/fhir/test/CodeSystem/properties#prop' }],
        contains: [
          {
            system: 's',
            code: 'code2',
            property: [
              { code: 'prop', valueCode: 'new' },
              { code: 'weight', valueDecimal: 1.2, subProperty: [{ code: 'unit', valueString: 'kg' }] },
            ],
            contains: [{ code: 'code2a', property: [{ code: 'prop', valueCode: 'old' }] }],
          },
        ],
      },
    });
  });

  it('designation additionalUse and compose.property come back', () => {
    const use = { system: 'http://snomed.info/sct', code: '900000000000013009' };
    expect(
      toR5({
        resourceType: 'ValueSet',
        compose: { extension: [{ url: `${XVER}ValueSet.compose.property`, valueString: 'prop' }] },
        expansion: {
          contains: [
            {
              code: 'a',
              designation: [
                {
                  value: 'A',
                  extension: [
                    { url: `${XVER}ValueSet.expansion.contains.designation.additionalUse`, valueCoding: use },
                  ],
                },
              ],
            },
          ],
        },
      }),
    ).toEqual({
      resourceType: 'ValueSet',
      compose: { property: ['prop'] },
      expansion: { contains: [{ code: 'a', designation: [{ value: 'A', additionalUse: [use] }] }] },
    });
  });

  it('round-trips an R5 expansion through R4', () => {
    const r5: Json = {
      resourceType: 'ValueSet',
      expansion: {
        property: [{ code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status' }],
        contains: [{ code: 'a', property: [{ code: 'status', valueCode: 'retired' }] }],
      },
    };
    expect(toR5(toR4(r5))).toEqual(r5);
  });

  it('leaves Parameters (e.g. $translate with R4 equivalence) and OperationOutcome alone', () => {
    const p: Json = {
      resourceType: 'Parameters',
      parameter: [{ name: 'match', part: [{ name: 'equivalence', valueCode: 'equivalent' }] }],
    };
    expect(toR5(p)).toEqual(p);
    const oo: Json = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] };
    expect(toR5(oo)).toEqual(oo);
  });
});
