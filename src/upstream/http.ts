import { setTimeout as sleepTimer } from 'node:timers/promises';
import { type Dispatcher, request } from 'undici';
import { UpstreamError, type UpstreamErrorCode } from './errors.ts';

/**
 * The shared request helper of the upstream clients: one GET of a JSON document with
 * - a time limit per attempt (`AbortSignal.timeout`, combined with the caller's signal),
 * - retries with exponential back-off and jitter on 5xx, 429, 408 and network errors,
 *   honouring `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date),
 * - typed failures (`UpstreamError`, see errors.ts) whose message never contains the URL.
 * The undici dispatcher is always passed in (never the global one), so tests use a MockAgent.
 */

export interface RetryInfo {
  upstream: string;
  /** the attempt that failed (1 = the first) */
  attempt: number;
  /** the delay before the next attempt */
  delayMs: number;
  code: UpstreamErrorCode;
  status?: number;
}

/**
 * One HTTP exchange with an upstream as it ended, for metrics (http/metrics.ts): each attempt is one
 * call, a retry another. It names the upstream by its short name and the failure by its code, never
 * by the URL or the upstream's words.
 */
export interface UpstreamCall {
  /** the upstream's short name, e.g. `helserefusjon` */
  upstream: string;
  /** how long the exchange took, in milliseconds (to the end of the body) */
  ms: number;
  /** the failure, when the exchange did not produce a usable answer */
  error?: UpstreamErrorCode;
}

/** Told of every upstream call when it ends; it must not throw and must not wait. */
export type UpstreamCallObserver = (call: UpstreamCall) => void;

export interface UpstreamHttpOptions {
  /** short name of the upstream, used in error messages (e.g. `helserefusjon`) */
  upstream: string;
  dispatcher: Dispatcher;
  /** time limit of one attempt, headers and body included (default 15 000 ms) */
  timeoutMs?: number;
  /** retries after the first attempt (default 3, so at most 4 attempts) */
  retries?: number;
  /** first back-off delay (default 250 ms); doubles per retry */
  backoffBaseMs?: number;
  /** largest back-off delay (default 5 000 ms) */
  backoffMaxMs?: number;
  /**
   * the longest Retry-After we wait for (default 30 000 ms); a longer one ends the request at once
   * with the error's `retryAfterMs` set, so the caller can pass it on
   */
  maxRetryAfterMs?: number;
  /** largest response body accepted (default 64 MiB) */
  maxBodyBytes?: number;
  /** extra request headers (Accept is always application/json) */
  headers?: Record<string, string>;
  /** cancels the request and any back-off wait */
  signal?: AbortSignal;
  /** for tests: how to wait (default: timers/promises setTimeout with the signal) */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** for tests: the jitter source (default Math.random) */
  random?: () => number;
  /** for tests: the clock used to read an HTTP-date Retry-After (default Date.now) */
  now?: () => number;
  /** called before each retry (for logging) */
  onRetry?: (info: RetryInfo) => void;
  /** told of each attempt when it ends (for metrics) */
  onCall?: UpstreamCallObserver;
}

const DEFAULTS = {
  timeoutMs: 15_000,
  retries: 3,
  backoffBaseMs: 250,
  backoffMaxMs: 5_000,
  maxRetryAfterMs: 30_000,
  maxBodyBytes: 64 * 1024 * 1024,
};

/** The outcome of one attempt that did not produce a value. */
interface Failure {
  error: UpstreamError;
  retryable: boolean;
  /** Retry-After, when the upstream sent one */
  retryAfterMs?: number;
}

/** GETs `url` and returns the parsed JSON body, or throws an UpstreamError. */
export async function getJson(url: string, options: UpstreamHttpOptions): Promise<unknown> {
  const opts: ResolvedOptions = {
    ...DEFAULTS,
    ...stripUndefined(options),
    upstream: options.upstream,
    dispatcher: options.dispatcher,
  };
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const maxAttempts = Math.max(1, Math.floor(opts.retries) + 1);

  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw aborted(options, url, attempt - 1, options.signal.reason);
    const started = performance.now();
    const outcome = await attemptOnce(url, opts, attempt, now);
    if (options.onCall) {
      const ms = performance.now() - started;
      options.onCall(
        'error' in outcome
          ? { upstream: opts.upstream, ms, error: outcome.error.code }
          : { upstream: opts.upstream, ms },
      );
    }
    if (!('error' in outcome)) return outcome.value;
    const { error, retryable, retryAfterMs } = outcome;

    if (!retryable || attempt >= maxAttempts) throw error;
    if (retryAfterMs !== undefined && retryAfterMs > opts.maxRetryAfterMs) throw error;

    // Exponential back-off with "equal jitter": half the delay fixed, half random, so concurrent
    // clients spread out but never retry at once. A Retry-After is honoured as given.
    const exp = Math.min(opts.backoffMaxMs, opts.backoffBaseMs * 2 ** (attempt - 1));
    const delayMs = retryAfterMs ?? Math.round(exp / 2 + random() * (exp / 2));
    options.onRetry?.({ upstream: opts.upstream, attempt, delayMs, code: error.code, status: error.status });
    try {
      await sleep(delayMs, options.signal);
    } catch (err) {
      throw aborted(options, url, attempt, err);
    }
  }
}

type ResolvedOptions = typeof DEFAULTS & UpstreamHttpOptions;

async function attemptOnce(
  url: string,
  opts: ResolvedOptions,
  attempt: number,
  now: () => number,
): Promise<{ value: unknown } | Failure> {
  const base = { upstream: opts.upstream, url, attempts: attempt };
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;

  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      dispatcher: opts.dispatcher,
      method: 'GET',
      headers: { ...opts.headers, accept: 'application/json' },
      signal,
    });
  } catch (err) {
    return classifyThrown(err, base, opts, timeout);
  }

  const status = res.statusCode;
  if (status < 200 || status >= 300) {
    // free the connection; the error body is not used (it may echo the URL)
    await res.body.dump().catch(() => undefined);
    return statusFailure(status, header(res.headers, 'retry-after'), base, now);
  }

  let text: string;
  try {
    text = await readBody(res.body, opts.maxBodyBytes);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      return {
        error: new UpstreamError('UPSTREAM_BAD_RESPONSE', {
          ...base,
          status,
          reason: `response larger than ${opts.maxBodyBytes} bytes`,
        }),
        retryable: false,
      };
    }
    return classifyThrown(err, base, opts, timeout);
  }
  return parseJsonBody(text, header(res.headers, 'content-type'), { ...base, status });
}

function statusFailure(
  status: number,
  retryAfter: string | undefined,
  base: { upstream: string; url: string; attempts: number },
  now: () => number,
): Failure {
  const retryAfterMs = parseRetryAfter(retryAfter, now());
  const details = { ...base, status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  if (status === 429) {
    return { error: new UpstreamError('UPSTREAM_RATE_LIMITED', details), retryable: true, retryAfterMs };
  }
  if (status === 408 || status === 504) {
    return { error: new UpstreamError('UPSTREAM_TIMEOUT', details), retryable: true, retryAfterMs };
  }
  if (status >= 500 && status !== 501 && status !== 505) {
    return { error: new UpstreamError('UPSTREAM_UNAVAILABLE', details), retryable: true, retryAfterMs };
  }
  if (status === 404) return { error: new UpstreamError('UPSTREAM_NOT_FOUND', details), retryable: false };
  if (status === 401 || status === 403) {
    return { error: new UpstreamError('UPSTREAM_UNAUTHORIZED', details), retryable: false };
  }
  return { error: new UpstreamError('UPSTREAM_HTTP_ERROR', details), retryable: false };
}

/** Errors thrown by undici (connect, socket, abort) or while reading the body. */
function classifyThrown(
  err: unknown,
  base: { upstream: string; url: string; attempts: number },
  opts: ResolvedOptions,
  timeout: AbortSignal,
): Failure {
  if (opts.signal?.aborted) {
    return { error: new UpstreamError('UPSTREAM_ABORTED', { ...base, cause: err }), retryable: false };
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (
    timeout.aborted ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return { error: new UpstreamError('UPSTREAM_TIMEOUT', { ...base, cause: err }), retryable: true };
  }
  // A request that does not match any MockAgent interceptor, or a bad argument, is a bug in the
  // caller or the test: retrying cannot help.
  const retryable = code !== 'UND_MOCK_ERR_MOCK_NOT_MATCHED' && code !== 'UND_ERR_INVALID_ARG';
  return { error: new UpstreamError('UPSTREAM_UNAVAILABLE', { ...base, cause: err }), retryable };
}

function parseJsonBody(
  text: string,
  contentType: string | undefined,
  details: { upstream: string; url: string; attempts: number; status: number },
): { value: unknown } | Failure {
  const bad = (reason: string, cause?: unknown): Failure => ({
    error: new UpstreamError('UPSTREAM_BAD_RESPONSE', { ...details, reason, ...(cause ? { cause } : {}) }),
    retryable: false,
  });
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType && !mediaType.includes('json')) return bad(`expected JSON, got ${mediaType}`);
  const trimmed = text.trimStart();
  if (trimmed === '') return bad('empty response body');
  if (trimmed.startsWith('<')) return bad('expected JSON, got XML or HTML');
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    return bad('the response body is not valid JSON', err);
  }
}

class BodyTooLargeError extends Error {}

async function readBody(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > maxBytes) {
      body.destroy();
      throw new BodyTooLargeError();
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Retry-After (https://www.rfc-editor.org/rfc/rfc9110#field.retry-after): delay-seconds or an
 * HTTP-date. Returns milliseconds from now (0 for a date in the past), or undefined when absent or
 * unreadable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name];
  if (Array.isArray(v)) return v[0];
  return v ?? undefined;
}

function aborted(opts: UpstreamHttpOptions, url: string, attempts: number, cause: unknown): UpstreamError {
  return new UpstreamError('UPSTREAM_ABORTED', { upstream: opts.upstream, url, attempts, cause });
}

async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  await sleepTimer(ms, undefined, signal ? { signal } : undefined);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
