import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { withHead } from './routing.ts';

/**
 * The request headers the API reads, and so the only ones a preflight allows: content negotiation
 * (`Accept`, `Accept-Language`), bodies (`Content-Type`, `Content-Encoding`), the response cache
 * (`Cache-Control`, `Pragma`), `Prefer` (handling=lenient) and `X-Request-Id`. No `Authorization`
 * (the API takes no credentials) and no `If-None-Match` (it sends no ETags).
 */
export const ALLOWED_REQUEST_HEADERS = [
  'Accept',
  'Accept-Language',
  'Content-Type',
  'Content-Encoding',
  'Cache-Control',
  'Pragma',
  'Prefer',
  'X-Request-Id',
] as const;
export const EXPOSED_HEADERS = 'Location, Content-Location, X-Request-Id, Retry-After, Age';

/** The methods a path answers (without OPTIONS), or undefined for a path the server does not have. */
export type MethodsOf = (path: string) => readonly string[] | undefined;

/**
 * CORS for a public, read-only, credential-free API: any origin, no cookies. An OPTIONS request to
 * a path the server has is answered here with 204 (a preflight, or a plain OPTIONS probe), naming
 * the methods that path really answers in `Allow` and `Access-Control-Allow-Methods`; an OPTIONS
 * request to any other path goes on to the router's 404. The allowed request headers are a fixed
 * list: what the client asks for is never echoed.
 * https://fetch.spec.whatwg.org/#http-cors-protocol, RFC 9110 §9.3.7 (OPTIONS), §10.2.1 (Allow)
 */
export function cors(methodsOf: MethodsOf): RequestHandler {
  const allowHeaders = ALLOWED_REQUEST_HEADERS.join(', ');
  return (req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    // the exposed headers matter to a browser's CORS request only (it sends Origin)
    if (req.headers.origin !== undefined) res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    if (req.method !== 'OPTIONS') {
      next();
      return;
    }
    const methods = methodsOf(req.path);
    if (methods === undefined) {
      next();
      return;
    }
    const allow = withHead([...methods, 'OPTIONS']).join(', ');
    res.setHeader('Allow', allow);
    res.setHeader('Access-Control-Allow-Methods', allow);
    res.setHeader('Access-Control-Allow-Headers', allowHeaders);
    res.setHeader('Access-Control-Max-Age', '86400');
    res.status(204).end();
  };
}

/**
 * Which methods each path answers, from the same definitions that build the routes. Patterns are
 * written as Express paths: `:name` is any one segment but an operation name (`$lookup`), and a pattern ending in `/*` also matches
 * every path below it. The first pattern that matches wins, so specific paths go first.
 */
export class RouteMethods {
  private readonly routes: { pattern: string; segments: string[]; below: boolean; methods: readonly string[] }[] = [];

  add(pattern: string, methods: readonly string[]): this {
    const segments = split(pattern);
    const below = segments.at(-1) === '*';
    if (below) segments.pop();
    this.routes.push({ pattern, segments, below, methods });
    return this;
  }

  /** Every pattern with its methods, in the order added (the OpenAPI test checks its paths against them). */
  patterns(): { pattern: string; methods: readonly string[] }[] {
    return this.routes.map(({ pattern, methods }) => ({ pattern, methods }));
  }

  /** The methods of `path`, or undefined when no pattern matches. */
  readonly methodsOf: MethodsOf = (path) => {
    const segments = split(path);
    for (const r of this.routes) {
      if (segments.length < r.segments.length || (!r.below && segments.length > r.segments.length)) continue;
      if (r.segments.every((s, i) => s === segments[i] || (s.startsWith(':') && !segments[i].startsWith('$'))))
        return r.methods;
    }
    return undefined;
  };
}

/** Path segments; empty ones (a trailing `/`, as Express's non-strict routing ignores) are dropped. */
function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}
