import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
export function pathOf(req: { originalUrl?: string; url?: string }): string {
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path.length > 200 ? `${path.slice(0, 200)}...` : path;
}

const READ_AT = Symbol('request read at');

/**
 * Notes when a request was read, for one that the fast lane takes up and then hands over to Express
 * (fast-lane.ts): the request line and the metrics count from then, not from Express's turn.
 */
export function noteReadAt(res: ServerResponse, at: number): void {
  (res as ServerResponse & { [READ_AT]?: number })[READ_AT] = at;
}

/** When the request was read: as noted (noteReadAt), else now. */
export function readAt(res: ServerResponse): number {
  return (res as ServerResponse & { [READ_AT]?: number })[READ_AT] ?? performance.now();
}

/** The id of a request: the client's `X-Request-Id` when it is plain enough to echo, otherwise a new one. */
export function requestIdFrom(given: string | undefined): string {
  return given && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Takes `X-Request-Id` from the client when it is plain enough to echo, otherwise makes one; echoes
 * it as `X-Request-Id` on the response.
 */
export function requestId(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const id = requestIdFrom(req.get('x-request-id'));
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    next();
  };
}

/** Whether request lines are written at all: at warn and above none is. */
export function logsRequests(logger: Logger): boolean {
  return !(logger.level === 'warn' || logger.level === 'error' || logger.level === 'silent');
}

/** One JSON line per finished request: method, path (no query), status, ms, request id. */
export function requestLog(logger: Logger): RequestHandler {
  // nothing to measure, nothing to listen for
  if (!logsRequests(logger)) return (_req: Request, _res: Response, next: NextFunction) => next();
  return (req: Request, res: Response, next: NextFunction) => {
    logWhenClosed(logger, req, res, readAt(res), () => requestIdOf(res));
    next();
  };
}

/**
 * Writes the request's line when its response closes: `close` follows `finish` when the answer went
 * out whole, and comes alone when it did not. `id` is read then, when the id is known.
 */
export function logWhenClosed(
  logger: Logger,
  req: IncomingMessage & { originalUrl?: string },
  res: ServerResponse,
  start: number,
  id: () => string,
): void {
  res.once('close', () => {
    const aborted = !res.writableFinished;
    const ms = Math.round((performance.now() - start) * 100) / 100;
    const path = pathOf(req);
    const fields = {
      method: req.method,
      path,
      status: res.statusCode,
      ms,
      requestId: id(),
      ...(aborted ? { aborted } : {}),
    };
    if (QUIET_PATHS.has(path)) logger.debug('request', fields);
    else logger.info('request', fields);
  });
}
