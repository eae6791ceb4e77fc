import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendResource } from './content.ts';
import { errorFields, type Logger } from './log.ts';
import { makeIssue, OperationOutcomeError, outcome } from './outcome.ts';
import { pathOf, requestIdOf } from './request-log.ts';

/**
 * The one place errors become responses (STYLE.md, "Errors are OperationOutcomes, thrown deep,
 * rendered once"). An OperationOutcomeError renders with its status and headers. A client error
 * raised by Express itself (e.g. a path that cannot be decoded) renders as a plain OperationOutcome.
 * Anything else is a bug: a 500 with a fixed text, never a stack or message, and one JSON log line.
 */
export function errorHandler(logger: Logger): (err: unknown, req: Request, res: Response, next: NextFunction) => void {
  return (err, req, res, next) => {
    if (res.headersSent) {
      // too late for an OperationOutcome: log, and let Express close the connection
      logger.error('error after the response started', logFields(req, res, err, res.statusCode));
      next(err);
      return;
    }
    if (err instanceof OperationOutcomeError) {
      for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
      // an upstream that is down or not configured is the service's expected state, not a bug; a
      // request shed under load is counted by the request log alone (one more line each would add load)
      if (err.status >= 500 && err.outcome.issue?.[0]?.code !== 'throttled') {
        logger.warn('operation failed', {
          method: req.method,
          path: pathOf(req),
          status: err.status,
          requestId: requestIdOf(res),
          reason: err.message,
        });
      }
      sendResource(req, res, err.outcome, err.status);
      return;
    }
    const status = clientErrorStatus(err);
    if (status !== undefined) {
      logger.debug('client error', logFields(req, res, err, status));
      // the router raises a URIError for a path segment that is not valid percent-encoding
      const text =
        err instanceof URIError ? 'The request path is not valid percent-encoding' : `Bad request (HTTP ${status})`;
      sendResource(req, res, outcome([makeIssue({ code: 'invalid', text })]), status);
      return;
    }
    logger.error('unhandled error', logFields(req, res, err, 500));
    sendResource(req, res, outcome([makeIssue({ code: 'exception', text: 'Internal server error' })]), 500);
  };
}

/** The final handler: nothing matched. Does not echo more than a short prefix of the path. */
export function unknownRoute(): RequestHandler {
  return (req: Request) => {
    throw new OperationOutcomeError(404, [
      makeIssue({ code: 'not-found', text: `Unknown path ${req.method} ${pathOf(req)}` }),
    ]);
  };
}

/** Client errors raised by Express, the router or their parsers: errors that carry a 4xx `status`. */
function clientErrorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return status;
  return undefined;
}

function logFields(req: Request, res: Response, err: unknown, status: number): Record<string, unknown> {
  return { method: req.method, path: pathOf(req), status, requestId: requestIdOf(res), ...errorFields(err) };
}
