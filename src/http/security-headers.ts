import { type IncomingMessage, type OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Headers every response carries, errors and health checks included (OWASP HTTP headers cheat
 * sheet; https://fetch.spec.whatwg.org/#x-content-type-options-header):
 * - `X-Content-Type-Options: nosniff`: a browser takes the JSON for JSON, never for a script or page;
 * - `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`: a JSON answer opened in a
 *   browser may load nothing and be framed by no one (an HTML page, if one comes, needs its own);
 * - `Referrer-Policy: no-referrer`;
 * - `Cache-Control` (RFC 9111 §5.2.2), from the answer: see `cacheControlFor`.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
};

/** Paths whose answer describes this moment of this process: never stored. */
const LIVE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * `Cache-Control` of an answer. Errors (a 503 passes, a 404 may not last), POST results, the
 * health checks and the metrics are `no-store`. A successful GET or HEAD (and a 304) is `no-cache`:
 * it may be stored, but must be asked for again before reuse, because the data behind it are
 * refreshed without notice (Helserefusjon, FNSP, HPR); reads, `/metadata` and `/openapi.json` carry
 * an ETag (conditional.ts), so that asking again costs a 304 while the data are unchanged. The
 * server's own response cache (RESPONSE_CACHE_*) is not affected.
 */
export function cacheControlFor(method: string, status: number, path: string): string {
  if ((status >= 300 && status !== 304) || (method !== 'GET' && method !== 'HEAD') || LIVE_PATHS.has(path)) {
    return 'no-store';
  }
  return 'no-cache';
}

/**
 * Sets the security headers on every response, and `Cache-Control` when the status is known (at
 * `writeHead`, which Node calls for every response, implicitly or not) unless a handler set one.
 */
export function securityHeaders(): RequestHandler {
  const headers = Object.entries(SECURITY_HEADERS);
  return (_req: Request, res: Response, next: NextFunction) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    cacheControlAtWriteHead(res);
    next();
  };
}

/** Sets `Cache-Control` from the status when the response's head is written, unless a handler set one. */
export function cacheControlAtWriteHead(res: ServerResponse): void {
  // one shared function, not a closure per request: the request is `this.req`
  res.writeHead = withCacheControl as typeof res.writeHead;
}

const nodeWriteHead = ServerResponse.prototype.writeHead;

/** ServerResponse.writeHead, with `Cache-Control` set from the status first unless a handler set one. */
function withCacheControl(
  this: ServerResponse<IncomingMessage>,
  statusCode: number,
  ...rest: [string?, OutgoingHttpHeaders?] | [OutgoingHttpHeaders?]
): ServerResponse {
  if (!this.hasHeader('Cache-Control')) {
    // originalUrl: a mounted router rewrites `url` while it runs
    const req = this.req as IncomingMessage & { originalUrl?: string };
    const path = (req.originalUrl ?? req.url ?? '').split('?')[0];
    this.setHeader('Cache-Control', cacheControlFor(req.method ?? 'GET', statusCode, path));
  }
  // the overload taking a reason phrase and headers is passed through untouched
  return (nodeWriteHead as (...args: unknown[]) => ServerResponse).call(this, statusCode, ...rest);
}
