import type { OperationOutcome, Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';
import { SIMPLE, VS, validationStore } from '../terminology/validate-fixtures.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ store: validationStore() });
});

afterAll(async () => {
  await server.close();
});

function parameters(...parameter: ParametersParameter[]): Parameters {
  return { resourceType: 'Parameters', parameter };
}

const item = (...parameter: ParametersParameter[]): ParametersParameter => ({
  name: 'validation',
  resource: parameters(...parameter),
});

function value(resource: Resource | undefined, name: string): unknown {
  const p = (resource as Parameters | undefined)?.parameter?.find((x) => x.name === name);
  if (!p) return undefined;
  const key = Object.keys(p).find((k) => k.startsWith('value'));
  return key ? (p as unknown as Record<string, unknown>)[key] : undefined;
}

async function batch(path: string, ...parameter: ParametersParameter[]): Promise<(Resource | undefined)[]> {
  const res = await fetchFhir<Parameters>(`${server.baseUrl}/${path}`, postJson(parameters(...parameter)));
  expect(res.status).toBe(200);
  return (res.body.parameter ?? []).map((p) => {
    expect(p.name).toBe('validation');
    return p.resource;
  });
}

const code1 = { name: 'coding', valueCoding: { system: SIMPLE, code: 'code1' } };

describe('$batch-validate-code', () => {
  test.each([
    {
      name: 'ValueSet type level, shared url',
      path: 'ValueSet/$batch-validate-code',
      shared: [{ name: 'url', valueUri: `${VS}simple-enum` }],
      items: [[code1], [{ name: 'coding', valueCoding: { system: SIMPLE, code: 'code2' } }]],
      results: [true, false],
    },
    {
      name: 'ValueSet type level, each item its own value set',
      path: 'ValueSet/$batch-validate-code',
      shared: [{ name: 'url', valueUri: `${VS}simple-all` }],
      items: [[code1, { name: 'url', valueUri: `${VS}simple-isa` }], [code1]],
      results: [false, true],
    },
    {
      name: 'ValueSet instance level',
      path: 'ValueSet/simple-enum/$batch-validate-code',
      shared: [],
      items: [[code1], [{ name: 'coding', valueCoding: { system: SIMPLE, code: 'code3' } }]],
      results: [true, false],
    },
    {
      name: 'ValueSet without a value set: code system validation',
      path: 'ValueSet/$batch-validate-code',
      shared: [],
      items: [[code1], [{ name: 'coding', valueCoding: { system: SIMPLE, code: 'nope' } }]],
      results: [true, false],
    },
    {
      name: 'CodeSystem type level',
      path: 'CodeSystem/$batch-validate-code',
      shared: [{ name: 'system', valueUri: SIMPLE }],
      items: [[{ name: 'code', valueCode: 'code1' }], [{ name: 'code', valueCode: 'nope' }]],
      results: [true, false],
    },
  ])('$name', async ({ path, shared, items, results }) => {
    const out = await batch(path, ...shared, ...items.map((i) => item(...i)));
    expect(out.map((r) => value(r, 'result'))).toEqual(results);
  });

  test('only url, valueSet, lenient-display-validation and tx-resource are shared', async () => {
    const out = await batch(
      'ValueSet/$batch-validate-code',
      { name: 'url', valueUri: `${VS}simple-all` },
      // not shared: every validation would fail on this version check otherwise
      { name: 'check-system-version', valueCanonical: `${SIMPLE}|9.9` },
      { name: 'lenient-display-validation', valueBoolean: true },
      item({ name: 'coding', valueCoding: { system: SIMPLE, code: 'code1', display: 'wrong' } }),
    );
    expect(value(out[0], 'result')).toBe(true);
  });

  test("a validation's own tx-resource holds for it alone", async () => {
    const vs = {
      resourceType: 'ValueSet',
      url: 'http://example.org/fhir/ValueSet/only-code1',
      status: 'active',
      compose: { include: [{ system: SIMPLE, concept: [{ code: 'code1' }] }] },
    };
    const out = await batch(
      'ValueSet/$batch-validate-code',
      item(code1, { name: 'url', valueUri: vs.url }, { name: 'tx-resource', resource: vs as Resource }),
      item(code1, { name: 'url', valueUri: vs.url }),
    );
    expect(value(out[0], 'result')).toBe(true);
    expect(out[1]?.resourceType).toBe('OperationOutcome');
  });

  test('an item that is not a Parameters is an OperationOutcome, the rest go on', async () => {
    const out = await batch(
      'ValueSet/$batch-validate-code',
      { name: 'url', valueUri: `${VS}simple-all` },
      { name: 'validation', resource: { resourceType: 'Basic', code: { text: 'x' } } as Resource },
      item(code1),
    );
    expect((out[0] as OperationOutcome).issue?.[0]).toMatchObject({
      code: 'invalid',
      details: { coding: [{ code: 'invalid-data' }] },
    });
    expect(value(out[1], 'result')).toBe(true);
  });

  test('400 without validations', async () => {
    const res = await fetchFhir<OperationOutcome>(
      `${server.baseUrl}/ValueSet/$batch-validate-code`,
      postJson(parameters({ name: 'url', valueUri: `${VS}simple-all` })),
    );
    expect(res.status).toBe(400);
  });

  test('GET is not allowed', async () => {
    const res = await fetch(`${server.baseUrl}/CodeSystem/$batch-validate-code`);
    expect(res.status).toBe(405);
  });
});
