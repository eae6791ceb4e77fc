import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { makeIssue, OperationOutcomeError } from './outcome.ts';

/**
 * Sheds load when the event loop lags: a request that arrives while the process has recently been
 * unable to run its timers on time is answered at once with 503, `Retry-After` and an
 * OperationOutcome (`throttled`), instead of joining a queue whose latency is already collapsing.
 * Mounted after `/healthz` and `/readyz` (a health check is never shed: it should show the process
 * alive) and before the FHIR routes.
 *
 * The lag is measured with a drift timer: a timer due every `TICK_MS` records how late it ran. The
 * lag of a request is the largest delay of the last `WINDOW_MS`, or, if larger, how overdue the next
 * tick is right now (a request read just after a long block, before the timer has run, sees the block).
 */

const TICK_MS = 50;
const WINDOW_MS = 1000;

export interface LagMonitor {
  /** the largest event-loop delay of the recent window, in ms (the current overdue tick included) */
  lag(): number;
  stop(): void;
}

/** Starts measuring event-loop delay; the timer does not keep the process alive. */
export function lagMonitor(now: () => number = () => performance.now()): LagMonitor {
  const samples: number[] = new Array(Math.ceil(WINDOW_MS / TICK_MS)).fill(0);
  let next = 0;
  let last = now();
  const timer = setInterval(() => {
    const t = now();
    samples[next] = Math.max(0, t - last - TICK_MS);
    next = (next + 1) % samples.length;
    last = t;
  }, TICK_MS);
  timer.unref();
  return {
    lag: () => Math.max(now() - last - TICK_MS, ...samples),
    stop: () => clearInterval(timer),
  };
}

/**
 * The middleware: 503 while the lag is above `thresholdMs` (LOAD_SHED_LAG). `thresholdMs` 0 turns it
 * off. The monitor starts with the first request, so an app that is built and never used (tests)
 * keeps no timer.
 */
export function loadShedding(thresholdMs: number, monitor?: () => LagMonitor): RequestHandler {
  if (thresholdMs <= 0) return (_req, _res, next) => next();
  let started: LagMonitor | undefined;
  const retryAfter = String(Math.ceil(WINDOW_MS / 1000));
  return (_req: Request, _res: Response, next: NextFunction) => {
    started ??= (monitor ?? lagMonitor)();
    const lag = started.lag();
    if (lag <= thresholdMs) {
      next();
      return;
    }
    throw new OperationOutcomeError(
      503,
      [
        makeIssue({
          code: 'throttled',
          text: `The server is overloaded (event-loop delay ${Math.round(lag)} ms); try again in a moment`,
        }),
      ],
      { 'Retry-After': retryAfter },
    );
  };
}
