import type { OperationOutcome, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';
import { MULTI, SIMPLE, VS, validationStore } from '../terminology/validate-fixtures.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ store: validationStore() });
});

afterAll(async () => {
  await server.close();
});

const TX = 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type';

const VALID_CODE1: Parameters = {
  resourceType: 'Parameters',
  parameter: [
    { name: 'result', valueBoolean: true },
    { name: 'code', valueCode: 'code1' },
    { name: 'system', valueUri: SIMPLE },
    { name: 'version', valueString: '0.1.0' },
    { name: 'display', valueString: 'Display 1' },
  ],
};

const UNKNOWN_CODE = `Unknown code 'nope' in the CodeSystem '${SIMPLE}' version '0.1.0'`;

const query = (params: Record<string, string>) => new URLSearchParams(params).toString();

function parameters(...parameter: ParametersParameter[]): Parameters {
  return { resourceType: 'Parameters', parameter };
}

describe('CodeSystem/$validate-code', () => {
  test.each([
    { name: 'GET type level', path: `CodeSystem/$validate-code?${query({ url: SIMPLE, code: 'code1' })}` },
    { name: 'GET instance', path: `CodeSystem/simple/$validate-code?${query({ code: 'code1' })}` },
    { name: 'GET with a token coding', path: `CodeSystem/$validate-code?${query({ coding: `${SIMPLE}|code1` })}` },
  ])('$name', async ({ path }) => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/${path}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(VALID_CODE1);
  });

  test('POST instance with a coding', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/simple/$validate-code`,
      postJson(parameters({ name: 'coding', valueCoding: { system: SIMPLE, code: 'code1' } })),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual(VALID_CODE1);
  });

  test('an unknown code is result false with issues', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$validate-code`,
      postJson(parameters({ name: 'url', valueUri: SIMPLE }, { name: 'code', valueCode: 'nope' })),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual(
      parameters(
        { name: 'result', valueBoolean: false },
        { name: 'code', valueCode: 'nope' },
        { name: 'system', valueUri: SIMPLE },
        { name: 'message', valueString: UNKNOWN_CODE },
        {
          name: 'issues',
          resource: {
            resourceType: 'OperationOutcome',
            issue: [
              {
                severity: 'error',
                code: 'code-invalid',
                details: { coding: [{ system: TX, code: 'invalid-code' }], text: UNKNOWN_CODE },
                extension: [
                  {
                    url: 'http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id',
                    valueString: 'Unknown_Code_in_Version',
                  },
                ],
                expression: ['code'],
              },
            ],
          },
        },
      ),
    );
  });

  test('a code system given in tx-resource', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$validate-code`,
      postJson(
        parameters(
          { name: 'url', valueUri: 'http://example.org/tx' },
          { name: 'code', valueCode: 't' },
          {
            name: 'tx-resource',
            resource: {
              resourceType: 'CodeSystem',
              url: 'http://example.org/tx',
              status: 'active',
              content: 'complete',
              concept: [{ code: 't', display: 'Tee' }],
            },
          },
        ),
      ),
    );
    expect(res.body).toEqual(
      parameters(
        { name: 'result', valueBoolean: true },
        { name: 'code', valueCode: 't' },
        { name: 'system', valueUri: 'http://example.org/tx' },
        { name: 'display', valueString: 'Tee' },
      ),
    );
  });

  test('400 without a code', async () => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/CodeSystem/$validate-code?url=${SIMPLE}`);
    expect(res.status).toBe(400);
    expect(res.body.issue?.[0]?.details?.text).toBe(
      'Unable to find code to validate (looked for coding | codeableConcept | code+system | code+inferSystem in parameters',
    );
  });
});

describe('ValueSet/$validate-code', () => {
  test.each([
    {
      name: 'GET type level',
      path: `ValueSet/$validate-code?${query({ url: `${VS}simple-all`, system: SIMPLE, code: 'code1' })}`,
    },
    { name: 'GET instance', path: `ValueSet/simple-all/$validate-code?${query({ system: SIMPLE, code: 'code1' })}` },
    {
      name: 'GET with inferSystem',
      path: `ValueSet/$validate-code?${query({ url: `${VS}simple-all`, code: 'code1', inferSystem: 'true' })}`,
    },
  ])('$name', async ({ path }) => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/${path}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(VALID_CODE1);
  });

  test('POST a CodeableConcept against a value set given as a resource', async () => {
    const cc = { coding: [{ system: MULTI, code: 'm1', display: 'Eins' }] };
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/$validate-code`,
      postJson(
        parameters(
          { name: 'codeableConcept', valueCodeableConcept: cc },
          { name: 'displayLanguage', valueCode: 'de' },
          {
            name: 'valueSet',
            resource: { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: MULTI }] } },
          },
        ),
      ),
    );
    expect(res.body).toEqual(
      parameters(
        { name: 'result', valueBoolean: true },
        { name: 'code', valueCode: 'm1' },
        { name: 'system', valueUri: MULTI },
        { name: 'display', valueString: 'Eins' },
        { name: 'codeableConcept', valueCodeableConcept: cc },
      ),
    );
  });

  test('an unknown system: x-unknown-system', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/$validate-code?${query({ url: `${VS}simple-all`, system: 'http://example.org/x', code: 'a' })}`,
    );
    expect(res.status).toBe(200);
    const p = res.body.parameter ?? [];
    expect(p.find((x) => x.name === 'result')?.valueBoolean).toBe(false);
    expect(p.find((x) => x.name === 'x-unknown-system')?.valueCanonical).toBe('http://example.org/x');
  });

  test('an unknown value set: 422 OperationOutcome', async () => {
    const res = await fetchFhir<OperationOutcome>(
      `${server.baseUrl}/ValueSet/$validate-code?${query({ url: `${VS}nowhere`, system: SIMPLE, code: 'code1' })}`,
    );
    expect(res.status).toBe(422);
    expect(res.body.issue).toEqual([
      {
        severity: 'error',
        code: 'not-found',
        details: {
          coding: [{ system: TX, code: 'not-found' }],
          text: `A definition for the value Set '${VS}nowhere' could not be found`,
        },
        extension: [
          {
            url: 'http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id',
            valueString: 'Unable_to_resolve_value_Set_',
          },
        ],
      },
    ]);
  });

  test('a broken filter: 400 OperationOutcome', async () => {
    const res = await fetchFhir<OperationOutcome>(
      `${server.baseUrl}/ValueSet/simple-broken/$validate-code?${query({ system: SIMPLE, code: 'code1' })}`,
    );
    expect(res.status).toBe(400);
    expect(res.body.issue?.[0]?.expression).toEqual(['ValueSet.compose.include[0].filter[0]']);
  });
});

describe('ValueSet/$batch-validate-code', () => {
  test('one result per validation, shared parameters applied, a failing item does not fail the batch', async () => {
    const item = (...parameter: ParametersParameter[]): ParametersParameter => ({
      name: 'validation',
      resource: parameters(...parameter),
    });
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/$batch-validate-code`,
      postJson(
        parameters(
          { name: 'url', valueUri: `${VS}simple-all` },
          { name: 'lenient-display-validation', valueBoolean: true },
          item({ name: 'coding', valueCoding: { system: SIMPLE, code: 'code1' } }),
          item(
            { name: 'coding', valueCoding: { system: SIMPLE, code: 'code1', display: 'xx' } },
            { name: 'lenient-display-validation', valueBoolean: false },
          ),
          item({ name: 'codingX', valueCoding: { system: SIMPLE, code: 'code1' } }),
        ),
      ),
    );
    expect(res.status).toBe(200);
    const results = (res.body.parameter ?? []).map((p) => p.resource);
    expect(results).toHaveLength(3);
    expect(results[0]).toEqual(VALID_CODE1);
    const second = (results[1] as Parameters).parameter ?? [];
    expect(second.find((p) => p.name === 'result')?.valueBoolean).toBe(false);
    const issues = second.find((p) => p.name === 'issues')?.resource as OperationOutcome | undefined;
    expect(issues?.issue?.[0]?.severity).toBe('error');
    expect(results[2]).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'invalid',
          details: {
            coding: [{ system: 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type', code: 'invalid-data' }],
            text: 'Unable to find code to validate (looked for coding | codeableConcept | code+system | code+inferSystem in parameters',
          },
        },
      ],
    });
  });
});
