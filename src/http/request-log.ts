import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from './log.ts';

/** A client-chosen request id is echoed when it is short and plain (the tx tests send `txTests:suite/test`). */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:/@+=-]{1,200}$/;

/** Paths logged at debug only, so probes and metric scrapes do not flood the log. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** The request id of this request (set by `requestId()`). */
export function requestIdOf(res: Response): string {
  return typeof res.locals.requestId === 'string' ? res.locals.requestId : '';
}

/** The request path without its query string, cut to a loggable length. */
export function pathOf(req: Request): string {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path.length > 200 ? `${path.slice(0, 200)}...` : path;
}

/**
 * Takes `X-Request-Id` from the client when it is plain enough to echo, otherwise makes one; echoes
 * it as `X-Request-Id` on the response.
 */
export function requestId(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.get('x-request-id');
    const id = given && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    next();
  };
}

/** One JSON line per finished request: method, path (no query), status, ms, request id. */
export function requestLog(logger: Logger): RequestHandler {
  // at warn and above no request line is ever written: nothing to measure, nothing to listen for
  if (logger.level === 'warn' || logger.level === 'error' || logger.level === 'silent') {
    return (_req: Request, _res: Response, next: NextFunction) => next();
  }
  return (req: Request, res: Response, next: NextFunction) => {
    const start = performance.now();
    // `close` follows `finish` when the answer went out whole, and comes alone when it did not
    res.once('close', () => {
      const aborted = !res.writableFinished;
      const ms = Math.round((performance.now() - start) * 100) / 100;
      const path = pathOf(req);
      const fields = {
        method: req.method,
        path,
        status: res.statusCode,
        ms,
        requestId: requestIdOf(res),
        ...(aborted ? { aborted } : {}),
      };
      if (QUIET_PATHS.has(path)) logger.debug('request', fields);
      else logger.info('request', fields);
    });
    next();
  };
}
