import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { UpstreamError, type UpstreamErrorCode } from '../../src/upstream/errors.ts';
import { getJson, parseRetryAfter, type UpstreamHttpOptions } from '../../src/upstream/http.ts';

const ORIGIN = 'https://upstream.test';
const URL_ = `${ORIGIN}/v1/things?secret=abc`;
const PATH = '/v1/things?secret=abc';

let agent: MockAgent;
let sleeps: number[];

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  sleeps = [];
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

/** Options with a recorded, instant sleep and a fixed jitter. */
function opts(more: Partial<UpstreamHttpOptions> = {}): UpstreamHttpOptions {
  return {
    upstream: 'testapi',
    dispatcher: agent,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...more,
  };
}

function pool() {
  return agent.get(ORIGIN);
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamError);
    return err as UpstreamError;
  }
  throw new Error('expected an UpstreamError');
}

describe('getJson', () => {
  test('GET with Accept: application/json returns the parsed body', async () => {
    pool()
      .intercept({ path: PATH, method: 'GET', headers: { accept: 'application/json' } })
      .reply(200, { a: 1 }, { headers: JSON_HEADERS });
    await expect(getJson(URL_, opts())).resolves.toEqual({ a: 1 });
    expect(sleeps).toEqual([]);
  });

  test('a body without a content type is still read as JSON', async () => {
    pool().intercept({ path: PATH }).reply(200, '[1,2]');
    await expect(getJson(URL_, opts())).resolves.toEqual([1, 2]);
  });

  test('retries 503 with exponential back-off and jitter, then succeeds', async () => {
    pool().intercept({ path: PATH }).reply(503, 'down').times(2);
    pool().intercept({ path: PATH }).reply(200, { ok: true }, { headers: JSON_HEADERS });
    await expect(getJson(URL_, opts({ backoffBaseMs: 100 }))).resolves.toEqual({ ok: true });
    // equal jitter with random 0.5: 100 → 75, 200 → 150
    expect(sleeps).toEqual([75, 150]);
  });

  test('jitter stays between half and all of the exponential delay', async () => {
    pool().intercept({ path: PATH }).reply(500, '').times(3);
    pool().intercept({ path: PATH }).reply(200, {}, { headers: JSON_HEADERS });
    await getJson(URL_, opts({ backoffBaseMs: 100, backoffMaxMs: 300, random: () => 0.999 }));
    expect(sleeps).toEqual([100, 200, 300]);
  });

  test('gives up with UPSTREAM_UNAVAILABLE after the retries', async () => {
    pool().intercept({ path: PATH }).reply(502, '').times(3);
    const err = await failure(getJson(URL_, opts({ retries: 2 })));
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(err.status).toBe(502);
    expect(err.attempts).toBe(3);
    expect(err.httpStatus).toBe(503);
    expect(sleeps).toHaveLength(2);
  });

  test('honours Retry-After in seconds on 429', async () => {
    pool()
      .intercept({ path: PATH })
      .reply(429, '', { headers: { 'retry-after': '2' } });
    pool().intercept({ path: PATH }).reply(200, { ok: 1 }, { headers: JSON_HEADERS });
    await expect(getJson(URL_, opts())).resolves.toEqual({ ok: 1 });
    expect(sleeps).toEqual([2000]);
  });

  test('honours Retry-After as an HTTP-date', async () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    pool()
      .intercept({ path: PATH })
      .reply(429, '', { headers: { 'retry-after': 'Thu, 01 Jan 2026 12:00:05 GMT' } });
    pool().intercept({ path: PATH }).reply(200, {}, { headers: JSON_HEADERS });
    await getJson(URL_, opts({ now: () => now }));
    expect(sleeps).toEqual([5000]);
  });

  test('429 after the retries is UPSTREAM_RATE_LIMITED with the last Retry-After', async () => {
    pool()
      .intercept({ path: PATH })
      .reply(429, '', { headers: { 'retry-after': '1' } })
      .times(2);
    const err = await failure(getJson(URL_, opts({ retries: 1 })));
    expect(err.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(1000);
    expect(err.httpStatus).toBe(503);
  });

  test('a Retry-After longer than maxRetryAfterMs ends at once', async () => {
    pool()
      .intercept({ path: PATH })
      .reply(429, '', { headers: { 'retry-after': '3600' } });
    const err = await failure(getJson(URL_, opts({ maxRetryAfterMs: 10_000 })));
    expect(err.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(3_600_000);
    expect(err.attempts).toBe(1);
    expect(sleeps).toEqual([]);
  });

  test('a slow answer is UPSTREAM_TIMEOUT, and is retried', async () => {
    pool().intercept({ path: PATH }).reply(200, {}, { headers: JSON_HEADERS }).delay(500);
    pool().intercept({ path: PATH }).reply(200, { second: true }, { headers: JSON_HEADERS });
    await expect(getJson(URL_, opts({ timeoutMs: 30 }))).resolves.toEqual({ second: true });
    expect(sleeps).toHaveLength(1);
  });

  test('timeouts on every attempt give UPSTREAM_TIMEOUT (504)', async () => {
    pool().intercept({ path: PATH }).reply(200, {}).delay(500).times(2);
    const err = await failure(getJson(URL_, opts({ timeoutMs: 20, retries: 1 })));
    expect(err.code).toBe('UPSTREAM_TIMEOUT');
    expect(err.attempts).toBe(2);
    expect(err.httpStatus).toBe(504);
  });

  test('network errors are retried', async () => {
    pool()
      .intercept({ path: PATH })
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    pool().intercept({ path: PATH }).reply(200, { ok: 1 }, { headers: JSON_HEADERS });
    await expect(getJson(URL_, opts())).resolves.toEqual({ ok: 1 });
    expect(sleeps).toHaveLength(1);
  });

  test.each<[number, UpstreamErrorCode, number]>([
    [404, 'UPSTREAM_NOT_FOUND', 404],
    [400, 'UPSTREAM_HTTP_ERROR', 502],
    [401, 'UPSTREAM_UNAUTHORIZED', 502],
    [403, 'UPSTREAM_UNAUTHORIZED', 502],
    [301, 'UPSTREAM_HTTP_ERROR', 502],
    [501, 'UPSTREAM_HTTP_ERROR', 502],
  ])('HTTP %i is %s without a retry', async (status, code, httpStatus) => {
    pool().intercept({ path: PATH }).reply(status, 'no');
    const err = await failure(getJson(URL_, opts()));
    expect(err.code).toBe(code);
    expect(err.status).toBe(status);
    expect(err.httpStatus).toBe(httpStatus);
    expect(sleeps).toEqual([]);
  });

  test.each<[string, string, Record<string, string>, string]>([
    ['HTML', '<html>oops</html>', { 'content-type': 'text/html' }, 'expected JSON, got text/html'],
    ['XML without a content type', '<?xml version="1.0"?><a/>', {}, 'expected JSON, got XML or HTML'],
    ['invalid JSON', '{"a":', JSON_HEADERS, 'the response body is not valid JSON'],
    ['an empty body', '', JSON_HEADERS, 'empty response body'],
  ])('%s is UPSTREAM_BAD_RESPONSE', async (_name, body, headers, reason) => {
    pool().intercept({ path: PATH }).reply(200, body, { headers });
    const err = await failure(getJson(URL_, opts()));
    expect(err.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(err.reason).toBe(reason);
    expect(err.httpStatus).toBe(502);
  });

  test('a body over maxBodyBytes is refused', async () => {
    pool()
      .intercept({ path: PATH })
      .reply(200, JSON.stringify({ big: 'x'.repeat(2000) }), { headers: JSON_HEADERS });
    const err = await failure(getJson(URL_, opts({ maxBodyBytes: 1000 })));
    expect(err.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(err.reason).toBe('response larger than 1000 bytes');
  });

  test('a cancelled request is UPSTREAM_ABORTED and not retried', async () => {
    pool().intercept({ path: PATH }).reply(200, {}).delay(500);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const err = await failure(getJson(URL_, opts({ signal: controller.signal })));
    expect(err.code).toBe('UPSTREAM_ABORTED');
    expect(sleeps).toEqual([]);
  });

  test('the message and the log object never carry the URL; the url field does', async () => {
    pool().intercept({ path: PATH }).reply(500, '').times(2);
    const err = await failure(getJson(URL_, opts({ retries: 1 })));
    expect(err.message).toBe('Upstream testapi is unavailable (HTTP 500)');
    expect(err.message).not.toContain('upstream.test');
    expect(err.message).not.toContain('secret');
    expect(err.url).toBe(URL_);
    expect(err.toLogObject()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', attempts: 2, status: 500 });
    expect(JSON.stringify(err.toLogObject())).not.toMatch(/upstream\.test|secret/);
  });

  test('onRetry reports each retry', async () => {
    const seen: unknown[] = [];
    pool().intercept({ path: PATH }).reply(503, '');
    pool().intercept({ path: PATH }).reply(200, {}, { headers: JSON_HEADERS });
    await getJson(URL_, opts({ backoffBaseMs: 10, onRetry: (i) => seen.push(i) }));
    expect(seen).toEqual([{ upstream: 'testapi', attempt: 1, delayMs: 8, code: 'UPSTREAM_UNAVAILABLE', status: 503 }]);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  test.each<[string | undefined, number | undefined]>([
    [undefined, undefined],
    ['0', 0],
    ['120', 120_000],
    [' 3 ', 3000],
    ['Thu, 01 Jan 2026 12:01:00 GMT', 60_000],
    ['Thu, 01 Jan 2026 11:00:00 GMT', 0],
    ['soon', undefined],
  ])('%s → %s ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
