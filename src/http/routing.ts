import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { makeIssue, OperationOutcomeError } from './outcome.ts';
import { pathOf } from './request-log.ts';

/** `Prefer: handling=lenient` asks us to ignore unknown search parameters (search.html#errors). */
export function isLenient(req: Request): boolean {
  return /(^|[,;\s])handling\s*=\s*lenient\b/i.test(req.get('prefer') ?? '');
}

/** The methods of a path as `Allow` names them: HEAD wherever GET is (RFC 9110 §9.3.2; Express answers it). */
export function withHead(methods: readonly string[]): string[] {
  const out = [...methods];
  const get = out.indexOf('GET');
  if (get >= 0 && !out.includes('HEAD')) out.splice(get + 1, 0, 'HEAD');
  return out;
}

/** The last handler of a route: any other method is a 405 OperationOutcome with an Allow header. */
export function methodNotAllowed(methods: string[]) {
  const allow = withHead(methods);
  return (req: Request, _res: Response, _next: NextFunction) => {
    throw new OperationOutcomeError(
      405,
      [
        makeIssue({
          code: 'not-supported',
          text: `Method ${req.method} is not allowed on ${pathOf(req)} (allowed: ${allow.join(', ')})`,
        }),
      ],
      { Allow: allow.join(', ') },
    );
  };
}

/**
 * Express 5 parses the query string again on every read of `req.query` (a getter); the edge reads it
 * several times per request (`_format`, `_pretty`, the operation's parameters). This middleware reads
 * it once and keeps the result on the request.
 */
export function queryOnce() {
  return (req: Request, _res: Response, next: NextFunction) => {
    Object.defineProperty(req, 'query', { value: req.query, writable: true, enumerable: true, configurable: true });
    next();
  };
}

/**
 * Several middlewares as one: each runs when the one before passes the request on, and an error
 * (thrown, or passed to `next`) ends the sequence and goes to Express's error handling. Express
 * matches every middleware mounted with `app.use` against the path and steps through its router
 * for each; the edge's middlewares apply to every path, so they are mounted once, as a sequence.
 */
export function inSequence(...handlers: RequestHandler[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    let at = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) {
        next(err);
        return;
      }
      const handler = handlers[at++];
      if (handler === undefined) {
        next();
        return;
      }
      try {
        const returned: unknown = handler(req, res, step);
        if (returned instanceof Promise) returned.catch(next);
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  };
}
