import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import { type BodyBudget, laneBody, readJsonBody } from './body.ts';
import { COMPRESS_MIN_BYTES } from './compression.ts';
import { acceptedFormat, byteLengthOf, endWithBody, FHIR_JSON_CONTENT_TYPE, writeFhirBody } from './content.ts';
import { EXPOSED_HEADERS } from './cors.ts';
import type { LoadShedder } from './load-shedding.ts';
import { errorFields, type Logger } from './log.ts';
import type { RouteMetrics, ServiceMetrics } from './metrics.ts';
import {
  type OperationAnswer,
  type OperationAnswerer,
  type OperationCall,
  operationQuery,
} from './operation-handler.ts';
import { logsRequests, logWhenClosed, noteReadAt, pathOf, requestIdFrom } from './request-log.ts';
import { cacheControlAtWriteHead, cacheControlFor, SECURITY_HEADERS } from './security-headers.ts';

/**
 * The fast lane: the commonest terminology calls, a GET (or HEAD) of an operation at its fixed path
 * (`/fhir/CodeSystem/$validate-code?...`), or a POST of Parameters to it (as the FHIR validator
 * sends), answered in FHIR JSON, served without Express. Express's
 * own work on a request (its request and response prototypes, the router stepping through the
 * middlewares and routes) and the middlewares' header by header work cost more than the look-up of a
 * code itself, about half of the time of an uncached call.
 *
 * The lane runs the same operation code (operationAnswerer, with the same response cache) and sends
 * the same answer, with the same headers, as the Express edge (app.ts) does: the security headers and
 * Cache-Control (security-headers.ts), X-Request-Id and the request line (request-log.ts), CORS
 * (cors.ts), Vary, compression (content.ts, compression.ts) and the route's metrics (metrics.ts).
 * It takes a request only when nothing else of the edge applies:
 * - the method is GET or HEAD and the path is exactly an operation's (no instance, no trailing slash);
 * - or the method is POST to such a path, with no body or an uncompressed FHIR JSON body of a declared
 *   length within the limits (body.ts laneBody): it is read and parsed as fhirBody would, and a
 *   failure to read it (the budget of all bodies spent, bad JSON) is handed over like an operation's;
 * - the client takes FHIR JSON (`Accept`) and names no `_format` (XML and the HTML view go to Express);
 * - the server is not shedding load (load-shedding.ts).
 * Everything else goes to Express untouched. A request whose operation fails (a 4xx
 * OperationOutcome, too-costly, a bug) is handed over to Express with its error, before anything is
 * written, so that errors are rendered in one place (errors.ts); the operation is not run again.
 * test/http/fast-lane.test.ts sends the same requests through both edges and compares the answers.
 */

/** One operation path of the lane. */
export interface FastLaneRoute {
  answer: OperationAnswerer;
  metrics: RouteMetrics;
  /** whether the operation answers GET (else only POST) */
  get: boolean;
}

/** How the lane reads a POST body: as the Express edge's fhirBody, with the same budget. */
export interface FastLaneBodies {
  /** the largest body the lane reads (the body limit, or where fhirBody keeps a body unparsed for a worker) */
  limit: number;
  /** the body limit of the service (MAX_BODY_BYTES) */
  maxBodyBytes: number;
  /** the budget of all bodies held at once, shared with fhirBody */
  budget: BodyBudget;
}

export interface FastLaneDeps {
  /** the operations by full path (`/fhir/CodeSystem/$lookup`), at type or system level */
  routes: ReadonlyMap<string, FastLaneRoute>;
  bodies: FastLaneBodies;
  metrics: ServiceMetrics;
  logger: Logger;
  shedder: LoadShedder;
}

/** What the lane hands over to Express with a request whose body or operation failed (see handedOverError). */
const HANDED_OVER = Symbol('fast lane: the error of a handed-over request');

/** An error the lane met: reading the request's body (as fhirBody would have), or in the operation. */
export interface HandedOverError {
  error: unknown;
  /** where it arose: an error of the body comes before the operation's handler (no Vary: Accept-Language) */
  stage: 'body' | 'operation';
}

type HandedOver = IncomingMessage & { [HANDED_OVER]?: HandedOverError };

/**
 * The error the fast lane met answering this request, which Express is to render: the route that
 * would run the operation passes it to the error handler instead (app.ts). Undefined for any other
 * request.
 */
export function handedOverError(req: IncomingMessage): HandedOverError | undefined {
  return (req as HandedOver)[HANDED_OVER];
}

/** The headers every answer of the lane carries before its own (same names and order as the Express edge's). */
const FIXED_HEADERS = Object.entries(SECURITY_HEADERS);

/** Vary of an operation answer: its format (Accept) and its displays (Accept-Language); compression adds Accept-Encoding. */
const VARY = 'Accept, Accept-Language';
/** Vary of an answer large enough to be compressed for a client that asks (compression.ts varyOnEncoding). */
const VARY_LARGE = `${VARY}, Accept-Encoding`;
const FIXED_HEADER_LIST = FIXED_HEADERS.flat();

export class FastLane {
  private readonly deps: FastLaneDeps;
  private readonly logRequests: boolean;
  /** requests answered by the lane, and requests it took up and then handed over (the tests read them) */
  answered = 0;
  handedOver = 0;

  constructor(deps: FastLaneDeps) {
    this.deps = deps;
    this.logRequests = logsRequests(deps.logger);
  }

  /**
   * Takes the request if it is the lane's, and answers it (or hands it over to `express` when its
   * body cannot be read or its operation fails); returns false, having done nothing, for a request
   * that is not the lane's.
   */
  take(
    req: IncomingMessage,
    res: ServerResponse,
    express: (req: IncomingMessage, res: ServerResponse) => void,
  ): boolean {
    const start = performance.now();
    const method = req.method;
    const post = method === 'POST';
    if (!post && method !== 'GET' && method !== 'HEAD') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const route = this.deps.routes.get(path);
    if (route === undefined || !(post || route.get)) return false;
    if (acceptedFormat(req.headers.accept) !== 'json') return false;
    // Express's "simple" query parser is node:querystring: the same parameters either way
    const query = q < 0 ? {} : (parseQueryString(url.slice(q + 1)) as Record<string, unknown>);
    if (query._format !== undefined) return false;
    if (this.deps.shedder.overload() !== undefined) return false;
    const pretty = (Array.isArray(query._pretty) ? query._pretty[0] : query._pretty) === 'true';
    if (!post) {
      const call = { method: 'GET' as const, query: operationQuery(query), body: undefined };
      this.answer(req, res, route, call, pretty, start, express);
      return true;
    }
    // a POST's parameters are its body's (the query string has only _format and _pretty for it)
    const { bodies } = this.deps;
    const body = laneBody(req, bodies.limit);
    if (body === undefined) return false;
    if (body === 'none') {
      this.answer(req, res, route, { method: 'POST', query: {}, body: undefined }, pretty, start, express);
      return true;
    }
    readJsonBody(req, bodies.maxBodyBytes, bodies.budget).then(
      (parsed) => this.answer(req, res, route, { method: 'POST', query: {}, body: parsed }, pretty, start, express),
      (err: unknown) => this.handOver(req, res, { error: err, stage: 'body' }, start, express),
    );
    return true;
  }

  /**
   * Runs the operation (or takes its answer from the response cache, for a GET) and sends the
   * answer, or hands over its error.
   */
  private answer(
    req: IncomingMessage,
    res: ServerResponse,
    route: FastLaneRoute,
    call: Omit<OperationCall, 'acceptLanguage'>,
    pretty: boolean,
    start: number,
    express: (req: IncomingMessage, res: ServerResponse) => void,
  ): void {
    const headers = req.headers;
    const acceptLanguage = headers['accept-language'];
    let answered: OperationAnswer | Promise<OperationAnswer>;
    try {
      answered = route.answer({
        cacheable: call.method === 'GET',
        url: req.url ?? '',
        acceptLanguage,
        cacheControl: headers['cache-control'],
        pragma: single(headers.pragma),
        format: 'json',
        pretty,
        call: acceptLanguage !== undefined ? { ...call, acceptLanguage } : call,
      });
    } catch (err) {
      this.handOver(req, res, { error: err, stage: 'operation' }, start, express);
      return;
    }
    if (answered instanceof Promise) {
      answered.then(
        (a) => this.sendSafely(req, res, route, a, start),
        (err: unknown) => this.handOver(req, res, { error: err, stage: 'operation' }, start, express),
      );
    } else {
      this.sendSafely(req, res, route, answered, start);
    }
  }

  /** send, and a failure while sending (a bug: the answer is made) logged and the connection cut, as Express does. */
  private sendSafely(
    req: IncomingMessage,
    res: ServerResponse,
    route: FastLaneRoute,
    answer: OperationAnswer,
    start: number,
  ): void {
    try {
      this.send(req, res, route, answer, start);
    } catch (err) {
      this.deps.logger.error('error while sending an answer', { path: pathOf(req), ...errorFields(err) });
      res.destroy();
    }
  }

  private send(
    req: IncomingMessage,
    res: ServerResponse,
    route: FastLaneRoute,
    answer: OperationAnswer,
    start: number,
  ) {
    this.answered++;
    const id = requestIdFrom(single(req.headers['x-request-id']));
    this.deps.metrics.track(res, route.metrics, start);
    if (this.logRequests) logWhenClosed(this.deps.logger, req, res, start, () => id);
    const { body, status } = answer;
    const length = typeof body === 'string' ? body.length : body.byteLength;
    const origin = req.headers.origin !== undefined;
    if (length >= COMPRESS_MIN_BYTES && req.headers['accept-encoding'] !== undefined) {
      // perhaps compressed: written as the Express edge writes it, header by header (content.ts)
      for (const [name, value] of FIXED_HEADERS) res.setHeader(name, value);
      res.setHeader('X-Request-Id', id);
      res.setHeader('Access-Control-Allow-Origin', '*');
      if (origin) res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
      res.setHeader('Vary', VARY);
      cacheControlAtWriteHead(res);
      writeFhirBody(res, 'json', body, status);
      return;
    }
    // the same headers as writeFhirBody's for an answer sent as it is, written at once
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const headers = [
      ...FIXED_HEADER_LIST,
      'X-Request-Id',
      id,
      'Access-Control-Allow-Origin',
      '*',
      ...(origin ? ['Access-Control-Expose-Headers', EXPOSED_HEADERS] : []),
      'Vary',
      length >= COMPRESS_MIN_BYTES ? VARY_LARGE : VARY,
      'Content-Type',
      FHIR_JSON_CONTENT_TYPE,
      'Content-Length',
      String(byteLengthOf(body)),
      'Cache-Control',
      cacheControlFor(req.method ?? 'GET', status, q < 0 ? url : url.slice(0, q)),
    ];
    res.writeHead(status, headers);
    endWithBody(res, body);
  }

  private handOver(
    req: IncomingMessage,
    res: ServerResponse,
    handed: HandedOverError,
    start: number,
    express: (req: IncomingMessage, res: ServerResponse) => void,
  ): void {
    this.handedOver++;
    (req as HandedOver)[HANDED_OVER] = handed;
    noteReadAt(res, start);
    express(req, res);
  }
}

/** A header Node may give as a list (an unknown header sent twice is joined, a few are not). */
function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
