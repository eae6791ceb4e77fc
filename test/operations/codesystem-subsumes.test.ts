import type { OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';
import { FLAT_URL, flatCodeSystem, SIMPLE_URL, simpleCodeSystem } from '../terminology/lookup-translate-fixtures.ts';
import { MULTI_URL, multiParentCodeSystem } from '../terminology/related-fixtures.ts';

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
      issue: ['code-invalid', 'invalid-code', 'Unknown_Code_in_Version', 'codeA'],
      text: `Unknown code 'nope' in the CodeSystem '${SIMPLE_URL}' version '0.1.0'`,
    },
    {
      name: '404 for unknown codeB at instance level',
      url: () => `${server.baseUrl}/CodeSystem/simple/$subsumes?codeA=code1&codeB=nope`,
      status: 404,
      issue: ['code-invalid', 'invalid-code', 'Unknown_Code_in_Version', 'codeB'],
      text: `Unknown code 'nope' in the CodeSystem '${SIMPLE_URL}' version '0.1.0'`,
    },
    {
      name: '404 for an unknown code in codingB',
      url: () =>
        `${server.baseUrl}/CodeSystem/$subsumes?codingA=${encodeURIComponent(`${SIMPLE_URL}|code1`)}&codingB=${encodeURIComponent(`${SIMPLE_URL}|nope`)}`,
      status: 404,
      issue: ['code-invalid', 'invalid-code', 'Unknown_Code_in_Version', 'codingB'],
      text: `Unknown code 'nope' in the CodeSystem '${SIMPLE_URL}' version '0.1.0'`,
    },
    {
      name: '404 for unknown system',
      url: () => `${server.baseUrl}/CodeSystem/$subsumes?system=http://example.org/none&codeA=a&codeB=b`,
      status: 404,
      issue: ['not-found', 'not-found', 'SUBSUMPTION_CS_NOT_FOUND', undefined],
      text: "A definition for the CodeSystem 'http://example.org/none' could not be found, so subsumption cannot be tested",
    },
    {
      name: '404 for unknown version',
      url: () => `${server.baseUrl}/CodeSystem/$subsumes?system=${S}&version=9&codeA=code1&codeB=code2`,
      status: 404,
      issue: ['not-found', 'not-found', 'SUBSUMPTION_CS_NOT_FOUND_VERSION', undefined],
      text: `A definition for the CodeSystem '${SIMPLE_URL}' version '9' could not be found, so subsumption cannot be tested`,
    },
    {
      name: '400 for codings from different systems',
      url: () =>
        `${server.baseUrl}/CodeSystem/$subsumes?codingA=${encodeURIComponent(`${SIMPLE_URL}|code1`)}&codingB=${encodeURIComponent(`${FLAT_URL}|dog`)}`,
      status: 400,
      issue: ['invalid', 'invalid-data', 'SUBSUMPTION_SYSTEM_MISMATCH', 'codingB'],
      text: `Subsumption can only be tested between two codes in the same code system, but the code systems are '${SIMPLE_URL}' and '${FLAT_URL}'`,
    },
    {
      name: '200 when only one side names the version',
      url: () =>
        `${server.baseUrl}/CodeSystem/$subsumes?system=${S}&version=0.1.0&codeA=code1&codingB=${encodeURIComponent(`${SIMPLE_URL}|code2`)}`,
      status: 200,
      issue: undefined,
      text: undefined,
    },
    {
      name: '400 for a coding outside the instance',
      url: () =>
        `${server.baseUrl}/CodeSystem/simple/$subsumes?codeA=code1&codingB=${encodeURIComponent(`${FLAT_URL}|dog`)}`,
      status: 400,
      issue: ['invalid', 'invalid-data', 'SUBSUMPTION_SYSTEM_MISMATCH', 'codingB'],
      text: `Subsumption can only be tested between two codes in the same code system, but the code systems are '${SIMPLE_URL}' and '${FLAT_URL}'`,
    },
    {
      name: '400 without codeB',
      url: () => `${server.baseUrl}/CodeSystem/$subsumes?system=${S}&codeA=code1`,
      status: 400,
      issue: ['invalid', 'invalid-data', 'SUBSUMPTION_NO_CODING', 'codeB'],
      text: 'No value is provided for codeB, so subsumption cannot be tested',
    },
    {
      name: '400 without system (codeA, codeB)',
      url: () => `${server.baseUrl}/CodeSystem/$subsumes?codeA=code1&codeB=code2`,
      status: 400,
      issue: ['invalid', 'invalid-data', 'SUBSUMPTION_NO_SYSTEM', 'codeA'],
      text: 'No code system is provided for codeA, so subsumption cannot be tested',
    },
    {
      name: '400 without system (codingA, codingB)',
      url: () => `${server.baseUrl}/CodeSystem/$subsumes?codingA=code1&codingB=code2`,
      status: 400,
      issue: ['invalid', 'invalid-data', 'SUBSUMPTION_NO_SYSTEM', 'codingA'],
      text: 'No code system is provided for codingA, so subsumption cannot be tested',
    },
  ])('$name', async ({ url, status, issue, text }) => {
    const res = await fetchFhir<OperationOutcome>(url());
    expect(res.status).toBe(status);
    if (!issue) return;
    const [code, tx, messageId, expression] = issue;
    expect(res.body.issue?.[0]).toMatchObject({
      severity: 'error',
      code,
      details: { text, coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: tx }] },
      extension: [
        { url: 'http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id', valueString: messageId },
      ],
    });
    expect(res.body.issue?.[0]?.expression).toEqual(expression === undefined ? undefined : [expression]);
  });

  test('POST: 400 for codings from different versions', async () => {
    const res = await fetchFhir<OperationOutcome>(
      `${server.baseUrl}/CodeSystem/$subsumes`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'codingA', valueCoding: { system: SIMPLE_URL, version: '0.1.0', code: 'code1' } },
          { name: 'codingB', valueCoding: { system: SIMPLE_URL, version: '0.2.0', code: 'code2' } },
        ],
      }),
    );
    expect(res.status).toBe(400);
    expect(res.body.issue?.[0]?.details?.text).toBe(
      `Subsumption can only be tested between two codes in the same version of '${SIMPLE_URL}', but the versions are '0.1.0' and '0.2.0'`,
    );
    expect(res.body.issue?.[0]?.expression).toEqual(['codingB']);
  });

  test('POST: 400 for a coding without a code', async () => {
    const res = await fetchFhir<OperationOutcome>(
      `${server.baseUrl}/CodeSystem/$subsumes`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'codingA', valueCoding: { system: SIMPLE_URL, code: 'code1' } },
          { name: 'codingB', valueCoding: { system: SIMPLE_URL } },
        ],
      }),
    );
    expect(res.status).toBe(400);
    expect(res.body.issue?.[0]?.details?.text).toBe('No code is provided for codingB, so subsumption cannot be tested');
  });
});

describe('CodeSystem/$subsumes: hierarchy stated by properties (THO subsumedBy)', () => {
  test.each([
    { a: 'root', b: 'both', result: 'subsumes' },
    { a: 'both', b: 'left', result: 'subsumed-by' },
    { a: 'both', b: 'right', result: 'subsumed-by' },
    { a: 'left', b: 'right', result: 'not-subsumed' },
    { a: 'both', b: 'leftOnly', result: 'not-subsumed' },
    { a: 'leftOnly', b: 'root', result: 'subsumed-by' },
  ])('$a vs $b: $result (codeA/codeB and codingA/codingB)', async ({ a, b, result }) => {
    const byCode = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$subsumes`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'system', valueUri: MULTI_URL },
          { name: 'codeA', valueCode: a },
          { name: 'codeB', valueCode: b },
          { name: 'tx-resource', resource: multiParentCodeSystem() },
        ],
      }),
    );
    expect(byCode.body).toEqual(outcome(result));
    const byCoding = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$subsumes`,
      postJson({
        resourceType: 'Parameters',
        parameter: [
          { name: 'codingA', valueCoding: { system: MULTI_URL, code: a } },
          { name: 'codingB', valueCoding: { system: MULTI_URL, code: b } },
          { name: 'tx-resource', resource: multiParentCodeSystem() },
        ],
      }),
    );
    expect(byCoding.body).toEqual(outcome(result));
  });
});
