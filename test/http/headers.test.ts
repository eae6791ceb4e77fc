import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { operationRoutes, routeMethods } from '../../src/app.ts';
import type { DirectoryEndpoint } from '../../src/directory/endpoint.ts';
import { ALLOWED_REQUEST_HEADERS } from '../../src/http/cors.ts';
import { operations } from '../../src/operations/registry.ts';
import { postJson, startTestServer, type TestServer } from '../support/fhir.ts';

/** Security headers on every response, Cache-Control per answer, CORS and OPTIONS per path. */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const SECURITY = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

describe('security headers and Cache-Control', () => {
  const params = { resourceType: 'Parameters' };
  test.each<[string, string, RequestInit | undefined, number, string]>([
    ['GET', '/healthz', undefined, 200, 'no-store'],
    ['GET', '/readyz', undefined, 200, 'no-store'],
    ['GET', '/fhir/metadata', undefined, 200, 'no-cache'],
    ['GET', '/fhir/CodeSystem?_count=1', undefined, 200, 'no-cache'],
    ['GET', '/fhir/$versions', undefined, 200, 'no-cache'],
    ['POST', '/fhir/$versions', postJson(params), 200, 'no-store'],
    ['GET', '/fhir/CodeSystem/no-such-id', undefined, 404, 'no-store'],
    ['GET', '/nowhere', undefined, 404, 'no-store'],
    ['DELETE', '/fhir/metadata', { method: 'DELETE' }, 405, 'no-store'],
    ['GET', '/fhir/metadata?_format=xml', undefined, 200, 'no-cache'],
    ['GET', '/fhir/metadata?_format=ttl', undefined, 406, 'no-store'],
    ['POST', '/fhir/$versions', postJson('"x"'), 400, 'no-store'],
    ['OPTIONS', '/fhir/metadata', { method: 'OPTIONS' }, 204, 'no-store'],
  ])('%s %s: %d, Cache-Control %s', async (_method, path, init, status, cacheControl) => {
    const res = await fetch(`${server.origin}${path}`, init);
    await res.arrayBuffer();
    expect(res.status).toBe(status);
    for (const [name, value] of Object.entries(SECURITY)) expect(res.headers.get(name)).toBe(value);
    expect(res.headers.get('cache-control')).toBe(cacheControl);
  });

  test('an answer served from the response cache carries the same headers', async () => {
    const url = `${server.baseUrl}/CodeSystem/$lookup?system=http://hl7.org/fhir/administrative-gender&code=male`;
    const first = await fetch(url);
    const second = await fetch(url);
    await first.arrayBuffer();
    await second.arrayBuffer();
    expect(second.status).toBe(200);
    expect(second.headers.get('cache-control')).toBe('no-cache');
    expect(second.headers.get('x-content-type-options')).toBe('nosniff');
  });

  test('HEAD of an operation answers the GET headers, length included, without a body', async () => {
    const url = `${server.baseUrl}/CodeSystem/$lookup?system=http://hl7.org/fhir/administrative-gender&code=female`;
    const get = await fetch(url);
    const text = await get.text();
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(head.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(Number(get.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text).resourceType).toBe('Parameters');
  });
});

describe('CORS preflight', () => {
  test('allows only the headers the API reads, never an echo of what was asked', async () => {
    const res = await fetch(`${server.baseUrl}/ValueSet/$expand`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example.org',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'x-evil, content-type, authorization, cookie',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const allowed = res.headers.get('access-control-allow-headers') ?? '';
    expect(allowed.split(', ')).toEqual([...ALLOWED_REQUEST_HEADERS]);
    expect(allowed.toLowerCase()).not.toMatch(/x-evil|authorization|cookie/);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('OPTIONS and Allow tell the truth per path', () => {
  test.each([
    ['/healthz', 'GET, HEAD, OPTIONS'],
    ['/fhir/metadata', 'GET, HEAD, OPTIONS'],
    ['/fhir/CodeSystem', 'GET, HEAD, OPTIONS'],
    ['/fhir/CodeSystem/', 'GET, HEAD, OPTIONS'],
    ['/fhir/CodeSystem/administrative-gender', 'GET, HEAD, OPTIONS'],
    ['/fhir/ValueSet/some-id', 'GET, HEAD, OPTIONS'],
    ['/fhir/CodeSystem/$lookup', 'GET, HEAD, POST, OPTIONS'],
    ['/fhir/CodeSystem/administrative-gender/$lookup', 'GET, HEAD, POST, OPTIONS'],
    ['/fhir/ValueSet/$expand', 'GET, HEAD, POST, OPTIONS'],
    ['/fhir/ValueSet/$batch-validate-code', 'POST, OPTIONS'],
  ])('OPTIONS %s allows %s', async (path, allow) => {
    const res = await fetch(`${server.origin}${path}`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example.org', 'Access-Control-Request-Method': 'GET' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.headers.get('access-control-allow-methods')).toBe(allow);
  });

  test.each(['/fhir/Patient', '/fhir/CodeSystem/$nope', '/nowhere'])(
    'OPTIONS %s (no such path) is a 404 OperationOutcome',
    async (path) => {
      const res = await fetch(`${server.origin}${path}`, { method: 'OPTIONS' });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { resourceType?: string }).resourceType).toBe('OperationOutcome');
    },
  );

  test('every operation path: OPTIONS allows what the 405 says, plus OPTIONS', async () => {
    for (const { path } of operationRoutes(operations)) {
      const concrete = `/fhir${path.replace(':id', 'some-id')}`;
      const options = await fetch(`${server.origin}${concrete}`, { method: 'OPTIONS' });
      const refused = await fetch(`${server.origin}${concrete}`, { method: 'DELETE' });
      await refused.arrayBuffer();
      expect(refused.status, concrete).toBe(405);
      expect(options.headers.get('allow'), concrete).toBe(`${refused.headers.get('allow')}, OPTIONS`);
    }
  });

  test('directory types are GET only, at every depth', () => {
    const endpoint: DirectoryEndpoint = {
      type: 'Practitioner',
      router: express.Router(),
      capability: () => ({ type: 'Practitioner', interaction: [{ code: 'read' }] }),
    };
    const { methodsOf } = routeMethods(operations, [endpoint]);
    expect(methodsOf('/fhir/Practitioner')).toEqual(['GET']);
    expect(methodsOf('/fhir/Practitioner/123')).toEqual(['GET']);
    expect(methodsOf('/fhir/Practitioner/123/_history/1')).toEqual(['GET']);
    expect(methodsOf('/fhir/Organization/1')).toBeUndefined();
  });
});
