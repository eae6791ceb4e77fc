import type { OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp, operationRoutes } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { OutputParams } from '../../src/http/params.ts';
import { operations } from '../../src/operations/registry.ts';
import type { OperationDef } from '../../src/operations/types.ts';
import { fetchFhir, postJson, startTestServer, type TestServer, testStore } from '../support/fhir.ts';

/** Echoes what the HTTP edge handed it, so the tests can see the routing and the request context. */
const echo: OperationDef = {
  code: 'echo',
  definition: 'http://example.org/OperationDefinition/echo',
  resourceTypes: ['CodeSystem', 'ValueSet'],
  type: true,
  instance: true,
  get: true,
  parameters: [
    { name: 'code', type: 'code' },
    { name: 'status', type: 'integer' },
  ],
  handler: ({ params, ctx, instance, acceptLanguage }) => {
    const overlay = ctx.codeSystem('http://example.org/cs');
    const out = new OutputParams()
      .add('code', 'valueCode', params.string('code'))
      .add('instance', 'valueString', instance ? `${instance.resourceType}/${instance.id}` : undefined)
      .add('acceptLanguage', 'valueString', acceptLanguage)
      .add('overlayVersion', 'valueString', overlay?.version)
      .add('uuid', 'valueString', params.string('uuid'));
    return { resource: out.toParameters(), status: params.integer('status') };
  },
};

/** POST-only, type level only. */
const postOnly: OperationDef = {
  code: 'post-only',
  definition: 'http://example.org/OperationDefinition/post-only',
  resourceTypes: ['ValueSet'],
  type: true,
  instance: false,
  get: false,
  parameters: [],
  handler: () => ({ resource: { resourceType: 'Parameters' } }),
};

const overlayCs = {
  resourceType: 'CodeSystem',
  url: 'http://example.org/cs',
  version: '2.0',
  status: 'active',
  content: 'complete',
  concept: [{ code: 'a' }],
};

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ operations: [...operations, echo, postOnly] });
});
afterAll(async () => {
  await server.close();
});

const value = (p: Parameters, name: string) => {
  const hit = p.parameter?.find((x) => x.name === name);
  return hit?.valueString ?? hit?.valueCode;
};

describe('operation routes', () => {
  test.each([
    ['GET type level', '/CodeSystem/$echo?code=x', undefined],
    [
      'POST type level',
      '/CodeSystem/$echo',
      { resourceType: 'Parameters', parameter: [{ name: 'code', valueCode: 'x' }] },
    ],
    ['GET on another type', '/ValueSet/$echo?code=x', undefined],
  ])('%s', async (_name, path, body) => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}${path}`, body ? postJson(body) : undefined);
    expect(res.status).toBe(200);
    expect(value(res.body, 'code')).toBe('x');
    expect(value(res.body, 'instance')).toBeUndefined();
  });

  test.each([
    ['GET instance level', undefined],
    ['POST instance level', { resourceType: 'Parameters' }],
  ])('%s passes the stored resource', async (_name, body) => {
    const id = 'no-basis-marital-status.valueset';
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/${id}/$echo`,
      body ? postJson(body) : undefined,
    );
    expect(res.status).toBe(200);
    expect(value(res.body, 'instance')).toBe(`ValueSet/${id}`);
  });

  test('404 for an instance that does not exist', async () => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/ValueSet/nope/$echo`);
    expect(res.status).toBe(404);
    expect(res.body.issue[0].details?.text).toContain('ValueSet/nope');
  });

  test('the handler chooses the status', async () => {
    const res = await fetchFhir(`${server.baseUrl}/CodeSystem/$echo?status=422`);
    expect(res.status).toBe(422);
  });

  test('unknown parameters are kept for the handler (the tx tests add uuid)', async () => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$echo?uuid=u-1`);
    expect(value(res.body, 'uuid')).toBe('u-1');
  });

  test('Accept-Language reaches the handler', async () => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$echo`, {
      headers: { 'Accept-Language': 'nb-NO, en;q=0.5' },
    });
    expect(value(res.body, 'acceptLanguage')).toBe('nb-NO, en;q=0.5');
  });

  test('400 when a parameter occurs too often', async () => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/CodeSystem/$echo?code=a&code=b`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details?.text).toContain("'code'");
  });

  test.each([
    ['GET', '/ValueSet/$post-only', 'POST'],
    ['PUT', '/CodeSystem/$echo', 'GET, HEAD, POST'],
    ['DELETE', '/ValueSet/x/$echo', 'GET, HEAD, POST'],
  ])('405 for %s %s, with Allow: %s', async (method, path, allow) => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}${path}`, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
  });

  test('POST on a POST-only operation', async () => {
    const res = await fetchFhir(`${server.baseUrl}/ValueSet/$post-only`, postJson({ resourceType: 'Parameters' }));
    expect(res.status).toBe(200);
  });

  test('operations are not routed on types they do not declare', async () => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/ConceptMap/$echo`);
    expect(res.status).toBe(404);
  });

  test('two definitions on one path fail at start-up', () => {
    expect(() => operationRoutes([echo, { ...echo, definition: 'http://example.org/other' }])).toThrow(
      /\/CodeSystem\/\$echo is defined twice/,
    );
    expect(() => createApp(loadConfig({}), { store: testStore(), operations: [echo, echo] })).toThrow(/defined twice/);
  });
});

describe('tx-resource', () => {
  const withOverlay = (resource: unknown) => ({
    resourceType: 'Parameters',
    parameter: [
      { name: 'code', valueCode: 'a' },
      { name: 'tx-resource', resource },
    ],
  });

  test('is visible to the handler for that request only', async () => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$echo`, postJson(withOverlay(overlayCs)));
    expect(res.status).toBe(200);
    expect(value(res.body, 'overlayVersion')).toBe('2.0');
    const after = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$echo`);
    expect(value(after.body, 'overlayVersion')).toBeUndefined();
    expect(testStore().versions('CodeSystem', 'http://example.org/cs')).toEqual([]);
  });

  test.each([
    ['a Patient', { resourceType: 'Patient' }, /found Patient/],
    ['no resource', undefined, /must hold a CodeSystem, ValueSet or ConceptMap/],
  ])('400 for %s', async (_name, resource, message) => {
    const res = await fetchFhir<OperationOutcome>(
      `${server.baseUrl}/CodeSystem/$echo`,
      postJson(withOverlay(resource)),
    );
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details?.text).toMatch(message);
  });

  test('400 in a GET query string', async () => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/CodeSystem/$echo?tx-resource=x`);
    expect(res.status).toBe(400);
  });
});
