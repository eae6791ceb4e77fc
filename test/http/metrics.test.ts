import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/http/log.ts';
import { startTestServer, type TestServer } from '../support/fhir.ts';
import { type Sample, sampleValue, scrape } from '../support/metrics.ts';

// GET /metrics through the real app: requests by route and status, latency, the response cache,
// bounded labels. The upstream metrics are in metrics-upstream.test.ts.

const GENDER = 'http://hl7.org/fhir/administrative-gender';
const REQUESTS = 'nofhir_http_requests_total';
const LATENCY_COUNT = 'nofhir_http_request_duration_seconds_count';

let server: TestServer;
const logLines: string[] = [];
let logged: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  logged = await startTestServer({ logger: createLogger('info', (line) => void logLines.push(line)) });
});
afterAll(async () => {
  await server.close();
  await logged.close();
});

async function get(path: string, init?: RequestInit): Promise<number> {
  const res = await fetch(`${server.origin}${path}`, init);
  await res.arrayBuffer();
  return res.status;
}

const requests = (s: Sample[], operation: string, resource: string, code: string) =>
  sampleValue(s, REQUESTS, { operation, resource, code });

describe('GET /metrics', () => {
  test('Prometheus text, no-store, with the process metrics (event-loop delay)', async () => {
    const { res, text, samples } = await scrape(server.origin);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(text).toContain('# TYPE nofhir_http_requests_total counter');
    expect(text).toContain('# TYPE nofhir_http_request_duration_seconds histogram');
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(samples.some((s) => s.name === 'process_resident_memory_bytes')).toBe(true);
  });

  test('a request is counted under its operation, resource type and status, with its latency', async () => {
    const before = (await scrape(server.origin)).samples;
    expect(await get(`/fhir/CodeSystem/$lookup?system=${GENDER}&code=female`)).toBe(200);
    const after = (await scrape(server.origin)).samples;
    expect(requests(after, '$lookup', 'CodeSystem', '200') - requests(before, '$lookup', 'CodeSystem', '200')).toBe(1);
    const count = (s: Sample[]) => sampleValue(s, LATENCY_COUNT, { operation: '$lookup', resource: 'CodeSystem' });
    expect(count(after) - count(before)).toBe(1);
    // the scrape itself is counted, as `metrics`
    expect(requests(after, 'metrics', '', '200')).toBeGreaterThanOrEqual(2);
  });

  test('the latency histogram: cumulative buckets up to +Inf, which equals the count', async () => {
    expect(await get('/fhir/$versions')).toBe(200);
    const { samples, text } = await scrape(server.origin);
    expect(text).toContain('# TYPE nofhir_http_request_duration_seconds histogram');
    const labels = { operation: '$versions', resource: '' };
    const buckets = samples.filter(
      (s) => s.name === 'nofhir_http_request_duration_seconds_bucket' && s.labels.operation === '$versions',
    );
    expect(buckets.map((b) => b.labels.le)).toEqual([
      '0.0005',
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '20',
      '+Inf',
    ]);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value);
    const count = sampleValue(samples, LATENCY_COUNT, labels);
    expect(count).toBeGreaterThanOrEqual(1);
    expect(buckets.at(-1)?.value).toBe(count);
    expect(sampleValue(samples, 'nofhir_http_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
  });

  test('a cached answer is a hit, a new one a miss, a no-cache request a bypass; the size is reported', async () => {
    const lookups = (s: Sample[], result: string) => sampleValue(s, 'nofhir_response_cache_lookups_total', { result });
    const before = (await scrape(server.origin)).samples;
    const path = `/fhir/CodeSystem/$validate-code?url=${GENDER}&code=other`;
    expect(await get(path)).toBe(200);
    expect(await get(path)).toBe(200);
    expect(await get(path, { headers: { 'Cache-Control': 'no-cache' } })).toBe(200);
    const after = (await scrape(server.origin)).samples;
    expect(lookups(after, 'miss') - lookups(before, 'miss')).toBe(1);
    expect(lookups(after, 'hit') - lookups(before, 'hit')).toBe(1);
    expect(lookups(after, 'bypass') - lookups(before, 'bypass')).toBe(1);
    expect(sampleValue(after, 'nofhir_response_cache_entries')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after, 'nofhir_response_cache_bytes')).toBeGreaterThan(
      sampleValue(after, 'nofhir_response_cache_entries'),
    );
  });

  test.each([
    ['read', '/fhir/CodeSystem/administrative-gender', 'read', 'CodeSystem', '200'],
    ['read of an unknown id', '/fhir/ValueSet/no-such-value-set', 'read', 'ValueSet', '404'],
    ['search', `/fhir/ConceptMap?url=${encodeURIComponent('http://example.org/none')}`, 'search', 'ConceptMap', '200'],
    ['a bad search parameter', '/fhir/CodeSystem?colour=red', 'search', 'CodeSystem', '400'],
    ['metadata', '/fhir/metadata', 'metadata', '', '200'],
    [
      'an instance-level operation',
      `/fhir/CodeSystem/administrative-gender/$lookup?code=male`,
      '$lookup',
      'CodeSystem',
      '200',
    ],
    ['a system-level operation', '/fhir/$versions', '$versions', '', '200'],
    ['an operation with a bad parameter', '/fhir/ValueSet/$expand?count=x', '$expand', 'ValueSet', '400'],
    ['an unknown operation', '/fhir/CodeSystem/$frobnicate', 'other', '', '404'],
    ['an unknown path', '/nowhere', 'other', '', '404'],
    ['/healthz', '/healthz', 'healthz', '', '200'],
    ['/readyz', '/readyz', 'readyz', '', '200'],
    ['/openapi.json', '/openapi.json', 'openapi', '', '200'],
  ])('%s is counted as operation=%s', async (_what, path, operation, resource, code) => {
    const before = requests((await scrape(server.origin)).samples, operation, resource, code);
    expect(String(await get(path))).toBe(code);
    const after = requests((await scrape(server.origin)).samples, operation, resource, code);
    expect(after - before).toBe(1);
  });

  test('a method not allowed is counted under the route, with 405', async () => {
    const before = requests((await scrape(server.origin)).samples, 'search', 'CodeSystem', '405');
    expect(await get('/fhir/CodeSystem', { method: 'DELETE' })).toBe(405);
    const opBefore = requests((await scrape(server.origin)).samples, '$batch-validate-code', 'ValueSet', '405');
    expect(await get('/fhir/ValueSet/$batch-validate-code')).toBe(405);
    const after = (await scrape(server.origin)).samples;
    expect(requests(after, 'search', 'CodeSystem', '405') - before).toBe(1);
    expect(requests(after, '$batch-validate-code', 'ValueSet', '405') - opBefore).toBe(1);
  });

  test('labels are bounded: 50 different unknown paths, ids and operations add no series', async () => {
    const paths = (i: number) => [
      `/unknown-${i}-path?q=${i}`,
      `/fhir/Unknown${i}`,
      `/fhir/CodeSystem/no-such-id-${i}`,
      `/fhir/CodeSystem/$no-such-operation-${i}`,
      `/fhir/CodeSystem/$lookup?system=urn:x-${i}&code=c${i}`,
    ];
    // the first of each kind may add its series
    for (const p of paths(0)) await get(p);
    const series = (s: Sample[]) => s.filter((x) => x.name.startsWith('nofhir_')).length;
    const before = series((await scrape(server.origin)).samples);
    for (let i = 1; i <= 50; i++) for (const p of paths(i)) await get(p);
    const { samples, text } = await scrape(server.origin);
    expect(series(samples)).toBe(before);
    for (const token of ['unknown-7-path', 'Unknown7', 'no-such-id-7', 'no-such-operation-7', 'urn:x-7'])
      expect(text).not.toContain(token);
    const labelValues = new Set(samples.filter((s) => s.name === REQUESTS).map((s) => s.labels.operation));
    expect(labelValues.size).toBeLessThan(20);
  });

  test('/metrics is not logged per request at info; FHIR requests are', async () => {
    await fetch(`${logged.origin}/metrics`).then((r) => r.text());
    await fetch(`${logged.baseUrl}/metadata`).then((r) => r.text());
    const paths = logLines.map((l) => (JSON.parse(l) as { path?: string }).path);
    expect(paths).toContain('/fhir/metadata');
    expect(paths).not.toContain('/metrics');
  });
});
