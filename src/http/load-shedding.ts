import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { makeIssue, OperationOutcomeError } from './outcome.ts';

/**
 * Sheds load when the event loop lags: a request that arrives while the process has recently been
 * unable to run its timers on time is answered at once with 503, `Retry-After` and an
 * OperationOutcome (`throttled`), instead of joining a queue whose latency is already collapsing.
 * Mounted after `/healthz` and `/readyz` (a health check is never shed: it should show the process
 * alive) and before the FHIR routes.
 *
 * The lag is measured with a drift timer (as toobusy-js does): a timer due every `TICK_MS` records
 * how late it ran, smoothed over the last ticks (exponentially, weight `ALPHA` for the newest), so
 * that one slow request does not shed the next second's traffic but a loop that keeps running late
 * does. The lag a request sees is that average or, if larger, how overdue the next tick is right now:
 * requests that queued up behind a long block are read before the timer runs, and are shed.
 */

const TICK_MS = 50;
const ALPHA = 1 / 3;

export interface LagMonitor {
  /** the event-loop delay now, in ms: the smoothed delay of the last ticks, or the current tick's if larger */
  lag(): number;
  stop(): void;
}

/** Starts measuring event-loop delay; the timer does not keep the process alive. */
export function lagMonitor(now: () => number = () => performance.now()): LagMonitor {
  let smoothed = 0;
  let last = now();
  const timer = setInterval(() => {
    const t = now();
    smoothed += (Math.max(0, t - last - TICK_MS) - smoothed) * ALPHA;
    last = t;
  }, TICK_MS);
  timer.unref();
  return {
    lag: () => Math.max(now() - last - TICK_MS, smoothed),
    stop: () => clearInterval(timer),
  };
}

/**
 * Whether requests are to be shed now: the lag is above `thresholdMs` (LOAD_SHED_LAG; 0 turns
 * shedding off). One per app, shared by the Express middleware and the fast lane (fast-lane.ts). The
 * monitor starts with the first request, so an app that is built and never used (tests) keeps no timer.
 */
export class LoadShedder {
  private readonly thresholdMs: number;
  private readonly monitor: () => LagMonitor;
  private started: LagMonitor | undefined;

  constructor(thresholdMs: number, monitor: () => LagMonitor = lagMonitor) {
    this.thresholdMs = thresholdMs;
    this.monitor = monitor;
  }

  /** The event-loop delay (ms) when it is over the threshold, else undefined (serve the request). */
  overload(): number | undefined {
    if (this.thresholdMs <= 0) return undefined;
    this.started ??= this.monitor();
    const lag = this.started.lag();
    return lag > this.thresholdMs ? lag : undefined;
  }
}

/** The middleware: 503 while the shedder says the loop lags. */
export function loadShedding(shedder: LoadShedder): RequestHandler {
  // a lagging loop recovers within a few ticks once the work behind it is done
  const retryAfter = '1';
  return (_req: Request, _res: Response, next: NextFunction) => {
    const lag = shedder.overload();
    if (lag === undefined) {
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
