import { connect } from 'node:net';
import { brotliCompressSync, constants, createGzip, deflateSync, gzipSync } from 'node:zlib';
import type { OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_MAX_BODY_BYTES } from '../../src/config.ts';
import { fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

/**
 * Request bodies: decompressed as a stream within MAX_BODY_BYTES (a gzip bomb is cut off, never
 * inflated whole), the compressed bytes limited too, and all bodies together within
 * MAX_BODY_BYTES_TOTAL.
 */

const PARAMS = { resourceType: 'Parameters', parameter: [{ name: 'uuid', valueUuid: 'urn:uuid:1' }] };
const JSON_TYPE = 'application/fhir+json';

/** `size` bytes of zeros, gzipped as a stream (1 GiB gives a body of about 1 MB). */
async function gzipBomb(size: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((r) => gz.once('end', r));
  const block = Buffer.alloc(1024 * 1024);
  for (let written = 0; written < size; written += block.length) {
    if (!gz.write(block)) await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

let server: TestServer;
let small: TestServer;
let bomb: Buffer;
beforeAll(async () => {
  server = await startTestServer();
  small = await startTestServer({ config: { maxBodyBytes: 1000, maxBodyBytesTotal: 1500 } });
  bomb = await gzipBomb(1024 * 1024 * 1024);
}, 60_000);
afterAll(async () => {
  await server.close();
  await small.close();
});

const post = (body: Buffer | string, encoding?: string): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': JSON_TYPE, ...(encoding ? { 'Content-Encoding': encoding } : {}) },
  body,
});

describe('compressed request bodies', () => {
  test.each([
    ['gzip', gzipSync],
    ['x-gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
    ['GZIP', gzipSync],
  ] as const)('Content-Encoding: %s is decompressed', async (encoding, compress) => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/$versions`,
      post(compress(JSON.stringify(PARAMS)), encoding),
    );
    expect(res.status).toBe(200);
  });

  test('a gzip bomb (1 GiB of zeros, ~1 MB sent) is cut off at MAX_BODY_BYTES: 413', async () => {
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const started = performance.now();
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/$versions`, post(bomb, 'gzip'));
    expect(res.status).toBe(413);
    expect(res.body.issue[0]).toMatchObject({ code: 'too-long' });
    expect(res.body.issue[0].details?.text).toBe(
      `Request body is larger than the limit of ${DEFAULT_MAX_BODY_BYTES} bytes (after decompression)`,
    );
    // inflating 1 GiB would take seconds; stopping at 50 MiB takes a fraction of that
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test('the same bomb as brotli is cut off too', async () => {
    const br = brotliCompressSync(Buffer.alloc(64 * 1024 * 1024), {
      params: { [constants.BROTLI_PARAM_QUALITY]: 4 },
    });
    const res = await fetchFhir<OperationOutcome>(`${small.baseUrl}/$versions`, post(br, 'br'));
    expect(res.status).toBe(413);
    expect(res.body.issue[0].details?.text).toContain('1000 bytes (after decompression)');
  });

  test('a compressed body over the limit as sent is 413 even if it would inflate within it', async () => {
    // random bytes do not compress: the gzip stream is larger than the limit
    const random = Buffer.from(Array.from({ length: 3000 }, () => Math.floor(Math.random() * 256)));
    const res = await fetchFhir<OperationOutcome>(`${small.baseUrl}/$versions`, post(gzipSync(random), 'gzip'));
    expect(res.status).toBe(413);
  });

  test.each([
    ['not gzip at all', Buffer.from('{"resourceType":"Parameters"}'), /not valid gzip data/],
    ['a truncated gzip stream', gzipSync(JSON.stringify(PARAMS)).subarray(0, 20), /not valid gzip data/],
  ])('400 for %s', async (_name, body, message) => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/$versions`, post(body, 'gzip'));
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details?.text).toMatch(message);
  });

  test.each(['gzip, br', 'compress', 'zstd'])('415 for Content-Encoding: %s', async (encoding) => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/$versions`, post('{}', encoding));
    expect(res.status).toBe(415);
    expect(res.body.issue[0].details?.text).toMatch(/Unsupported Content-Encoding/);
  });

  test('twenty gzip bombs at once: memory stays within the body budget', async () => {
    // one first, so that zlib's and the server's own allocations are in the baseline
    await fetch(`${server.baseUrl}/$versions`, post(bomb, 'gzip')).then((r) => r.arrayBuffer());
    globalThis.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${server.baseUrl}/$versions`, post(bomb, 'gzip')).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    // each is refused: 413 (cut off at the limit) or 503 (the budget of all bodies was spent)
    for (const status of answers) expect([413, 503]).toContain(status);
    expect(answers).toContain(413);
    const growthMiB = (peak - baseline) / 1024 / 1024;
    // MAX_BODY_BYTES_TOTAL is 100 MiB by default; without it twenty bombs held 20 × 50 MiB
    expect(growthMiB).toBeLessThan(400);
  }, 60_000);
});

describe('the budget of all bodies (MAX_BODY_BYTES_TOTAL)', () => {
  test('a body that does not fit while another is being read gets 503 with Retry-After', async () => {
    const { port } = new URL(small.baseUrl);
    // a chunked body of 900 bytes that is never finished: it holds 900 of the 1500 bytes
    const slow = connect(Number(port), '127.0.0.1');
    await new Promise((r) => slow.once('connect', r));
    const part = `{"resourceType":"Parameters","parameter":[{"name":"x","valueString":"${'y'.repeat(820)}`;
    slow.write(
      `POST /fhir/$versions HTTP/1.1\r\nHost: x\r\nContent-Type: ${JSON_TYPE}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    slow.write(`${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`);
    await new Promise((r) => setTimeout(r, 200));
    const other = JSON.stringify({
      resourceType: 'Parameters',
      parameter: [{ name: 'x', valueString: 'z'.repeat(800) }],
    });
    const res = await fetchFhir<OperationOutcome>(`${small.baseUrl}/$versions`, post(other));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.body.issue[0]).toMatchObject({ code: 'transient' });
    slow.destroy();
    // once the first body is gone, the same request fits
    await new Promise((r) => setTimeout(r, 100));
    const again = await fetchFhir<OperationOutcome>(`${small.baseUrl}/$versions`, post(other));
    expect(again.status).not.toBe(503);
  });
});
