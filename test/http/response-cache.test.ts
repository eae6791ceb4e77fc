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

/** Like `counting`, with an answer of about 5 KB. */
let bigCalls = 0;
const big: OperationDef = {
  ...counting,
  code: 'big-answer',
  definition: 'http://example.org/OperationDefinition/big-answer',
  handler: () => {
    bigCalls++;
    return {
      resource: new OutputParams()
        .add('calls', 'valueInteger', bigCalls)
        .add('padding', 'valueString', 'x'.repeat(5000))
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
    server = await startTestServer({
      operations: [...operations, counting, big],
      config: { responseCacheMaxEntryBytes: 4096 },
    });
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

  test('an answer above RESPONSE_CACHE_MAX_ENTRY_BYTES is computed each time', async () => {
    const a = await fetchFhir<Parameters>(`${server.baseUrl}/$big-answer?x=1`);
    const b = await fetchFhir<Parameters>(`${server.baseUrl}/$big-answer?x=1`);
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

describe('ResponseCache memory', () => {
  const answer = (body: string) => ({ status: 200, body });

  test('an entry above the per-entry limit is not kept', () => {
    const cache = new ResponseCache(100, 100_000, 1000);
    cache.set(1, 'small', answer('x'.repeat(500)));
    cache.set(1, 'large', answer('x'.repeat(2000)));
    expect(cache.get(1, 'small')).toBeDefined();
    expect(cache.get(1, 'large')).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  test('bytes are counted as UTF-8, not as string length', () => {
    const cache = new ResponseCache(100, 100_000, 1000);
    // 600 characters, 1200 bytes
    cache.set(1, 'norsk', answer('æ'.repeat(600)));
    expect(cache.get(1, 'norsk')).toBeUndefined();
    cache.set(1, 'ascii', answer('a'.repeat(600)));
    expect(cache.bytes).toBeGreaterThanOrEqual(600 + 'ascii'.length);
    expect(cache.bytes).toBeLessThan(1000);
  });

  test('a too-large answer replaces nothing and leaves no stale entry under its key', () => {
    const cache = new ResponseCache(100, 100_000, 1000);
    cache.set(1, 'k', answer('old'));
    cache.set(1, 'k', answer('y'.repeat(5000)));
    expect(cache.get(1, 'k')).toBeUndefined();
  });

  test('the total stays within maxBytes, the least recently used going first', () => {
    const cache = new ResponseCache(10_000, 10_000, 1000);
    for (let i = 0; i < 200; i++) {
      cache.set(1, `key-${i}`, answer('z'.repeat(500)));
      expect(cache.bytes).toBeLessThanOrEqual(10_000);
    }
    expect(cache.get(1, 'key-199')).toBeDefined();
    expect(cache.get(1, 'key-0')).toBeUndefined();
    expect(cache.size).toBeLessThanOrEqual(Math.floor(10_000 / 500));
  });
});
