import type { OperationOutcome } from '@medplum/fhirtypes';
import { Validator } from '@seriousme/openapi-schema-validator';
import { MockAgent } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FHIR_MOUNT, operationRoutes, routeMethods, SERVICE_PATHS } from '../../src/app.ts';
import { createDirectory } from '../../src/directory/directory.ts';
import { parseDirectoryConfig } from '../../src/directory/directory-config.ts';
import { fnspDirectoryEndpoints } from '../../src/directory/directory-routes.ts';
import type { DirectoryEndpoint } from '../../src/directory/endpoint.ts';
import { parseHprConfig } from '../../src/directory/hpr-config.ts';
import { practitionerEndpoint } from '../../src/directory/practitioner-endpoint.ts';
import {
  type OpenApiDocument,
  type OperationObject,
  openApiDocument,
  type ParameterObject,
} from '../../src/operations/openapi.ts';
import { operations } from '../../src/operations/registry.ts';
import { SEARCH_PARAMS } from '../../src/operations/resource-read-search.ts';
import { TX_RESOURCE_TYPES } from '../../src/terminology/store.ts';
import { startTestServer, type TestServer } from '../support/fhir.ts';

// GET /openapi.json through the real app, checked against the OpenAPI 3.0 schema and against the
// route table the app itself is built from (routeMethods, operationRoutes, the registry), so the
// description cannot drift from what the server answers.

const agent = new MockAgent();
agent.disableNetConnect();
let server: TestServer;
let directory: DirectoryEndpoint[] = [];
let doc: OpenApiDocument;
let etag: string | null;

beforeAll(async () => {
  const fnsp = createDirectory(parseDirectoryConfig({ FNSP_DEMO: 'true', BANDAGISTS_ENABLED: 'false' }), {
    dispatcher: agent,
  });
  server = await startTestServer({
    config: { hpr: parseHprConfig({}) },
    directory: (config) => {
      directory = [
        practitionerEndpoint(config, { dispatcher: agent }).endpoint,
        ...fnspDirectoryEndpoints({ directory: fnsp, baseUrl: config.publicBaseUrl }),
      ];
      return directory;
    },
  });
  const res = await fetch(`${server.origin}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('cache-control')).toBe('no-cache');
  etag = res.headers.get('etag');
  doc = (await res.json()) as OpenApiDocument;
});
afterAll(async () => {
  await server.close();
  await agent.close();
});

/** The OpenAPI path of an Express pattern: `:id` → `{id}`. */
const openApiPath = (pattern: string) => pattern.replace(/:([A-Za-z]+)/g, '{$1}');
/** A concrete path for an OpenAPI path: each `{param}` → a made-up id. */
const concrete = (path: string) => path.replace(/\{[A-Za-z]+\}/g, 'no-such-id');
const methodsOf = (path: string) =>
  Object.keys(doc.paths[path] ?? {})
    .filter((m) => m === 'get' || m === 'post')
    .map((m) => m.toUpperCase())
    .sort();
const operationsOf = (d: OpenApiDocument): OperationObject[] =>
  Object.values(d.paths).flatMap((item) => [item.get, item.post].filter((o): o is OperationObject => o !== undefined));
const queryNames = (op: OperationObject | undefined) =>
  (op?.parameters ?? []).flatMap((p) => ('name' in p && p.in === 'query' ? [(p as ParameterObject).name] : []));

describe('GET /openapi.json', () => {
  test('is a valid OpenAPI 3.0 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.0.3');
  });

  test('the server is the origin of PUBLIC_BASE_URL', () => {
    expect(doc.servers).toEqual([{ url: server.origin, description: 'PUBLIC_BASE_URL' }]);
    const elsewhere = openApiDocument({
      publicBaseUrl: 'https://tx.example.no/fhir',
      fhirMount: FHIR_MOUNT,
      servicePaths: SERVICE_PATHS,
      operationRoutes: [],
      directory: [],
    });
    expect(elsewhere.servers[0].url).toBe('https://tx.example.no');
  });

  test('a strong ETag: If-None-Match gives 304', async () => {
    expect(etag).toMatch(/^"[\w-]+"$/);
    const res = await fetch(`${server.origin}/openapi.json`, { headers: { 'If-None-Match': etag ?? '' } });
    expect(res.status).toBe(304);
  });

  test('a browser gets it as a page of the HTML view, with its own ETag and a link to the JSON', async () => {
    const res = await fetch(`${server.origin}/openapi.json`, { headers: { Accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toContain('/fhir/CodeSystem/$lookup');
    expect(html).toContain(`href="${server.origin}/openapi.json?_format=json"`);
    const json = await fetch(`${server.origin}/openapi.json`);
    expect(res.headers.get('etag')).not.toBe(json.headers.get('etag'));
    const again = await fetch(`${server.origin}/openapi.json`, {
      headers: { Accept: 'text/html', 'If-None-Match': res.headers.get('etag') ?? '' },
    });
    expect(again.status).toBe(304);
  });

  test('every path the app routes is described, with the same methods', () => {
    for (const { pattern, methods } of routeMethods(operations, directory).patterns()) {
      if (pattern.endsWith('/*')) {
        // a directory type: its router answers what its CapabilityStatement entry lists
        const base = pattern.slice(0, -2);
        expect(methodsOf(base), base).toEqual(['GET']);
        expect(methodsOf(`${base}/{id}`), `${base}/{id}`).toEqual(['GET']);
        continue;
      }
      expect(methodsOf(openApiPath(pattern)), pattern).toEqual([...methods].sort());
    }
  });

  test('no path or method is described that the route table does not have', () => {
    const table = routeMethods(operations, directory);
    for (const path of Object.keys(doc.paths)) {
      const allowed = table.methodsOf(concrete(path));
      expect(allowed, path).toBeDefined();
      for (const m of methodsOf(path)) expect(allowed, `${m} ${path}`).toContain(m);
    }
  });

  test('every path and method described is answered by a route (no 405, no unknown path)', async () => {
    for (const path of Object.keys(doc.paths)) {
      for (const method of methodsOf(path)) {
        const init: RequestInit =
          method === 'POST'
            ? {
                method,
                headers: { 'Content-Type': 'application/fhir+json' },
                body: JSON.stringify({ resourceType: 'Parameters' }),
              }
            : {};
        const res = await fetch(`${server.origin}${concrete(path)}`, init);
        const text = await res.text();
        expect(res.status, `${method} ${path}`).not.toBe(405);
        if (res.status === 404) {
          const outcome = JSON.parse(text) as OperationOutcome;
          expect(outcome.issue[0].details?.text, `${method} ${path}`).toMatch(/is not known/);
        }
      }
    }
  });

  test('every operation of the registry at every level, with every parameter', () => {
    for (const { path, def, target } of operationRoutes(operations)) {
      const item = doc.paths[`${FHIR_MOUNT}${openApiPath(path)}`];
      expect(item, path).toBeDefined();
      expect(item.post?.['x-fhir-level']).toBe(target.instance ? 'instance' : target.resourceType ? 'type' : 'system');
      expect(item.post?.externalDocs?.url).toBe(def.definition);
      const posted = new Map((item.post?.['x-fhir-parameters'] ?? []).map((p) => [p.name, p.type]));
      for (const p of def.parameters) expect(posted.get(p.name), `${path} ${p.name}`).toBe(p.type);
      // every operation takes tx-resource (read at the edge: operation-handler.ts)
      expect(posted.get('tx-resource')).toBe('Resource');
      if (!def.get) {
        expect(item.get, path).toBeUndefined();
        continue;
      }
      const inQuery = queryNames(item.get);
      for (const p of def.parameters) {
        if (p.type === 'Resource' || p.type === 'part') expect(inQuery, `${path} ${p.name}`).not.toContain(p.name);
        else expect(inQuery, `${path} ${p.name}`).toContain(p.name);
      }
    }
  });

  test('the search parameters of every resource type, as the CapabilityStatement lists them', () => {
    for (const type of TX_RESOURCE_TYPES) {
      const names = queryNames(doc.paths[`${FHIR_MOUNT}/${type}`]?.get);
      for (const name of Object.keys(SEARCH_PARAMS)) expect(names, `${type} ${name}`).toContain(name);
    }
    for (const d of directory) {
      const capability = d.capability();
      const names = queryNames(doc.paths[`${FHIR_MOUNT}/${d.type}`]?.get);
      for (const p of capability.searchParam ?? []) expect(names, `${d.type} ${p.name}`).toContain(p.name);
      const vread = capability.interaction?.some((i) => i.code === 'vread') ?? false;
      expect(doc.paths[`${FHIR_MOUNT}/${d.type}/{id}/_history/{vid}`] !== undefined, d.type).toBe(vread);
    }
  });

  test('metadata and the service paths', () => {
    expect(methodsOf(`${FHIR_MOUNT}/metadata`)).toEqual(['GET']);
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json'])
      expect(methodsOf(path), path).toEqual(['GET']);
    expect(Object.keys(doc.paths['/metrics']?.get?.responses?.['200'] ?? {})).toContain('content');
  });

  test('operation ids are unique', () => {
    const ids = operationsOf(doc).map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
