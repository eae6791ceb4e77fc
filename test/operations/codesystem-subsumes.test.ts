import type { OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';
import { FLAT_URL, flatCodeSystem, SIMPLE_URL, simpleCodeSystem } from '../terminology/lookup-translate-fixtures.ts';

let server: TestServer;

beforeAll(async () => {
  const store = new TerminologyStore();
  store.add(simpleCodeSystem());
  store.add(flatCodeSystem());
  server = await startTestServer({ store });
});

afterAll(async () => {
  await server.close();
});

const outcome = (code: string): Parameters => ({
  resourceType: 'Parameters',
  parameter: [{ name: 'outcome', valueCode: code }],
});

const S = encodeURIComponent(SIMPLE_URL);

describe('CodeSystem/$subsumes', () => {
  test.each([
    { query: `system=${S}&codeA=code2&codeB=code2aI`, result: 'subsumes' },
    { query: `system=${S}&codeA=code2aI&codeB=code2`, result: 'subsumed-by' },
    { query: `system=${S}&codeA=code2a&codeB=code2a`, result: 'equivalent' },
    { query: `system=${S}&codeA=code1&codeB=code2`, result: 'not-subsumed' },
    { query: `system=${S}&version=0.1.0&codeA=code2&codeB=code2b`, result: 'subsumes' },
    {
      query: `codingA=${encodeURIComponent(`${FLAT_URL}|animal`)}&codingB=${encodeURIComponent(`${FLAT_URL}|dog`)}`,
      result: 'subsumes',
    },
  ])('GET type level: $result', async ({ query, result }) => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$subsumes?${query}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(outcome(result));
  });

  test('POST type level with codings', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$subsumes`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'codingA', valueCoding: { system: FLAT_URL, code: 'dog' } },
          { name: 'codingB', valueCoding: { system: FLAT_URL, version: '1.0.0', code: 'mammal' } },
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual(outcome('subsumed-by'));
  });

  test('POST type level with a tx-resource code system', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$subsumes`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'system', valueUri: SIMPLE_URL },
          { name: 'version', valueString: '2.0.0' },
          { name: 'codeA', valueCode: 'code2' },
          { name: 'codeB', valueCode: 'code2aII' },
          { name: 'tx-resource', resource: simpleCodeSystem('2.0.0') },
        ],
      }),
    );
    expect(res.body).toEqual(outcome('subsumes'));
  });

  test('GET instance level', async () => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/flat/$subsumes?codeA=bird&codeB=animal`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(outcome('subsumed-by'));
  });

  test('POST instance level', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/simple/$subsumes`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'codeA', valueCode: 'code3' },
          { name: 'codingB', valueCoding: { system: SIMPLE_URL, code: 'code3' } },
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual(outcome('equivalent'));
  });

  test.each([
    {
      name: '404 for unknown codeA',
      url: () => `${server.baseUrl}/CodeSystem/$subsumes?system=${S}&codeA=nope&codeB=code1`,
      status: 404,
      text: `Unknown code 'nope' in the CodeSystem '${SIMPLE_URL}' version '0.1.0'`,
    },
    {
      name: '404 for unknown codeB at instance level',
      url: () => `${server.baseUrl}/CodeSystem/simple/$subsumes?codeA=code1&codeB=nope`,
      status: 404,
      text: `Unknown code 'nope' in the CodeSystem '${SIMPLE_URL}' version '0.1.0'`,
    },
    {
      name: '404 for unknown system',
      url: () => `${server.baseUrl}/CodeSystem/$subsumes?system=http://example.org/none&codeA=a&codeB=b`,
      status: 404,
      text: "A definition for CodeSystem 'http://example.org/none' could not be found",
    },
    {
      name: '400 for codings from different systems',
      url: () =>
        `${server.baseUrl}/CodeSystem/$subsumes?codingA=${encodeURIComponent(`${SIMPLE_URL}|code1`)}&codingB=${encodeURIComponent(`${FLAT_URL}|dog`)}`,
      status: 400,
      text: `The system '${FLAT_URL}' in parameter 'codingB' does not match the system '${SIMPLE_URL}'`,
    },
    {
      name: '400 for a coding outside the instance',
      url: () =>
        `${server.baseUrl}/CodeSystem/simple/$subsumes?codeA=code1&codingB=${encodeURIComponent(`${FLAT_URL}|dog`)}`,
      status: 400,
      text: `The system '${FLAT_URL}' in parameter 'codingB' does not match the system '${SIMPLE_URL}'`,
    },
    {
      name: '400 without codeB',
      url: () => `${server.baseUrl}/CodeSystem/$subsumes?system=${S}&codeA=code1`,
      status: 400,
      text: 'Unable to perform $subsumes: no code given (provide codeB or codingB)',
    },
    {
      name: '400 without system',
      url: () => `${server.baseUrl}/CodeSystem/$subsumes?codeA=code1&codeB=code2`,
      status: 400,
      text: 'Unable to perform $subsumes: no system given',
    },
  ])('$name', async ({ url, status, text }) => {
    const res = await fetchFhir<OperationOutcome>(url());
    expect(res.status).toBe(status);
    expect(res.body.issue?.[0]?.details?.text).toBe(text);
  });
});
