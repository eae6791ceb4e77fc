import type { OperationOutcome, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';
import {
  MAP_URL,
  OTHER_CS,
  otherConceptMap,
  r4ConceptMap,
  r5ConceptMap,
  SIMPLE_URL,
  SOURCE_CS,
  SOURCE_VS,
  sourceCodeSystem,
  sourceValueSet,
  TARGET_CS,
  targetCodeSystem,
  targetValueSet,
} from '../terminology/lookup-translate-fixtures.ts';

let server: TestServer;

beforeAll(async () => {
  const store = new TerminologyStore();
  for (const r of [sourceCodeSystem(), targetCodeSystem(), sourceValueSet(), targetValueSet(), r4ConceptMap()]) {
    store.add(r);
  }
  server = await startTestServer({ store });
});

afterAll(async () => {
  await server.close();
});

const ORIGIN = `${MAP_URL}|0.1.0`;

const CODE1: Parameters = {
  resourceType: 'Parameters',
  parameter: [
    { name: 'result', valueBoolean: true },
    {
      name: 'match',
      part: [
        { name: 'concept', valueCoding: { system: TARGET_CS, code: 'code1' } },
        { name: 'equivalence', valueCode: 'equivalent' },
        { name: 'originMap', valueCanonical: ORIGIN },
      ],
    },
  ],
};

const REVERSE: Parameters = {
  resourceType: 'Parameters',
  parameter: [
    { name: 'result', valueBoolean: true },
    {
      name: 'match',
      part: [
        { name: 'concept', valueCoding: { system: TARGET_CS, code: 'code1' } },
        { name: 'equivalence', valueCode: 'equivalent' },
        { name: 'originMap', valueCanonical: ORIGIN },
        { name: 'source', valueCoding: { system: SOURCE_CS, code: 'code-1' } },
      ],
    },
  ],
};

const q = (o: Record<string, string | undefined>) =>
  new URLSearchParams(Object.entries(o).filter((e): e is [string, string] => e[1] !== undefined)).toString();
const post = (parameter: ParametersParameter[]) => postJson({ resourceType: 'Parameters', parameter });

describe('ConceptMap/$translate', () => {
  test.each([
    { names: 'R4', query: { system: SOURCE_CS, code: 'code-1', targetsystem: TARGET_CS } },
    { names: 'R5', query: { sourceSystem: SOURCE_CS, sourceCode: 'code-1', targetSystem: TARGET_CS } },
    { names: 'R5 with system', query: { system: SOURCE_CS, sourceCode: 'code-1' } },
    { names: 'url', query: { url: MAP_URL, system: SOURCE_CS, code: 'code-1' } },
    { names: 'coding token', query: { coding: `${SOURCE_CS}|code-1`, source: SOURCE_VS } },
  ])('GET type level, $names names', async ({ query }) => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/ConceptMap/$translate?${q(query)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(CODE1);
  });

  test.each([
    { names: 'R4 reverse', query: { system: TARGET_CS, code: 'code1', reverse: 'true', targetsystem: SOURCE_CS } },
    { names: 'R5 targetCode', query: { sourceSystem: SOURCE_CS, targetCode: 'code1', targetSystem: TARGET_CS } },
  ])('GET type level, $names', async ({ query }) => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/ConceptMap/$translate?${q(query)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(REVERSE);
  });

  test('POST type level with R5 tx-resources (tx-ecosystem translate-1 shape)', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ConceptMap/$translate`,
      post([
        { name: 'sourceSystem', valueUri: SOURCE_CS },
        { name: 'sourceCode', valueCode: 'code-2' },
        { name: 'targetSystem', valueUri: TARGET_CS },
        { name: 'tx-resource', resource: r5ConceptMap() },
        { name: 'tx-resource', resource: otherConceptMap() },
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.body.parameter).toEqual([
      { name: 'result', valueBoolean: true },
      {
        name: 'match',
        part: [
          { name: 'concept', valueCoding: { system: TARGET_CS, code: 'code2' } },
          { name: 'equivalence', valueCode: 'narrower' },
          { name: 'originMap', valueCanonical: ORIGIN },
        ],
      },
    ]);
  });

  test('POST type level: sourceCoding, codeableConcept, conceptMap parameter', async () => {
    for (const input of [
      { name: 'sourceCoding', valueCoding: { system: SOURCE_CS, code: 'code-1' } },
      { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: SOURCE_CS, code: 'code-1' }] } },
    ]) {
      const res = await fetchFhir<Parameters>(`${server.baseUrl}/ConceptMap/$translate`, post([input]));
      expect(res.body).toEqual(CODE1);
    }
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ConceptMap/$translate`,
      post([
        { name: 'coding', valueCoding: { system: OTHER_CS, code: 'code-1' } },
        { name: 'conceptMap', resource: otherConceptMap() },
      ]),
    );
    expect(res.body.parameter?.[1]?.part?.[0]).toEqual({
      name: 'concept',
      valueCoding: { system: SIMPLE_URL, code: 'code1' },
    });
  });

  test('GET instance level', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ConceptMap/full-r4/$translate?${q({ system: SOURCE_CS, code: 'code-1' })}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual(CODE1);
  });

  test('POST instance level', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ConceptMap/full-r4/$translate`,
      post([{ name: 'targetCoding', valueCoding: { system: TARGET_CS, code: 'code1' } }]),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual(REVERSE);
  });

  test('unmapped and negative answers', async () => {
    const fixed = await fetchFhir<Parameters>(
      `${server.baseUrl}/ConceptMap/$translate?${q({ system: SOURCE_CS, code: 'code-4' })}`,
    );
    expect(fixed.body.parameter?.[1]).toEqual({
      name: 'match',
      part: [
        { name: 'concept', valueCoding: { system: TARGET_CS, code: 'temp' } },
        { name: 'equivalence', valueCode: 'relatedto' },
        { name: 'originMap', valueCanonical: ORIGIN },
      ],
    });
    const negative = await fetchFhir<Parameters>(
      `${server.baseUrl}/ConceptMap/$translate?${q({ system: SOURCE_CS, code: 'code-2b' })}`,
    );
    expect(negative.body.parameter?.slice(0, 2)).toEqual([
      { name: 'result', valueBoolean: false },
      {
        name: 'message',
        valueString: `The code '${SOURCE_CS}#code-2b' is mapped, but only to say that it has no equivalent`,
      },
    ]);
    expect(negative.body.parameter?.[2]?.part?.[1]).toEqual({ name: 'equivalence', valueCode: 'disjoint' });
  });

  test('no map for the code: result false', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ConceptMap/$translate?${q({ system: 'http://example.org/x', code: 'a' })}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'result', valueBoolean: false },
        { name: 'message', valueString: "No ConceptMap is known that maps the code 'http://example.org/x#a'" },
      ],
    });
  });

  test.each([
    {
      name: '404 for unknown url',
      url: () =>
        `${server.baseUrl}/ConceptMap/$translate?${q({ url: 'http://example.org/none', system: SOURCE_CS, code: 'code-1' })}`,
      status: 404,
      text: "A definition for the ConceptMap 'http://example.org/none' could not be found",
    },
    {
      name: '404 for unknown instance',
      url: () => `${server.baseUrl}/ConceptMap/none/$translate?${q({ system: SOURCE_CS, code: 'code-1' })}`,
      status: 404,
      text: 'ConceptMap/none is not known on this server',
    },
    {
      name: '400 without a code',
      url: () => `${server.baseUrl}/ConceptMap/$translate?${q({ system: SOURCE_CS })}`,
      status: 400,
      text:
        'Unable to translate: provide sourceCode and system, sourceCoding, sourceCodeableConcept, targetCode and targetSystem, ' +
        'targetCoding or targetCodeableConcept (R4: code and system, coding or codeableConcept)',
    },
    {
      name: '400 without a system',
      url: () => `${server.baseUrl}/ConceptMap/$translate?${q({ code: 'code-1' })}`,
      status: 400,
      text: 'Unable to perform $translate: no system given',
    },
  ])('$name', async ({ url, status, text }) => {
    const res = await fetchFhir<OperationOutcome>(url());
    expect(res.status).toBe(status);
    expect(res.body.issue?.[0]?.details?.text).toBe(text);
  });
});
