import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { ValueSet } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { COMPRESS_MIN_BYTES, COMPRESSED_CACHE_MIN_BYTES, chooseEncoding } from '../../src/http/compression.ts';
import { expectValidFhir, startTestServer, type TestServer } from '../support/fhir.ts';
import { rawRequest } from '../support/raw-http.ts';

const NLK = 'nlk-7280';
const NLK_VS = 'https://no-fhir-facade.example/fhir/ValueSet/nlk-7280';

// Compressed answers (issue 11, item 3): br or gzip for answers of at least 1 KiB when the client
// takes them, done off the event loop; `Vary: Accept-Encoding`.

describe('the encoding asked for', () => {
  test.each([
    [undefined, undefined],
    ['', undefined],
    ['gzip', 'gzip'],
    ['gzip, deflate, br', 'br'],
    ['br;q=0.5, gzip', 'gzip'],
    ['identity', undefined],
    ['*', 'br'],
    ['*;q=0, gzip', 'gzip'],
    ['br;q=0, gzip;q=0', undefined],
    ['x-gzip', 'gzip'],
    ['gzip;q=abc', undefined],
  ])('Accept-Encoding %s -> %s', (header, expected) => {
    expect(chooseEncoding(header)).toBe(expected);
  });
});

describe('over HTTP', () => {
  let server: TestServer;
  let large = '';
  beforeAll(async () => {
    server = await startTestServer();
    large = `${server.baseUrl}/ValueSet/$expand?url=${encodeURIComponent('https://no-fhir-facade.example/fhir/ValueSet/nlk-7280')}&count=1000`;
  });
  afterAll(async () => server.close());

  test('a large $expand: gzip and br give the same answer as identity, much smaller', async () => {
    const plain = await rawRequest(large, { Accept: 'application/fhir+json' });
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toContain('Accept-Encoding');
    expect(plain.body.byteLength).toBeGreaterThan(100_000);
    const expected = JSON.parse(plain.body.toString('utf8')) as ValueSet;

    const gz = await rawRequest(large, { Accept: 'application/fhir+json', 'Accept-Encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(Number(gz.headers['content-length'])).toBe(gz.body.byteLength);
    expect(gz.body.byteLength).toBeLessThan(plain.body.byteLength / 4);
    const fromGz = expectValidFhir<ValueSet>(JSON.parse(gunzipSync(gz.body).toString('utf8')));
    expect(fromGz.expansion?.contains).toEqual(expected.expansion?.contains);

    const br = await rawRequest(large, { Accept: 'application/fhir+json', 'Accept-Encoding': 'gzip, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toContain('Accept-Encoding');
    const fromBr = expectValidFhir<ValueSet>(JSON.parse(brotliDecompressSync(br.body).toString('utf8')));
    expect(fromBr.expansion?.contains).toEqual(expected.expansion?.contains);
  });

  test('a small answer and a HEAD go out as they are', async () => {
    const small = await rawRequest(`${server.baseUrl}/$versions`, { 'Accept-Encoding': 'gzip, br' });
    expect(small.body.byteLength).toBeLessThan(COMPRESS_MIN_BYTES);
    expect(small.headers['content-encoding']).toBeUndefined();
    const head = await rawRequest(large, { 'Accept-Encoding': 'gzip' }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-encoding']).toBeUndefined();
    expect(head.body.byteLength).toBe(0);
  });

  test('XML and HTML answers are compressed too', async () => {
    const xml = await rawRequest(large, { Accept: 'application/fhir+xml', 'Accept-Encoding': 'gzip' });
    expect(xml.headers['content-type']).toBe('application/fhir+xml; charset=utf-8');
    expect(gunzipSync(xml.body).toString('utf8')).toMatch(/<ValueSet xmlns="http:\/\/hl7.org\/fhir">/);
    const html = await rawRequest(`${server.baseUrl}`, { Accept: 'text/html', 'Accept-Encoding': 'br' });
    expect(html.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(html.body).toString('utf8')).toMatch(/^<!DOCTYPE html>/);
  });
});

/** The value of a counter of /metrics for one label set (0 when absent). */
async function metric(server: TestServer, line: string): Promise<number> {
  const text = await (await fetch(`${server.origin}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

describe('compressed forms of large answers with a strong ETag', () => {
  const HIT = 'nofhir_compressed_cache_lookups_total{result="hit"}';
  const MISS = 'nofhir_compressed_cache_lookups_total{result="miss"}';

  test('a large read is compressed once per ETag and encoding; the kept bytes are the same answer', async () => {
    const server = await startTestServer();
    try {
      const url = `${server.baseUrl}/CodeSystem/${NLK}`;
      const plain = await rawRequest(url, { Accept: 'application/fhir+json' });
      expect(plain.body.byteLength).toBeGreaterThan(COMPRESSED_CACHE_MIN_BYTES);
      expect(plain.headers.etag).toMatch(/^"/);
      expectValidFhir(JSON.parse(plain.body.toString('utf8')));
      const first = await rawRequest(url, { Accept: 'application/fhir+json', 'Accept-Encoding': 'br' });
      const second = await rawRequest(url, { Accept: 'application/fhir+json', 'Accept-Encoding': 'br' });
      expect(second.headers['content-encoding']).toBe('br');
      expect(second.headers.etag).toBe(plain.headers.etag);
      expect(Number(second.headers['content-length'])).toBe(second.body.byteLength);
      expect(second.body.equals(first.body)).toBe(true);
      expect(brotliDecompressSync(second.body).equals(plain.body)).toBe(true);
      // gzip is another representation on the wire: kept apart
      const gz = await rawRequest(url, { Accept: 'application/fhir+json', 'Accept-Encoding': 'gzip' });
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
      expect(await metric(server, HIT)).toBe(1);
      expect(await metric(server, MISS)).toBe(2);
      // a large operation answer has no ETag: compressed each time, never kept
      await rawRequest(`${server.baseUrl}/ValueSet/$expand?url=${encodeURIComponent(NLK_VS)}&count=1000`, {
        'Accept-Encoding': 'br',
      });
      expect(await metric(server, MISS)).toBe(2);
    } finally {
      await server.close();
    }
  });

  test('COMPRESSED_CACHE_BYTES=0 keeps nothing', async () => {
    const server = await startTestServer({ config: { compressedCacheBytes: 0 } });
    try {
      const url = `${server.baseUrl}/CodeSystem/${NLK}`;
      for (let i = 0; i < 2; i++) {
        const br = await rawRequest(url, { 'Accept-Encoding': 'br' });
        expect(br.headers['content-encoding']).toBe('br');
      }
      expect(await metric(server, HIT)).toBe(0);
    } finally {
      await server.close();
    }
  });
});
