/**
 * Typed upstream failures with stable codes (STYLE.md example 5, after undici `lib/core/errors.js`
 * and jose `src/util/errors.ts`): callers switch on `code`, never on the message.
 *
 * The message is safe to show to a client: it names the upstream by its short name and says what
 * went wrong, but never carries the upstream URL, a query string or a credential. The URL is kept in
 * the separate `url` field for the code that handles the error; it is never logged either (the
 * configured URLs may carry a tenant or key in their path), and neither is the text of a cause (an
 * undici or JSON.parse message can quote the address or the upstream's answer): `toLogObject()`
 * names the cause's class and error code only.
 */

export const UPSTREAM_ERROR_CODES = [
  /** no answer within the time limit (per attempt), or the upstream answered 504/408 */
  'UPSTREAM_TIMEOUT',
  /** 429 after the retries, or a Retry-After longer than we are willing to wait */
  'UPSTREAM_RATE_LIMITED',
  /** the answer is not what the API documents: not JSON, wrong shape, malformed field */
  'UPSTREAM_BAD_RESPONSE',
  /** 5xx after the retries, or the connection failed (refused, reset, DNS) */
  'UPSTREAM_UNAVAILABLE',
  /** any other unexpected HTTP status (3xx, 4xx other than those below, 501, 505) */
  'UPSTREAM_HTTP_ERROR',
  /** 404: the upstream does not know the thing asked for */
  'UPSTREAM_NOT_FOUND',
  /** 401/403: our credentials were refused (a configuration problem, never the client's) */
  'UPSTREAM_UNAUTHORIZED',
  /** the caller cancelled the request (its AbortSignal fired) */
  'UPSTREAM_ABORTED',
] as const;

export type UpstreamErrorCode = (typeof UPSTREAM_ERROR_CODES)[number];

export interface UpstreamErrorDetails {
  /** short name of the upstream, e.g. `helserefusjon`; part of the message */
  upstream: string;
  /** the HTTP status of the last attempt, when there was one */
  status?: number;
  /** the request URL: never in the message or the log object */
  url?: string;
  /** how many attempts were made */
  attempts?: number;
  /** what was wrong with the response (UPSTREAM_BAD_RESPONSE), e.g. `takstkoder[3].honorar: not a number` */
  reason?: string;
  /** how long the upstream asked us to wait (Retry-After), in milliseconds */
  retryAfterMs?: number;
  cause?: unknown;
}

const DEFAULT_TEXT: Readonly<Record<UpstreamErrorCode, string>> = {
  UPSTREAM_TIMEOUT: 'did not answer in time',
  UPSTREAM_RATE_LIMITED: 'is rate limiting our requests',
  UPSTREAM_BAD_RESPONSE: 'sent a response that could not be understood',
  UPSTREAM_UNAVAILABLE: 'is unavailable',
  UPSTREAM_HTTP_ERROR: 'answered with an unexpected HTTP status',
  UPSTREAM_NOT_FOUND: 'does not have the requested data',
  UPSTREAM_UNAUTHORIZED: 'refused our credentials',
  UPSTREAM_ABORTED: 'request was cancelled',
};

/**
 * The HTTP status a façade should answer with when this error reaches a client: an upstream outage
 * is a 502/503/504, never a 4xx (STYLE.md example 3).
 */
const HTTP_STATUS: Readonly<Record<UpstreamErrorCode, number>> = {
  UPSTREAM_TIMEOUT: 504,
  UPSTREAM_RATE_LIMITED: 503,
  UPSTREAM_BAD_RESPONSE: 502,
  UPSTREAM_UNAVAILABLE: 503,
  UPSTREAM_HTTP_ERROR: 502,
  UPSTREAM_NOT_FOUND: 404,
  UPSTREAM_UNAUTHORIZED: 502,
  UPSTREAM_ABORTED: 503,
};

export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;
  readonly upstream: string;
  readonly status?: number;
  /** the request URL, for the caller; never in a message or a log line */
  readonly url?: string;
  readonly attempts?: number;
  readonly reason?: string;
  readonly retryAfterMs?: number;

  constructor(code: UpstreamErrorCode, details: UpstreamErrorDetails) {
    super(UpstreamError.messageFor(code, details), details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'UpstreamError';
    this.code = code;
    this.upstream = details.upstream;
    if (details.status !== undefined) this.status = details.status;
    if (details.url !== undefined) this.url = details.url;
    if (details.attempts !== undefined) this.attempts = details.attempts;
    if (details.reason !== undefined) this.reason = details.reason;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }

  /** The client-safe message: upstream name, what happened, the HTTP status and the parse reason. */
  private static messageFor(code: UpstreamErrorCode, d: UpstreamErrorDetails): string {
    let text = `Upstream ${d.upstream} ${DEFAULT_TEXT[code]}`;
    if (d.status !== undefined) text += ` (HTTP ${d.status})`;
    if (d.reason !== undefined) text += `: ${d.reason}`;
    return text;
  }

  /** The status a façade should answer with (502/503/504 for outages, 404 for NOT_FOUND). */
  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  /** A copy with more details (e.g. the URL added by the client around a parser error). */
  withDetails(more: Partial<UpstreamErrorDetails>): UpstreamError {
    return new UpstreamError(this.code, {
      upstream: this.upstream,
      status: this.status,
      url: this.url,
      attempts: this.attempts,
      reason: this.reason,
      retryAfterMs: this.retryAfterMs,
      cause: this.cause,
      ...more,
    });
  }

  /** For the server log: code, upstream, message, status, attempts, and the cause summarised. */
  toLogObject(): Record<string, unknown> {
    const cause = causeSummary(this.cause);
    return {
      error: this.name,
      code: this.code,
      upstream: this.upstream,
      message: this.message,
      ...(this.status !== undefined ? { status: this.status } : {}),
      ...(this.attempts !== undefined ? { attempts: this.attempts } : {}),
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
      ...(cause ? { cause } : {}),
    };
  }
}

/**
 * A cause as its class and error code (`TypeError`, `Error ECONNREFUSED`,
 * `ConnectTimeoutError UND_ERR_CONNECT_TIMEOUT`), never its message: a connection error names the
 * host and port, a JSON.parse error quotes the body.
 */
export function causeSummary(cause: unknown): string | undefined {
  if (cause === undefined || cause === null) return undefined;
  if (!(cause instanceof Error)) return typeof cause;
  const code = (cause as { code?: unknown }).code;
  const plainCode = typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? code : undefined;
  const name = /^[A-Za-z]{1,40}$/.test(cause.name) ? cause.name : 'Error';
  return plainCode ? `${name} ${plainCode}` : name;
}

export function isUpstreamError(err: unknown): err is UpstreamError {
  return err instanceof UpstreamError;
}
