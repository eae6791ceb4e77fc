import type { Parameters } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OutputParams } from '../../src/http/params.ts';
import { ResponseCache } from '../../src/http/response-cache.ts';
import { operations } from '../../src/operations/registry.ts';
import type { OperationDef } from '../../src/operations/types.ts';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';

/** An operation that says how often it ran, so the tests can see what the cache answered. */
let calls = 0;
const counting: OperationDef = {
  code: 'count-calls',
  definition: 'http://example.org/OperationDefinition/count-calls',
  resourceTypes: [],
  type: false,
  instance: false,
  system: true,
  get: true,
  parameters: [],
  handler: (req) => {
    calls++;
    return {
      resource: new OutputParams()
        .add('calls', 'valueInteger', calls)
        .add('language', 'valueString', req.acceptLanguage ?? 'none')
        .toParameters(),
    };
  },
};

function paramValue(p: Parameters, name: string): unknown {
  const hit = p.parameter?.find((x) => x.name === name);
  return hit?.valueInteger ?? hit?.valueString;
}

describe('response cache of GET operations', () => {
  let server: TestServer;
  let uncached: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ operations: [...operations, counting] });
    uncached = await startTestServer({ operations: [...operations, counting], config: { responseCacheEntries: 0 } });
  });
  afterAll(async () => {
    await server.close();
    await uncached.close();
  });

  test('the same GET is answered once', async () => {
    const first = await fetchFhir<Parameters>(`${server.baseUrl}/$count-calls?x=1`);
    const second = await fetchFhir<Parameters>(`${server.baseUrl}/$count-calls?x=1`);
    expect(second.status).toBe(200);
    expect(paramValue(second.body, 'calls')).toBe(paramValue(first.body, 'calls'));
    expect(second.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(second.headers.get('vary')).toMatch(/Accept-Language/);
  });

  test('another query string is another answer', async () => {
    const a = await fetchFhir<Parameters>(`${server.baseUrl}/$count-calls?x=2`);
    const b = await fetchFhir<Parameters>(`${server.baseUrl}/$count-calls?x=3`);
    expect(paramValue(b.body, 'calls')).not.toBe(paramValue(a.body, 'calls'));
  });

  test('Accept-Language is part of the key', async () => {
    const en = await fetchFhir<Parameters>(`${server.baseUrl}/$count-calls?x=4`, {
      headers: { 'accept-language': 'en' },
    });
    const nb = await fetchFhir<Parameters>(`${server.baseUrl}/$count-calls?x=4`, {
      headers: { 'accept-language': 'nb' },
    });
    expect(paramValue(en.body, 'language')).toBe('en');
    expect(paramValue(nb.body, 'language')).toBe('nb');
  });

  test('Cache-Control: no-cache is answered afresh', async () => {
    const a = await fetchFhir<Parameters>(`${server.baseUrl}/$count-calls?x=5`);
    const b = await fetchFhir<Parameters>(`${server.baseUrl}/$count-calls?x=5`, {
      headers: { 'cache-control': 'no-cache' },
    });
    expect(paramValue(b.body, 'calls')).toBe((paramValue(a.body, 'calls') as number) + 1);
  });

  test('POST is never cached', async () => {
    const body = postJson({ resourceType: 'Parameters' });
    const a = await fetchFhir<Parameters>(`${server.baseUrl}/$count-calls`, body);
    const b = await fetchFhir<Parameters>(`${server.baseUrl}/$count-calls`, body);
    expect(paramValue(b.body, 'calls')).toBe((paramValue(a.body, 'calls') as number) + 1);
  });

  test('RESPONSE_CACHE_ENTRIES=0 turns it off', async () => {
    const a = await fetchFhir<Parameters>(`${uncached.baseUrl}/$count-calls?x=6`);
    const b = await fetchFhir<Parameters>(`${uncached.baseUrl}/$count-calls?x=6`);
    expect(paramValue(b.body, 'calls')).toBe((paramValue(a.body, 'calls') as number) + 1);
  });

  test('a real operation answers the same from the cache', async () => {
    const url = `${server.baseUrl}/CodeSystem/$validate-code?url=${encodeURIComponent('http://hl7.org/fhir/administrative-gender')}&code=male`;
    const a = await fetchFhir<Parameters>(url);
    const b = await fetchFhir<Parameters>(url);
    expect(b.body).toEqual(a.body);
    expect(b.body.parameter?.find((p) => p.name === 'result')?.valueBoolean).toBe(true);
  });
});

describe('ResponseCache generations', () => {
  const answer = (body: string) => ({ status: 200, body });

  test('a newer generation drops every older answer', () => {
    const cache = new ResponseCache(10, 1_000_000);
    cache.set(1, 'a', answer('one'));
    expect(cache.get(1, 'a')?.body).toBe('one');
    expect(cache.get(2, 'a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('an answer of an older generation is not kept', () => {
    const cache = new ResponseCache(10, 1_000_000);
    cache.set(2, 'a', answer('two'));
    cache.set(1, 'b', answer('one, computed before the swap'));
    expect(cache.get(1, 'b')).toBeUndefined();
    expect(cache.get(2, 'b')).toBeUndefined();
    expect(cache.get(2, 'a')?.body).toBe('two');
  });
});
