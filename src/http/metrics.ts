import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { UpstreamCall } from '../upstream/http.ts';
import type { ResponseCache } from './response-cache.ts';

/**
 * The service's metrics in the Prometheus text format (`GET /metrics`), on prom-client with a
 * registry of the app's own (never prom-client's global one), so one process can build several apps.
 *
 * Labels are bounded by construction: a request is counted under the route that answered it (an
 * operation and resource type named by the operation registry and the routes, never the path or the
 * query) and its status; an upstream call under the upstream's short name and its error code. No
 * label carries what a client sent, an upstream URL or a credential.
 *
 * The cost per request is what the routes need: a `RouteMetrics` per route is made when the routes
 * are built, with its latency histogram child; its counter child per status is made the first time
 * that status is answered and kept. A request then costs two clock reads, one `finish` listener (a
 * shared function, no closure) and an increment of each child; nothing waits. Everything else (the
 * response cache, the HPR token bucket, the age of the data) is read when /metrics is scraped.
 */

const PREFIX = 'nofhir_';

/** Request latency buckets (seconds): most answers take a millisecond or less; the time limit is 20 s. */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20];
/** Upstream call buckets (seconds): a token in a few ms, a dataset download in tens of seconds. */
const UPSTREAM_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** An upstream's short name, as the clients name them (`hpr`, `helserefusjon`): anything else is `other`. */
const UPSTREAM_NAME = /^[a-z][a-z0-9-]{0,31}$/;

const START = Symbol('metrics: request start');
const ROUTE = Symbol('metrics: route');

/** What a response carries for its metrics, set by `measure()` and the routes. */
interface Measured {
  [START]?: number;
  [ROUTE]?: RouteMetrics;
}

type RequestLabel = 'operation' | 'resource' | 'code';

/**
 * The metrics of one route: `operation` is the interaction or operation (`read`, `search`,
 * `$validate-code`, `metadata`, `healthz` ...), `resource` the resource type ('' for none).
 */
export class RouteMetrics {
  readonly operation: string;
  readonly resource: string;
  private readonly requests: Counter<RequestLabel>;
  private readonly latency: { observe(seconds: number): void };
  private readonly byStatus = new Map<number, { inc(): void }>();

  constructor(requests: Counter<RequestLabel>, latency: Histogram<'operation' | 'resource'>, labels: RouteLabels) {
    this.operation = labels.operation;
    this.resource = labels.resource;
    this.requests = requests;
    this.latency = latency.labels(labels.operation, labels.resource);
  }

  /** Counts the request `res` answers under this route (the last route to mark it wins). */
  mark(res: Response): void {
    (res as Response & Measured)[ROUTE] = this;
  }

  /** Counts one answered request. */
  record(status: number, seconds: number): void {
    let counter = this.byStatus.get(status);
    if (counter === undefined) {
      // Node accepts statuses 100-999; the app sends the ones HTTP defines
      const code = Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
      counter = this.requests.labels(this.operation, this.resource, code);
      this.byStatus.set(status, counter);
    }
    counter.inc();
    this.latency.observe(seconds);
  }
}

export interface RouteLabels {
  operation: string;
  resource: string;
}

/** The fill level of a client-side rate limiter (upstream/rate-limit.ts). */
export interface RateLimitLevel {
  available: number;
  capacity: number;
}

/** A data source for the age and state gauges. */
export interface DataSourceState {
  /** short name: `helserefusjon`, `fnsp`, `bandagists` */
  source: string;
  /** `embedded`, `live`, `snapshot` (Helserefusjon); `loading`, `ready`, `stale`, `failed`, `unconfigured` (directory) */
  state: string;
  /** seconds since the data served were fetched from the upstream; absent when they never were */
  ageSeconds?: number;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  /** requests no route claimed: unknown paths, CORS preflights, requests shed before routing */
  readonly unrouted: RouteMetrics;
  private readonly requests: Counter<RequestLabel>;
  private readonly latency: Histogram<'operation' | 'resource'>;
  private readonly routes = new Map<string, RouteMetrics>();
  private readonly upstreamCalls: Counter<'upstream'>;
  private readonly upstreamFailures: Counter<'upstream' | 'code'>;
  private readonly upstreamLatency: Histogram<'upstream'>;
  private readonly caches: ResponseCache[] = [];
  private readonly rateLimits = new Map<string, () => RateLimitLevel | undefined>();
  private dataSources?: () => readonly DataSourceState[];
  private processMetrics = false;

  /**
   * @param options.processMetrics start prom-client's process metrics (CPU, memory, GC, event-loop
   *   delay) now rather than at the first scrape (main.ts; an app built by a test never starts them
   *   unless scraped)
   */
  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: `${PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by route (operation and resource type) and status code.',
      labelNames: ['operation', 'resource', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: 'Time from reading a request to sending the end of its answer, by route.',
      labelNames: ['operation', 'resource'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.unrouted = this.route('other');

    this.upstreamCalls = new Counter({
      name: `${PREFIX}upstream_requests_total`,
      help: 'HTTP requests to an upstream API (each attempt counts; a retry is another).',
      labelNames: ['upstream'],
      registers,
    });
    this.upstreamFailures = new Counter({
      name: `${PREFIX}upstream_failures_total`,
      help: 'Upstream requests that failed, by error code (UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE, ...).',
      labelNames: ['upstream', 'code'],
      registers,
    });
    this.upstreamLatency = new Histogram({
      name: `${PREFIX}upstream_request_duration_seconds`,
      help: 'Time of one upstream request, body included.',
      labelNames: ['upstream'],
      buckets: UPSTREAM_BUCKETS,
      registers,
    });

    const caches = this.caches;
    new Counter({
      name: `${PREFIX}response_cache_lookups_total`,
      help: 'Look-ups in the response cache of GET operations: hit, miss, or bypass (the request said no-cache).',
      labelNames: ['result'],
      registers,
      collect() {
        let hits = 0;
        let misses = 0;
        let bypasses = 0;
        for (const c of caches) {
          hits += c.lookups.hits;
          misses += c.lookups.misses;
          bypasses += c.lookups.bypasses;
        }
        // the counts live in the cache; a scrape copies them
        this.reset();
        this.inc({ result: 'hit' }, hits);
        this.inc({ result: 'miss' }, misses);
        this.inc({ result: 'bypass' }, bypasses);
      },
    });
    new Gauge({
      name: `${PREFIX}response_cache_entries`,
      help: 'Answers kept in the response cache.',
      registers,
      collect() {
        this.set(caches.reduce((n, c) => n + c.size, 0));
      },
    });
    new Gauge({
      name: `${PREFIX}response_cache_bytes`,
      help: 'Bytes counted for the answers kept in the response cache (bodies, keys, overhead).',
      registers,
      collect() {
        this.set(caches.reduce((n, c) => n + c.bytes, 0));
      },
    });

    const rateLimits = this.rateLimits;
    const levels = () =>
      [...rateLimits].flatMap(([upstream, read]) => {
        const level = read();
        return level ? [{ upstream, ...level }] : [];
      });
    new Gauge({
      name: `${PREFIX}upstream_rate_limit_tokens`,
      help: 'Tokens left in our copy of an upstream rate limit (HPR: a bucket of 200 refilled 10 a minute).',
      labelNames: ['upstream'],
      registers,
      collect() {
        this.reset();
        for (const l of levels()) this.set({ upstream: l.upstream }, l.available);
      },
    });
    new Gauge({
      name: `${PREFIX}upstream_rate_limit_capacity`,
      help: 'The most tokens the rate-limit bucket holds.',
      labelNames: ['upstream'],
      registers,
      collect() {
        this.reset();
        for (const l of levels()) this.set({ upstream: l.upstream }, l.capacity);
      },
    });

    const sources = () => this.dataSources?.() ?? [];
    new Gauge({
      name: `${PREFIX}data_source_age_seconds`,
      help: 'Seconds since the data served were fetched from their upstream (not given for embedded data).',
      labelNames: ['source'],
      registers,
      collect() {
        this.reset();
        for (const s of sources()) if (s.ageSeconds !== undefined) this.set({ source: s.source }, s.ageSeconds);
      },
    });
    new Gauge({
      name: `${PREFIX}data_source_state`,
      help: 'The state of each data source: 1 for the state it is in.',
      labelNames: ['source', 'state'],
      registers,
      collect() {
        this.reset();
        for (const s of sources()) this.set({ source: s.source, state: s.state }, 1);
      },
    });
    if (options.processMetrics) this.startProcessMetrics();
  }

  /** The metrics of a route, made once per operation and resource type. */
  route(operation: string, resource = ''): RouteMetrics {
    const key = `${operation} ${resource}`;
    let route = this.routes.get(key);
    if (!route) {
      route = new RouteMetrics(this.requests, this.latency, { operation, resource });
      this.routes.set(key, route);
    }
    return route;
  }

  /**
   * The first middleware: notes when the request was read and counts it when its answer has been
   * sent (`finish`), under the route that marked it or `other`. A request whose connection closed
   * before its answer was sent is not counted.
   */
  measure(): RequestHandler {
    const unrouted = this.unrouted;
    return (_req: Request, res: Response, next: NextFunction) => {
      const measured = res as Response & Measured;
      measured[START] = performance.now();
      measured[ROUTE] = unrouted;
      res.on('finish', answered);
      next();
    };
  }

  /** Counts an upstream call (UpstreamCallObserver; pass it to the upstream clients). */
  readonly upstreamCall = (call: UpstreamCall): void => {
    const upstream = UPSTREAM_NAME.test(call.upstream) ? call.upstream : 'other';
    this.upstreamCalls.inc({ upstream });
    this.upstreamLatency.observe({ upstream }, call.ms / 1000);
    if (call.error !== undefined) this.upstreamFailures.inc({ upstream, code: call.error });
  };

  /** Reports the look-ups and the size of a response cache. */
  watchResponseCache(cache: ResponseCache): void {
    this.caches.push(cache);
  }

  /** Reports an upstream's rate-limit bucket; `read` returns undefined while there is none (not configured). */
  watchRateLimit(upstream: string, read: () => RateLimitLevel | undefined): void {
    this.rateLimits.set(upstream, read);
  }

  /** Reports the age and state of the data sources, read at each scrape. */
  watchDataSources(read: () => readonly DataSourceState[]): void {
    this.dataSources = read;
  }

  /**
   * The metrics in the Prometheus text format, with the process metrics of prom-client (started
   * now if they were not).
   */
  async exposition(): Promise<string> {
    this.startProcessMetrics();
    return this.registry.metrics();
  }

  /**
   * prom-client's process metrics: CPU, memory, heap spaces, GC, handles, and the event-loop delay
   * (perf_hooks monitorEventLoopDelay: `nodejs_eventloop_lag_p99_seconds` and the others, over the
   * time since the previous scrape). Once per registry.
   */
  private startProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The `GET /metrics` handler. */
  handler(): RequestHandler {
    const route = this.route('metrics');
    return (_req: Request, res: Response, next: NextFunction) => {
      route.mark(res);
      this.exposition().then((text) => {
        res.setHeader('Content-Type', this.contentType);
        res.send(text);
      }, next);
    };
  }
}

/** The `finish` listener of every response: one shared function, `this` is the response. */
function answered(this: ServerResponse & Measured): void {
  const start = this[START];
  const route = this[ROUTE];
  if (start !== undefined && route !== undefined) route.record(this.statusCode, (performance.now() - start) / 1000);
}
