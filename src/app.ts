import type { IncomingMessage, ServerResponse } from 'node:http';
import express, {
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import type { Config } from './config.ts';
import type { DirectoryEndpoint } from './directory/endpoint.ts';
import { type HtmlView, sendHomePage } from './html/respond.ts';
import { baseUrlResolver } from './http/base-url.ts';
import { BodyBudget, fhirBody } from './http/body.ts';
import { CompressedAnswers } from './http/compression.ts';
import { answerNotModified, entityTag, representationParts } from './http/conditional.ts';
import { contentNegotiation, queryString, sendResource } from './http/content.ts';
import { cors, RouteMethods } from './http/cors.ts';
import { errorHandler, unknownRoute } from './http/errors.ts';
import { FastLane, type FastLaneRoute, handedOverError } from './http/fast-lane.ts';
import { LoadShedder, loadShedding } from './http/load-shedding.ts';
import { createLogger, type Logger } from './http/log.ts';
import { type DataSourceState, type RouteMetrics, ServiceMetrics } from './http/metrics.ts';
import type { OffloadPool } from './http/offload.ts';
import {
  type OperationAnswerer,
  type OperationRequestHandler,
  type OperationTarget,
  operationAnswerer,
  operationHandler,
  varyOnLanguage,
} from './http/operation-handler.ts';
import { makeIssue, notFound, outcome } from './http/outcome.ts';
import { pathOf, requestId, requestLog } from './http/request-log.ts';
import { ResponseCache } from './http/response-cache.ts';
import { inSequence, isLenient, methodNotAllowed, queryOnce } from './http/routing.ts';
import { securityHeaders } from './http/security-headers.ts';
import { atBase, metadataInteraction } from './operations/metadata.ts';
import { openApiDocument, openApiHandler } from './operations/openapi.ts';
import { operations as registry } from './operations/registry.ts';
import { readResource, searchResources } from './operations/resource-read-search.ts';
import type { OperationDef } from './operations/types.ts';
import { type OutOfDate, outOfDateCodeSystems } from './terminology/currency.ts';
import { type TerminologyCounts, terminologyCounts } from './terminology/loader.ts';
import { type TerminologyStore, TX_RESOURCE_TYPES } from './terminology/store.ts';
import { today } from './terminology/validity.ts';
import { type DataSourceNote, fixedSource, type TerminologySource } from './terminology-sources.ts';

export interface AppDeps {
  /** worker threads for heavy operations (main.ts starts it; tests may); without it all runs inline */
  offload?: OffloadPool;
  /**
   * The terminology served, whose data may be swapped while serving (live data; main.ts:
   * openServedTerminology). Every request takes the current data once.
   */
  terminology?: TerminologySource;
  /** a fixed store to serve instead (tests); one of `terminology` and `store` is required */
  store?: TerminologyStore;
  /** the operations to route and advertise; defaults to the registry (tests add their own) */
  operations?: readonly OperationDef[];
  /** defaults to a JSON-lines logger on stdout at config.logLevel */
  logger?: Logger;
  /** when the server started (CapabilityStatement.date); defaults to now */
  startedAt?: Date;
  /** where the served data came from and how recent it is, shown by /readyz (default: the source's status) */
  dataSources?: Record<string, unknown>;
  /** directory resource types (Practitioner, ...) with their routers and capability entries */
  directory?: readonly DirectoryEndpoint[];
  /** the state of the directory sources (loaded, stale, unconfigured ...), shown by /readyz */
  directoryStatus?: () => Record<string, unknown>;
  /**
   * the state shared with the other replicas (Redis: up or down), shown by /readyz; a replica
   * without Redis stays ready (it serves alone), so this never makes /readyz fail
   */
  sharedStatus?: () => Record<string, unknown>;
  /**
   * the metrics served at /metrics (main.ts makes them first, to hand their upstream observer to the
   * upstream clients); default: metrics of this app's own
   */
  metrics?: ServiceMetrics;
  /**
   * The data still being loaded after listening (large terminology files, large-codesystems.ts):
   * while any is indexing or failed, /readyz answers 503 naming them.
   */
  readiness?: () => { indexing: readonly string[]; failed: readonly { name: string; reason: string }[] };
  /**
   * Whether plain GET operation calls take the fast lane (fast-lane.ts); default true. Off, every
   * request goes through Express: the tests compare the two.
   */
  fastLane?: boolean;
}

/** Request bodies larger than this go to a worker thread unparsed when there are workers (offload.ts). */
export const OFFLOAD_BODY_BYTES = 256 * 1024;

/** Where the FHIR endpoint is mounted. */
export const FHIR_MOUNT = '/fhir';

/**
 * The paths outside the FHIR endpoint, each answering GET only: the probes, the metrics and the API
 * description. They are mounted before load shedding, so they are never shed.
 */
export const SERVICE_PATHS = ['/healthz', '/readyz', '/metrics', '/openapi.json'] as const;

/**
 * Builds the Express app: FHIR R4 under `/fhir`, plus `/healthz`, `/readyz`, `/metrics` and
 * `/openapi.json`. It does not listen (main.ts and the tests do), so one process can build several apps.
 */
export function createApp(config: Config, deps: AppDeps): Express {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const operations = deps.operations ?? registry;
  const source = deps.terminology ?? (deps.store ? fixedSource(deps.store) : undefined);
  if (!source) throw new Error('createApp needs deps.terminology or deps.store');
  const startedAt = deps.startedAt ?? new Date();
  // the counts change only when the data do
  let counted:
    | {
        generation: number;
        day: string;
        counts: TerminologyCounts;
        size: number;
        outOfDate: Omit<OutOfDate, 'day'>[];
      }
    | undefined;
  const countsNow = () => {
    const { store, generation } = source.current();
    const day = today();
    if (counted?.generation !== generation || counted.day !== day) {
      counted = {
        generation,
        day,
        counts: terminologyCounts(store),
        size: store.size,
        // code systems whose newest data ended before today (terminology/currency.ts)
        outOfDate: outOfDateCodeSystems(store, day).map(({ day: _day, ...o }) => o),
      };
    }
    return counted;
  };

  const metrics = deps.metrics ?? new ServiceMetrics();
  metrics.watchDataSources(() => dataSourceStates(source.current().dataSources, deps.directoryStatus?.(), Date.now()));

  const app = express();
  app.disable('x-powered-by');
  // what a page of the HTML view needs besides the answer, asked for only when a page is made
  // (html/respond.ts): no work per request for the FHIR formats
  // compressed forms of large answers with a strong ETag (compression.ts)
  const compressedAnswers = new CompressedAnswers(config.compressedCacheBytes);
  app.locals.compressedAnswers = compressedAnswers;
  metrics.watchCompressedAnswers(compressedAnswers);
  app.locals.htmlView = { baseUrlOf: baseUrlResolver(config), store: () => source.current().store } satisfies HtmlView;
  // answers are computed per request; hashing every body for an ETag costs more than it saves
  app.set('etag', false);
  // FHIR paths are case-sensitive: /codesystem is not /CodeSystem
  app.set('case sensitive routing', true);
  app.set('query parser', 'simple');

  const directory = deps.directory ?? [];
  app.use(
    inSequence(
      // first, so that the time counted is all the app spends on the request
      metrics.measure(),
      securityHeaders(),
      queryOnce(),
      requestId(),
      requestLog(logger),
      cors(routeMethods(operations, directory).methodsOf),
    ),
  );

  // the service paths, found by one look-up (like the operations: app.get would have Express match
  // each of them against every request)
  const servicePaths = new Map<string, RequestHandler>();
  const healthz = metrics.route('healthz');
  servicePaths.set('/healthz', (_req, res) => {
    healthz.mark(res);
    res.json({ status: 'ok' });
  });
  const readyz = metrics.route('readyz');
  servicePaths.set('/readyz', (req, res) => {
    readyz.mark(res);
    // not ready until every large terminology file is indexed: a balancer sends nothing here before
    const pending = deps.readiness?.();
    if (pending && (pending.indexing.length > 0 || pending.failed.length > 0)) {
      res.setHeader('Retry-After', '5');
      const issues = [
        ...pending.indexing.map((name) =>
          makeIssue({ code: 'transient', text: `Not ready: terminology file ${name} is being loaded and indexed` }),
        ),
        ...pending.failed.map((f) =>
          makeIssue({ code: 'exception', text: `Not ready: terminology file ${f.name} cannot be loaded: ${f.reason}` }),
        ),
      ];
      sendResource(req, res, outcome(issues), 503);
      return;
    }
    // serving stale data after a failed refresh is still ready: dataSources says how stale
    const { counts, size, outOfDate } = countsNow();
    const dataSources = deps.dataSources ?? source.status?.();
    res.json({
      status: 'ready',
      startedAt: startedAt.toISOString(),
      ...counts,
      resources: size,
      ...(outOfDate.length > 0 ? { outOfDate } : {}),
      ...(dataSources ? { dataSources } : {}),
      ...(deps.directoryStatus ? { directory: deps.directoryStatus() } : {}),
      ...(deps.sharedStatus ? { shared: deps.sharedStatus() } : {}),
    });
  });

  servicePaths.set('/metrics', metrics.handler());
  // built once, from the operations and resource types the routes below are built from
  const openApi = openApiDocument({
    publicBaseUrl: config.publicBaseUrl,
    fhirMount: FHIR_MOUNT,
    servicePaths: SERVICE_PATHS,
    operationRoutes: operationRoutes(operations),
    directory: directory.map((d) => d.capability()),
  });
  servicePaths.set('/openapi.json', openApiHandler(openApi, metrics.route('openapi')));
  app.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const path = req.path.length > 1 && req.path.endsWith('/') ? req.path.slice(0, -1) : req.path;
    const handler = servicePaths.get(path);
    if (handler === undefined) return next();
    try {
      const returned: unknown = handler(req, res, next);
      if (returned instanceof Promise) returned.catch(next);
    } catch (err) {
      next(err);
    }
  });

  // after the service paths (never shed), before the FHIR routes
  const shedder = new LoadShedder(config.loadShedLagMs);
  app.use(loadShedding(shedder));
  const offload = deps.offload ? { offload: deps.offload } : {};
  const endpoints = operationEndpoints(config, { source, operations, metrics, ...offload });
  // the bytes of all request bodies held at once, whether Express (fhirBody) or the fast lane reads them
  const bodyBudget = new BodyBudget(config.maxBodyBytesTotal);
  app.use(
    FHIR_MOUNT,
    fhirRouter(config, { source, operations, endpoints, startedAt, directory, metrics, bodyBudget, ...offload }),
  );
  app.use(unknownRoute());
  app.use(errorHandler(logger));
  if (deps.fastLane !== false) {
    const lanes = new Map<string, FastLaneRoute>();
    for (const e of endpoints) {
      if (!e.target.instance) lanes.set(`${FHIR_MOUNT}${e.path}`, { ...e, get: e.def.get === true });
    }
    const bodies = {
      // a body that fhirBody keeps unparsed for a worker (large) is left to it
      limit: deps.offload ? Math.min(config.maxBodyBytes, OFFLOAD_BODY_BYTES) : config.maxBodyBytes,
      maxBodyBytes: config.maxBodyBytes,
      budget: bodyBudget,
    };
    const lane = new FastLane({ routes: lanes, bodies, metrics, logger, shedder });
    app.locals.fastLane = lane;
    // the lane comes before Express's own handling of a request (app.handle: prototypes, router)
    const expressApp = app as Express & { handle: ExpressHandle };
    const expressHandle = expressApp.handle.bind(app);
    const viaExpress = (req: IncomingMessage, res: ServerResponse) => expressHandle(req, res);
    expressApp.handle = (req, res, next) => {
      if (!lane.take(req, res, viaExpress)) expressHandle(req, res, next);
    };
  }
  return app;
}

/** Express's entry for a request (`app.handle`, which the app function calls; not in its types). */
type ExpressHandle = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/** An operation at one path: its answers (shared by the Express route and the fast lane) and metrics. */
interface OperationEndpoint extends OperationRoute {
  answer: OperationAnswerer;
  metrics: RouteMetrics;
}

/** The operations at every path they are invoked at, each with its answerer and its route's metrics. */
function operationEndpoints(
  config: Config,
  deps: {
    source: TerminologySource;
    operations: readonly OperationDef[];
    metrics: ServiceMetrics;
    offload?: OffloadPool;
  },
): OperationEndpoint[] {
  const cache =
    config.responseCacheEntries > 0
      ? new ResponseCache(config.responseCacheEntries, config.responseCacheBytes, config.responseCacheMaxEntryBytes)
      : undefined;
  if (cache) deps.metrics.watchResponseCache(cache);
  return operationRoutes(deps.operations).map((r) => ({
    ...r,
    // one route for the type and the instance level: the label set stays small
    metrics: deps.metrics.route(`$${r.def.code}`, r.target.resourceType ?? ''),
    answer: operationAnswerer(r.def, deps.source, r.target, r.def.get ? cache : undefined, {
      limits: {
        inlineMs: config.operationInlineMs,
        timeLimitMs: config.operationTimeLimitMs,
        workLimit: config.operationWorkLimit,
      },
      ...(deps.offload ? { pool: deps.offload } : {}),
    }),
  }));
}

interface RouterDeps {
  offload?: OffloadPool;
  endpoints: readonly OperationEndpoint[];
  source: TerminologySource;
  operations: readonly OperationDef[];
  startedAt: Date;
  directory: readonly DirectoryEndpoint[];
  metrics: ServiceMetrics;
  bodyBudget: BodyBudget;
}

function fhirRouter(config: Config, deps: RouterDeps): Router {
  const { source, operations, metrics } = deps;
  const baseUrlOf = baseUrlResolver(config);
  const router = express.Router({ caseSensitive: true });
  router.use(contentNegotiation());
  // the HTML view (a browser): what its pages need besides the answer; nothing for FHIR formats

  const metadata = metadataInteraction({
    baseUrl: config.publicBaseUrl,
    operations,
    terminology: () => source.current(),
    startedAt: deps.startedAt,
    directory: () => deps.directory.map((d) => d.capability()),
  });
  const metadataRoute = metrics.route('metadata');
  router
    .route('/metadata')
    .all((_req, res, next) => {
      metadataRoute.mark(res);
      next();
    })
    .get((req, res) => {
      const base = baseUrlOf(req);
      const statement = atBase(metadata(queryString(req, 'mode')), base);
      // the statements change with the data (TerminologyCapabilities) and from one day to the next
      const { generation } = source.current();
      const tag = entityTag([
        'metadata',
        deps.startedAt.getTime(),
        generation,
        today(),
        ...representationParts(req, base),
      ]);
      if (answerNotModified(req, res, tag)) return;
      sendResource(req, res, statement);
    })
    .all(methodNotAllowed(['GET']));

  // Operation routes come first, so that `/CodeSystem/$lookup` is not read as the id `$lookup`.
  // with worker threads, a large body is parsed in the worker that runs the operation, not here
  const body = fhirBody(config.maxBodyBytes, deps.bodyBudget, deps.offload ? { rawAbove: OFFLOAD_BODY_BYTES } : {});
  const routes = deps.endpoints.map((e) => ({ ...e, handle: operationHandler(e.answer, e.target) }));
  router.use(exactOperationPaths(routes, body));
  // the home page of the HTML view (after the operations: no operation request passes this route)
  router.get('/', (req, res, next) => {
    if (res.locals.fhirFormat !== 'html') return next();
    sendHomePage(req, res, source.current().store);
  });
  for (const { path, def, handle, metrics: counted } of routes) {
    const route = router.route(path);
    route.all((_req, res, next) => {
      counted.mark(res);
      next();
    });
    if (def.get) route.get(handle);
    route.post(body, handle);
    route.all(methodNotAllowed(def.get ? ['GET', 'POST'] : ['POST']));
  }

  for (const type of TX_RESOURCE_TYPES) {
    const searched = metrics.route('search', type);
    const read = metrics.route('read', type);
    router
      .route(`/${type}`)
      .all((_req, res, next) => {
        searched.mark(res);
        next();
      })
      .get((req, res) => {
        sendResource(
          req,
          res,
          searchResources(source.current().store, type, req.query, baseUrlOf(req), { lenient: isLenient(req) }),
        );
      })
      .all(methodNotAllowed(['GET']));
    router
      .route(`/${type}/:id`)
      .get((req, res, next) => {
        if (isOperationName(req.params.id)) return next('route');
        read.mark(res);
        const { store, generation } = source.current();
        // a page of the HTML view pages the codes with `page`, which is no FHIR read parameter
        const query = res.locals.fhirFormat === 'html' ? withoutPage(req.query) : req.query;
        const resource = readResource(store, type, req.params.id, query, { lenient: isLenient(req) });
        const tag = entityTag(['read', generation, ...representationParts(req, baseUrlOf(req))]);
        if (answerNotModified(req, res, tag)) return;
        sendResource(req, res, resource);
      })
      .all((req, res, next) => {
        if (isOperationName(req.params.id)) return next('route');
        read.mark(res);
        methodNotAllowed(['GET'])(req, res, next);
      });
  }

  for (const d of deps.directory) router.use(`/${d.type}`, directoryInteraction(metrics, d.type), d.router);

  router.use(unsupportedFhirPath([...TX_RESOURCE_TYPES, ...deps.directory.map((d) => d.type)]));
  return router;
}

interface OperationRoute {
  path: string;
  def: OperationDef;
  target: OperationTarget;
}

/** The paths each operation is invoked at, checked for clashes (two definitions on one path). */
/**
 * The operations called at a fixed path (`/CodeSystem/$lookup`, `/$versions`), found by one look-up
 * instead of Express matching the path against every route in turn, which is most of the routing
 * cost of a terminology call. It takes only the exact path with GET, HEAD or POST; anything else
 * (another method, a trailing slash, an instance-level path) goes on to the routes below, which hold
 * every operation too and answer as before.
 */
function exactOperationPaths(
  routes: (OperationRoute & { handle: OperationRequestHandler; metrics: RouteMetrics })[],
  body: express.RequestHandler,
): express.RequestHandler {
  const byPath = new Map<string, OperationRoute & { handle: OperationRequestHandler; metrics: RouteMetrics }>();
  for (const r of routes) if (!r.target.instance) byPath.set(r.path, r);
  return (req, res, next) => {
    const route = byPath.get(req.path);
    if (!route) return next();
    // the fast lane ran this request's operation, which failed: render its error (fast-lane.ts)
    const handed = handedOverError(req);
    if (handed) {
      route.metrics.mark(res);
      // as the Express edge: the operation's handler varies on the language, fhirBody's errors come before it
      if (handed.stage === 'operation') varyOnLanguage(res);
      next(handed.error);
    } else if (req.method === 'POST') {
      route.metrics.mark(res);
      throughMiddleware(body, req, res)
        .then(() => route.handle(req, res))
        .catch(next);
    } else if ((req.method === 'GET' || req.method === 'HEAD') && route.def.get) {
      route.metrics.mark(res);
      route.handle(req, res).catch(next);
    } else {
      next();
    }
  };
}

/** Runs one middleware: resolves when it passes the request on, rejects with what it throws or passes as an error. */
function throughMiddleware(mw: express.RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      Promise.resolve(mw(req, res, (err?: unknown) => (err ? reject(err) : resolve()))).catch(reject);
    } catch (err) {
      reject(err);
    }
  });
}

export function operationRoutes(operations: readonly OperationDef[]): OperationRoute[] {
  const routes: OperationRoute[] = [];
  const seen = new Map<string, string>();
  const add = (path: string, def: OperationDef, target: OperationTarget) => {
    const earlier = seen.get(path);
    if (earlier !== undefined)
      throw new Error(`Operation route ${path} is defined twice (${earlier} and ${def.definition})`);
    seen.set(path, def.definition);
    routes.push({ path, def, target });
  };
  for (const def of operations) {
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(def.code)) throw new Error(`Invalid operation code '${def.code}'`);
    if (def.system) add(`/$${def.code}`, def, { instance: false });
    for (const type of def.resourceTypes) {
      if (def.type) add(`/${type}/$${def.code}`, def, { resourceType: type, instance: false });
      if (def.instance) add(`/${type}/:id/$${def.code}`, def, { resourceType: type, instance: true });
    }
  }
  return routes;
}

/**
 * The methods each path answers, for OPTIONS and CORS preflights (http/cors.ts): built from the
 * same operation definitions and resource types as the routes below, so they cannot disagree.
 */
export function routeMethods(
  operations: readonly OperationDef[],
  directory: readonly DirectoryEndpoint[],
): RouteMethods {
  const table = new RouteMethods();
  for (const path of SERVICE_PATHS) table.add(path, ['GET']);
  table.add(`${FHIR_MOUNT}/metadata`, ['GET']);
  for (const { path, def } of operationRoutes(operations))
    table.add(`${FHIR_MOUNT}${path}`, def.get ? ['GET', 'POST'] : ['POST']);
  for (const type of TX_RESOURCE_TYPES) {
    table.add(`${FHIR_MOUNT}/${type}`, ['GET']).add(`${FHIR_MOUNT}/${type}/:id`, ['GET']);
  }
  // the directory types are read and searched only (directory-routes.ts, practitioner-routes.ts)
  for (const d of directory) table.add(`${FHIR_MOUNT}/${d.type}/*`, ['GET']);
  return table;
}

function withoutPage(query: Request['query']): Request['query'] {
  const { page: _page, ...rest } = query as Record<string, unknown>;
  return rest as Request['query'];
}

function isOperationName(segment: string | undefined): boolean {
  return segment?.startsWith('$') === true;
}

/** The end of the FHIR router: an unknown operation, an unsupported resource type, or an unknown path. */
function unsupportedFhirPath(supported: readonly string[]) {
  return (req: Request, _res: Response, _next: NextFunction): void => {
    const segments = req.path.split('/').filter((s) => s !== '');
    const short = (s: string) => (s.length > 64 ? `${s.slice(0, 64)}...` : s);
    const op = segments.find(isOperationName);
    const [type] = segments;
    const known = (TX_RESOURCE_TYPES as readonly string[]).includes(type ?? '');
    if (op !== undefined) {
      const where =
        segments.length === 1 ? 'at system level' : known ? `on ${type}${segments.length > 2 ? ' instances' : ''}` : '';
      if (known || segments.length === 1) throw notFound(`Operation ${short(op)} is not supported ${where}`);
    }
    if (type !== undefined && !known && /^[A-Z][A-Za-z]{0,63}$/.test(type)) {
      throw notFound(`Resource type ${type} is not supported by this server (supported: ${supported.join(', ')})`);
    }
    throw notFound(`Unknown path ${req.method} ${pathOf(req)}`);
  };
}

/**
 * Marks a request to a directory type (`/fhir/Practitioner/...`) with its interaction, read from the
 * shape of the path below the type, as the directory routers route it: none is a search, one
 * segment a read, `{id}/_history/{vid}` a vread; anything else is counted as `other`.
 */
function directoryInteraction(metrics: ServiceMetrics, type: string): express.RequestHandler {
  const search = metrics.route('search', type);
  const read = metrics.route('read', type);
  const vread = metrics.route('vread', type);
  return (req, res, next) => {
    const path = req.path;
    let segments = 0;
    for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47 && i + 1 < path.length) segments++;
    if (segments === 0) search.mark(res);
    else if (segments === 1) read.mark(res);
    else if (segments === 3 && path.includes('/_history/')) vread.mark(res);
    next();
  };
}

/** The states a directory source reports (directory-refresh.ts RefreshStatus, unconfigured sources). */
const DIRECTORY_STATES = new Set(['loading', 'ready', 'stale', 'failed', 'unconfigured']);

/**
 * The data sources for the age and state metrics: the Helserefusjon data from the terminology's notes
 * (an age when they were fetched: live or snapshot), and every directory source whose status has a
 * state (an age when it has loaded data).
 */
export function dataSourceStates(
  notes: readonly DataSourceNote[],
  directory: Record<string, unknown> | undefined,
  now: number,
): DataSourceState[] {
  const age = (iso: unknown): number | undefined => {
    const at = typeof iso === 'string' ? Date.parse(iso) : Number.NaN;
    return Number.isNaN(at) ? undefined : Math.max(0, (now - at) / 1000);
  };
  const out: DataSourceState[] = [];
  for (const note of notes) {
    const ageSeconds = age(note.fetchedAt);
    out.push({ source: note.name, state: note.mode, ...(ageSeconds !== undefined ? { ageSeconds } : {}) });
  }
  for (const [source, status] of Object.entries(directory ?? {})) {
    if (typeof status !== 'object' || status === null) continue;
    const { state, loadedAt } = status as { state?: unknown; loadedAt?: unknown };
    if (typeof state !== 'string' || !DIRECTORY_STATES.has(state)) continue;
    const ageSeconds = age(loadedAt);
    out.push({ source, state, ...(ageSeconds !== undefined ? { ageSeconds } : {}) });
  }
  return out;
}
