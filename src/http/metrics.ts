import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { UpstreamCall } from '../upstream/http.ts';
import type { CompressedAnswers } from './compression.ts';
import { readAt } from './request-log.ts';
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
 * A request costs little and allocates nothing: each route's `RouteMetrics` is made when the routes
 * are built and holds plain counts (answers by status, latency buckets), so a request costs two clock
 * reads, one `finish` listener (a shared function, no closure) and a few increments; nothing waits.
 * (prom-client's own children build a label hash and an object or two on every update, about half a
 * microsecond and some garbage per request.) The counts are handed to prom-client, or written out
 * (the latency histogram, whose buckets prom-client cannot take as counted), when /metrics is
 * scraped, and so are the response cache, the HPR token bucket and the age of the data.
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

const REQUESTS_NAME = `${PREFIX}http_requests_total`;
const LATENCY_NAME = `${PREFIX}http_request_duration_seconds`;
const LATENCY_HELP = 'Time from reading a request to sending the end of its answer, by route.';

/**
 * The metrics of one route: `operation` is the interaction or operation (`read`, `search`,
 * `$validate-code`, `metadata`, `healthz` ...), `resource` the resource type ('' for none).
 */
export class RouteMetrics {
  readonly operation: string;
  readonly resource: string;
  /** the statuses answered and how many answers had each (parallel lists: a route answers a handful) */
  readonly statuses: number[] = [];
  readonly answers: number[] = [];
  /** answers by latency: one count per bound of REQUEST_BUCKETS, then the answers above the last */
  readonly buckets = new Float64Array(REQUEST_BUCKETS.length + 1);
  /** the seconds of every answer together, and their number */
  sum = 0;
  count = 0;

  constructor(labels: RouteLabels) {
    this.operation = labels.operation;
    this.resource = labels.resource;
  }

  /** Counts the request `res` answers under this route (the last route to mark it wins). */
  mark(res: Response): void {
    (res as Response & Measured)[ROUTE] = this;
  }

  /** Counts one answered request. */
  record(status: number, seconds: number): void {
    let i = this.statuses.indexOf(status);
    if (i < 0) {
      i = this.statuses.length;
      this.statuses.push(status);
      this.answers.push(0);
    }
    this.answers[i]++;
    let b = 0;
    while (b < REQUEST_BUCKETS.length && seconds > REQUEST_BUCKETS[b]) b++;
    this.buckets[b]++;
    this.sum += seconds;
    this.count++;
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

/** The Redis link as the metrics show it. */
export interface SharedStateLevel {
  up: boolean;
  outages: number;
  failures: number;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  /** requests no route claimed: unknown paths, CORS preflights, requests shed before routing */
  readonly unrouted: RouteMetrics;
  private readonly routes = new Map<string, RouteMetrics>();
  private readonly upstreamCalls: Counter<'upstream'>;
  private readonly upstreamFailures: Counter<'upstream' | 'code'>;
  private readonly upstreamLatency: Histogram<'upstream'>;
  private readonly caches: ResponseCache[] = [];
  private readonly compressed: CompressedAnswers[] = [];
  private readonly rateLimits = new Map<string, () => RateLimitLevel | undefined>();
  private dataSources?: () => readonly DataSourceState[];
  private sharedState?: () => SharedStateLevel;
  private processMetrics = false;

  /**
   * @param options.processMetrics start prom-client's process metrics (CPU, memory, GC, event-loop
   *   delay) now rather than at the first scrape (main.ts; an app built by a test never starts them
   *   unless scraped)
   */
  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const routes = this.routes;
    new Counter({
      name: REQUESTS_NAME,
      help: 'HTTP requests answered, by route (operation and resource type) and status code.',
      labelNames: ['operation', 'resource', 'code'],
      registers,
      collect() {
        // the counts live in the routes; a scrape copies them
        this.reset();
        for (const r of routes.values()) {
          for (let i = 0; i < r.statuses.length; i++) {
            this.inc({ operation: r.operation, resource: r.resource, code: statusLabel(r.statuses[i]) }, r.answers[i]);
          }
        }
      },
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
    const compressed = this.compressed;
    new Counter({
      name: `${PREFIX}compressed_cache_lookups_total`,
      help: 'Look-ups of the compressed form of a large answer with a strong ETag: hit or miss (COMPRESSED_CACHE_BYTES).',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        this.inc(
          { result: 'hit' },
          compressed.reduce((n, c) => n + c.lookups.hits, 0),
        );
        this.inc(
          { result: 'miss' },
          compressed.reduce((n, c) => n + c.lookups.misses, 0),
        );
      },
    });
    new Gauge({
      name: `${PREFIX}compressed_cache_bytes`,
      help: 'Bytes of the compressed answers kept (COMPRESSED_CACHE_BYTES is the bound).',
      registers,
      collect() {
        this.set(compressed.reduce((n, c) => n + c.bytes, 0));
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
    const shared = () => this.sharedState?.();
    new Gauge({
      name: `${PREFIX}redis_up`,
      help: 'Whether the state shared with the other replicas (Redis) can be used: 1 up, 0 down (serving alone). Absent without REDIS_URL.',
      registers,
      collect() {
        this.reset();
        const s = shared();
        if (s) this.set(s.up ? 1 : 0);
      },
    });
    new Counter({
      name: `${PREFIX}redis_outages_total`,
      help: 'Times this replica lost Redis and went on alone.',
      registers,
      collect() {
        this.reset();
        const s = shared();
        if (s) this.inc(s.outages);
      },
    });
    new Counter({
      name: `${PREFIX}redis_failures_total`,
      help: 'Redis commands that failed or timed out (each answered without Redis).',
      registers,
      collect() {
        this.reset();
        const s = shared();
        if (s) this.inc(s.failures);
      },
    });
    if (options.processMetrics) this.startProcessMetrics();
  }

  /** Reports the state of the Redis the replicas share (REDIS_URL), read at each scrape. */
  watchSharedState(read: () => SharedStateLevel): void {
    this.sharedState = read;
  }

  /** The metrics of a route, made once per operation and resource type. */
  route(operation: string, resource = ''): RouteMetrics {
    const key = `${operation} ${resource}`;
    let route = this.routes.get(key);
    if (!route) {
      route = new RouteMetrics({ operation, resource });
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
      // a request the fast lane handed over (fast-lane.ts) was read when the lane took it up
      measured[START] = readAt(res);
      measured[ROUTE] = unrouted;
      res.on('finish', answered);
      next();
    };
  }

  /**
   * `measure()` and the route's mark for a request answered without Express (the fast lane): counted
   * under `route` when its answer has been sent, from `start`.
   */
  track(res: ServerResponse, route: RouteMetrics, start: number): void {
    const measured = res as ServerResponse & Measured;
    measured[START] = start;
    measured[ROUTE] = route;
    res.on('finish', answered);
  }

  /** Counts an upstream call (UpstreamCallObserver; pass it to the upstream clients). */
  readonly upstreamCall = (call: UpstreamCall): void => {
    const upstream = UPSTREAM_NAME.test(call.upstream) ? call.upstream : 'other';
    this.upstreamCalls.inc({ upstream });
    this.upstreamLatency.observe({ upstream }, call.ms / 1000);
    if (call.error !== undefined) this.upstreamFailures.inc({ upstream, code: call.error });
  };

  /** Reports the look-ups and the size of the kept compressed answers (compression.ts). */
  watchCompressedAnswers(store: CompressedAnswers): void {
    this.compressed.push(store);
  }

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
    const text = await this.registry.metrics();
    return `${text}\n${latencyHistogram([...this.routes.values()])}`;
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

/** Node accepts statuses 100-999; the app sends the ones HTTP defines. */
function statusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
}

/**
 * The request latency histogram in the text format (https://prometheus.io/docs/instrumenting/exposition_formats/):
 * cumulative `_bucket` counts by `le`, then `_sum` and `_count`, for each route that has answered.
 */
function latencyHistogram(routes: readonly RouteMetrics[]): string {
  const lines = [`# HELP ${LATENCY_NAME} ${LATENCY_HELP}`, `# TYPE ${LATENCY_NAME} histogram`];
  for (const r of routes) {
    if (r.count === 0) continue;
    const labels = `operation="${escapeLabel(r.operation)}",resource="${escapeLabel(r.resource)}"`;
    let cumulative = 0;
    REQUEST_BUCKETS.forEach((le, i) => {
      cumulative += r.buckets[i];
      lines.push(`${LATENCY_NAME}_bucket{${labels},le="${le}"} ${cumulative}`);
    });
    lines.push(`${LATENCY_NAME}_bucket{${labels},le="+Inf"} ${r.count}`);
    lines.push(`${LATENCY_NAME}_sum{${labels}} ${r.sum}`);
    lines.push(`${LATENCY_NAME}_count{${labels}} ${r.count}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A label value as the text format writes it: backslash, double quote and line feed escaped. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The `finish` listener of every response: one shared function, `this` is the response. */
function answered(this: ServerResponse & Measured): void {
  const start = this[START];
  const route = this[ROUTE];
  if (start !== undefined && route !== undefined) route.record(this.statusCode, (performance.now() - start) / 1000);
}
