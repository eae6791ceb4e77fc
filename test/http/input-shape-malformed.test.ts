import type { OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  MAX_CODE_LENGTH,
  MAX_CONCEPT_DEPTH,
  MAX_JSON_DEPTH,
  MAX_STRING_LENGTH,
} from '../../src/http/resource-schemas.ts';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';
import { cm, cs, expandWith, nestedConcepts, nestedExtensions, params, vs, withTx } from './input-shape-support.ts';

/**
 * Input shape validation at the edge: the table of malformed inputs, each a 400 naming the
 * element. The shape checks themselves and the limits on a whole request are in
 * input-shape.test.ts.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const R = 'Parameters.parameter[0].resource';

describe('a malformed input is a 400 naming the element', () => {
  test.each([
    [
      'compose.include as an object',
      '/ValueSet/$expand',
      expandWith(vs({ include: { system: 'x' } })),
      `${R}.compose.include`,
      'must be an array, found an object',
    ],
    [
      'concept: [null]',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: 'x', concept: [null] }] })),
      `${R}.compose.include[0].concept[0]`,
      'must not be null',
    ],
    [
      'filter: "x"',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: 'x', filter: 'x' }] })),
      `${R}.compose.include[0].filter`,
      'must be an array, found a string "x"',
    ],
    [
      'filter: [null]',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: 'x', filter: [null] }] })),
      `${R}.compose.include[0].filter[0]`,
      'must not be null',
    ],
    [
      'include.valueSet: [5]',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ valueSet: [5] }] })),
      `${R}.compose.include[0].valueSet[0]`,
      'must be a string, found a number (5)',
    ],
    [
      'system: {}',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: {} }] })),
      `${R}.compose.include[0].system`,
      'must be a string, found an object',
    ],
    [
      'exclude: "x"',
      '/ValueSet/$expand',
      expandWith(vs({ include: [], exclude: 'x' })),
      `${R}.compose.exclude`,
      'must be an array, found a string "x"',
    ],
    [
      'compose: []',
      '/ValueSet/$expand',
      expandWith(vs([])),
      `${R}.compose`,
      'must be a ValueSet.compose (a JSON object), found an array',
    ],
    [
      'inactive: "yes"',
      '/ValueSet/$expand',
      expandWith(vs({ inactive: 'yes', include: [] })),
      `${R}.compose.inactive`,
      'must be a boolean, found a string "yes"',
    ],
    [
      'include concept code: 5',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: 'x', concept: [{ code: 5 }] }] })),
      `${R}.compose.include[0].concept[0].code`,
      'must be a string, found a number (5)',
    ],
    [
      'include concept without code',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: 'x', concept: [{ display: 'A' }] }] })),
      `${R}.compose.include[0].concept[0]`,
      'has no code, which a ValueSet.compose.include.concept must have',
    ],
    [
      'designation as an object',
      '/ValueSet/$expand',
      expandWith(vs({ include: [{ system: 'x', concept: [{ code: 'a', designation: { value: 'x' } }] }] })),
      `${R}.compose.include[0].concept[0].designation`,
      'must be an array, found an object',
    ],
    [
      'a Coding with an element Coding does not have',
      '/ValueSet/$expand',
      expandWith(
        vs({
          include: [
            { system: 'x', concept: [{ code: 'a', designation: [{ use: { code: 'x', foo: 1 }, value: 'x' }] }] },
          ],
        }),
      ),
      `${R}.compose.include[0].concept[0].designation[0].use.foo`,
      'is not an element of Coding',
    ],
    [
      'an extension with an element Extension does not have',
      '/ValueSet/$expand',
      expandWith(vs({ include: [] }, { extension: [{ url: 'x', valueString: 'y', foo: 1 }] })),
      `${R}.extension[0].foo`,
      'is not an element of Extension',
    ],
    [
      'an empty Coding',
      '/CodeSystem/$lookup',
      params({ name: 'coding', valueCoding: {} }),
      'Parameters.parameter[0].valueCoding',
      'must not be empty (a Coding with no content)',
    ],
    [
      'a blank display',
      '/ValueSet/$validate-code',
      params({ name: 'coding', valueCoding: { code: 'a', display: ' ' } }),
      'Parameters.parameter[0].valueCoding.display',
      'must not be empty or blank, found a string " "',
    ],
    [
      'a control character in a code',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a\u0000b' }])),
      `${R}.concept[0].code`,
      'must not hold control characters (U+0000 at position 1)',
    ],
    [
      'an unpaired surrogate in a display',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a', display: 'x\uD800' }])),
      `${R}.concept[0].display`,
      'must be well-formed Unicode (it holds an unpaired surrogate)',
    ],
    [
      'expansion.contains as an object',
      '/ValueSet/$expand',
      expandWith(vs(undefined, { expansion: { contains: { code: 'a' } } })),
      `${R}.expansion.contains`,
      'must be an array, found an object',
    ],
    [
      'expansion.total: "5"',
      '/ValueSet/$expand',
      expandWith(vs(undefined, { expansion: { total: '5' } })),
      `${R}.expansion.total`,
      'must be an integer, found a string "5"',
    ],
    [
      'contains nested too deep',
      '/ValueSet/$expand',
      expandWith(
        vs(undefined, {
          expansion: {
            contains: JSON.parse(JSON.stringify(nestedConcepts(150)).replaceAll('"concept"', '"contains"')),
          },
        }),
      ),
      undefined,
      `is nested more than ${MAX_CONCEPT_DEPTH} levels deep`,
    ],
    [
      'contained: [null]',
      '/ValueSet/$expand',
      expandWith(vs({ include: [] }, { contained: [null] })),
      `${R}.contained[0]`,
      'must not be null',
    ],
    [
      'a contained value set with include as a string',
      '/ValueSet/$expand',
      expandWith(vs({ include: [] }, { contained: [vs({ include: 'x' })] })),
      `${R}.contained[0].compose.include`,
      'must be an array, found a string "x"',
    ],
    [
      'name: 5 (echoed by $expand)',
      '/ValueSet/$expand',
      expandWith(vs({ include: [] }, { name: 5 })),
      `${R}.name`,
      'must be a string, found a number (5)',
    ],
    [
      'extension: {}',
      '/ValueSet/$expand',
      expandWith(vs({ include: [] }, { extension: {} })),
      `${R}.extension`,
      'must be an array, found an object',
    ],
    [
      'extension valueBoolean: "true"',
      '/ValueSet/$expand',
      expandWith(vs({ include: [] }, { extension: [{ url: 'x', valueBoolean: 'true' }] })),
      `${R}.extension[0].valueBoolean`,
      'must be a boolean, found a string "true"',
    ],
    [
      'a tx-resource CodeSystem with code: 5',
      '/ValueSet/$expand',
      withTx(cs([{ code: 5 }])),
      `${R}.concept[0].code`,
      'must be a string, found a number (5)',
    ],
    [
      'a tx-resource CodeSystem with display: []',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a', display: [] }])),
      `${R}.concept[0].display`,
      'must be a string, found an array',
    ],
    [
      'a tx-resource CodeSystem with concept: "x"',
      '/ValueSet/$expand',
      withTx(cs('x')),
      `${R}.concept`,
      'must be an array, found a string "x"',
    ],
    [
      'a tx-resource CodeSystem with property: "x"',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a', property: 'x' }])),
      `${R}.concept[0].property`,
      'must be an array, found a string "x"',
    ],
    [
      'a concept property valueCoding: "x"',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a', property: [{ code: 'p', valueCoding: 'x' }] }])),
      `${R}.concept[0].property[0].valueCoding`,
      'must be a Coding (a JSON object), found a string "x"',
    ],
    [
      'a tx-resource CodeSystem with caseSensitive: "false"',
      '/ValueSet/$expand',
      withTx(cs([], { caseSensitive: 'false' })),
      `${R}.caseSensitive`,
      'must be a boolean, found a string "false"',
    ],
    [
      'a tx-resource CodeSystem with count: 1.5',
      '/ValueSet/$expand',
      withTx(cs([], { count: 1.5 })),
      `${R}.count`,
      'must be an integer, found a number (1.5)',
    ],
    [
      'a tx-resource CodeSystem with filter: {}',
      '/ValueSet/$expand',
      withTx(cs([], { filter: {} })),
      `${R}.filter`,
      'must be an array, found an object',
    ],
    [
      'a tx-resource CodeSystem with property defs: [null]',
      '/ValueSet/$expand',
      withTx(cs([], { property: [null] })),
      `${R}.property[0]`,
      'must not be null',
    ],
    [
      'concepts nested 5,000 deep',
      '/ValueSet/$expand',
      withTx(cs(nestedConcepts(5000))),
      undefined,
      `is nested more than ${MAX_CONCEPT_DEPTH} levels deep`,
    ],
    [
      'extensions nested 1,000 deep',
      '/ValueSet/$expand',
      withTx(cs([], { extension: nestedExtensions(1000) })),
      undefined,
      `is nested more than ${MAX_JSON_DEPTH} levels deep`,
    ],
    [
      'a code of 70,000 characters',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'x'.repeat(70_000) }])),
      `${R}.concept[0].code`,
      `is too long (70000 characters, at most ${MAX_CODE_LENGTH})`,
    ],
    [
      'a display over 1 MiB',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a', display: 'x'.repeat(MAX_STRING_LENGTH + 1) }])),
      `${R}.concept[0].display`,
      'is too long',
    ],
    [
      'an unknown element over 1 MiB',
      '/ValueSet/$expand',
      withTx(cs([{ code: 'a', foo: ['x'.repeat(MAX_STRING_LENGTH + 1)] }])),
      `${R}.concept[0].foo[0]`,
      'is too long',
    ],
    [
      'a tx-resource without a resourceType',
      '/ValueSet/$expand',
      withTx({ url: 'x' }),
      R,
      'must be a resource with a resourceType, found nothing',
    ],
    [
      'a tx-resource as an array',
      '/ValueSet/$expand',
      withTx([cs([])]),
      R,
      'must be a resource (a JSON object), found an array',
    ],
    [
      'ConceptMap group as an object',
      '/ConceptMap/$translate',
      params({ name: 'conceptMap', resource: cm({ source: 'x' }) }),
      `${R}.group`,
      'must be an array, found an object',
    ],
    [
      'ConceptMap element: "x"',
      '/ConceptMap/$translate',
      params({ name: 'conceptMap', resource: cm([{ element: 'x' }]) }),
      `${R}.group[0].element`,
      'must be an array, found a string "x"',
    ],
    [
      'ConceptMap target: [null]',
      '/ConceptMap/$translate',
      params({ name: 'conceptMap', resource: cm([{ element: [{ code: 'a', target: [null] }] }]) }),
      `${R}.group[0].element[0].target[0]`,
      'must not be null',
    ],
    [
      'ConceptMap dependsOn: {}',
      '/ConceptMap/$translate',
      params({
        name: 'conceptMap',
        resource: cm([{ element: [{ code: 'a', target: [{ code: 'b', dependsOn: {} }] }] }]),
      }),
      `${R}.group[0].element[0].target[0].dependsOn`,
      'must be an array, found an object',
    ],
    [
      'ConceptMap equivalence: 1',
      '/ConceptMap/$translate',
      params({
        name: 'conceptMap',
        resource: cm([{ element: [{ code: 'a', target: [{ code: 'b', equivalence: 1 }] }] }]),
      }),
      `${R}.group[0].element[0].target[0].equivalence`,
      'must be a string, found a number (1)',
    ],
    [
      'ConceptMap unmapped: []',
      '/ConceptMap/$translate',
      params({ name: 'conceptMap', resource: cm([{ unmapped: [] }]) }),
      `${R}.group[0].unmapped`,
      'must be a ConceptMap.group.unmapped (a JSON object), found an array',
    ],
    [
      'CodeableConcept coding: "x"',
      '/ValueSet/$validate-code',
      params(
        { name: 'url', valueUri: 'http://hl7.org/fhir/ValueSet/administrative-gender' },
        { name: 'codeableConcept', valueCodeableConcept: { coding: 'x' } },
      ),
      'Parameters.parameter[1].valueCodeableConcept.coding',
      'must be an array, found a string "x"',
    ],
    [
      'CodeableConcept coding: [null]',
      '/ValueSet/$validate-code',
      params({ name: 'codeableConcept', valueCodeableConcept: { coding: [null] } }),
      'Parameters.parameter[0].valueCodeableConcept.coding[0]',
      'must not be null',
    ],
    [
      'Coding code: 5',
      '/CodeSystem/$lookup',
      params({ name: 'coding', valueCoding: { system: 'x', code: 5 } }),
      'Parameters.parameter[0].valueCoding.code',
      'must be a string, found a number (5)',
    ],
    [
      'Coding system: {}',
      '/CodeSystem/$validate-code',
      params({ name: 'coding', valueCoding: { system: {}, code: 'a' } }),
      'Parameters.parameter[0].valueCoding.system',
      'must be a string, found an object',
    ],
    [
      'Coding display: []',
      '/ValueSet/$validate-code',
      params({ name: 'coding', valueCoding: { code: 'a', display: [] } }),
      'Parameters.parameter[0].valueCoding.display',
      'must be a string, found an array',
    ],
    [
      'Coding as an array',
      '/CodeSystem/$subsumes',
      params({ name: 'codingA', valueCoding: [{ code: 'a' }] }),
      'Parameters.parameter[0].valueCoding',
      'must be a Coding (a JSON object), found an array',
    ],
    [
      'Coding as null',
      '/ConceptMap/$translate',
      params({ name: 'sourceCoding', valueCoding: null }),
      'Parameters.parameter[0].valueCoding',
      'must not be null',
    ],
    [
      'a dependency part: "x"',
      '/ConceptMap/$translate',
      params({ name: 'dependency', part: 'x' }),
      'Parameters.parameter[0].part',
      'must be an array, found a string "x"',
    ],
    [
      'a dependency part without a name',
      '/ConceptMap/$translate',
      params({ name: 'dependency', part: [{ valueString: 'x' }] }),
      'Parameters.parameter[0].part[0]',
      'has no name, which a Parameters.parameter must have',
    ],
  ])('%s', async (_name, path, body, expression, text) => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}${path}`, postJson(body));
    expect(res.status).toBe(400);
    const issue = res.body.issue[0];
    expect(issue.code).toBe('invalid');
    const details = issue.details?.text ?? '';
    expect(details).toContain(text);
    expect(details).toMatch(/^Parameter '[^']+': /);
    expect(details.length).toBeLessThan(600);
    if (expression !== undefined) {
      expect(issue.expression).toEqual([expression]);
      expect(details).toContain(`${expression} ${text}`);
    } else {
      expect(issue.expression?.[0]).toMatch(/^Parameters\.parameter\[0\]\.resource\./);
    }
  });
});
