import type { CapabilityStatement, CodeSystem } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { entityTag, ifNoneMatchMatches } from '../../src/http/conditional.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { fixedSource } from '../../src/terminology-sources.ts';
import { fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

// Strong ETags on reads and /metadata, 304 on If-None-Match (issue 11, item 3; RFC 9110 §13.1.2).

describe('entity tags', () => {
  test('strong, stable, and different when any part differs', () => {
    const a = entityTag(['read', 1, '/fhir/CodeSystem/x', 'application/fhir+json']);
    expect(a).toMatch(/^"[0-9a-z]+"$/);
    expect(entityTag(['read', 1, '/fhir/CodeSystem/x', 'application/fhir+json'])).toBe(a);
    expect(entityTag(['read', 2, '/fhir/CodeSystem/x', 'application/fhir+json'])).not.toBe(a);
    expect(entityTag(['read', 1, '/fhir/CodeSystem/x?_summary=true', 'application/fhir+json'])).not.toBe(a);
  });

  test('If-None-Match: a list, weak forms and * match', () => {
    expect(ifNoneMatchMatches('"a", "b"', '"b"')).toBe(true);
    expect(ifNoneMatchMatches('W/"b"', '"b"')).toBe(true);
    expect(ifNoneMatchMatches('*', '"b"')).toBe(true);
    expect(ifNoneMatchMatches('"c"', '"b"')).toBe(false);
    expect(ifNoneMatchMatches(undefined, '"b"')).toBe(false);
  });
});

describe('over HTTP', () => {
  const store = new TerminologyStore();
  store.add({
    resourceType: 'CodeSystem',
    id: 'cs1',
    url: 'http://example.org/cs1',
    status: 'active',
    content: 'complete',
    concept: [{ code: 'a' }],
  });
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ terminology: fixedSource(store) });
  });
  afterAll(async () => server.close());

  test('a read has an ETag; If-None-Match gives 304 without a body, with the same ETag and Cache-Control', async () => {
    const first = await fetchFhir<CodeSystem>(`${server.baseUrl}/CodeSystem/cs1`);
    const tag = first.headers.get('etag');
    expect(tag).toMatch(/^"[0-9a-z]+"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const again = await fetch(`${server.baseUrl}/CodeSystem/cs1`, { headers: { 'If-None-Match': tag ?? '' } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(tag);
    expect(again.headers.get('cache-control')).toBe('no-cache');
    // another representation of it has another tag
    const summary = await fetchFhir(`${server.baseUrl}/CodeSystem/cs1?_summary=true`);
    expect(summary.headers.get('etag')).not.toBe(tag);
  });

  test('a change of the data changes the tag: the old one gets the whole answer', async () => {
    const before = (await fetchFhir(`${server.baseUrl}/CodeSystem/cs1`)).headers.get('etag') ?? '';
    store.add({
      resourceType: 'CodeSystem',
      id: 'cs2',
      url: 'http://example.org/cs2',
      status: 'active',
      content: 'complete',
    });
    const after = await fetchFhir<CodeSystem>(`${server.baseUrl}/CodeSystem/cs1`, {
      headers: { 'If-None-Match': before },
    });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(before);
  });

  test('/metadata: ETag and 304', async () => {
    const first = await fetchFhir<CapabilityStatement>(`${server.baseUrl}/metadata`);
    const tag = first.headers.get('etag') ?? '';
    expect(tag).not.toBe('');
    const again = await fetch(`${server.baseUrl}/metadata`, { headers: { 'If-None-Match': tag } });
    expect(again.status).toBe(304);
    const terminology = await fetchFhir(`${server.baseUrl}/metadata?mode=terminology`);
    expect(terminology.headers.get('etag')).not.toBe(tag);
  });

  test('an error has no ETag', async () => {
    const missing = await fetchFhir(`${server.baseUrl}/CodeSystem/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('etag')).toBeNull();
  });
});
