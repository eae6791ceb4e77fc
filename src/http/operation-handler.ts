import type { Parameters } from '@medplum/fhirtypes';
import type { Request, Response } from 'express';
import type { OperationDef, OperationResult } from '../operations/types.ts';
import { BudgetExceededError, WorkBudget, withBudget } from '../terminology/budget.ts';
import { TxContext } from '../terminology/context.ts';
import {
  isTxResource,
  type TerminologyStore,
  TX_RESOURCE_TYPES,
  type TxResource,
  type TxResourceType,
} from '../terminology/store.ts';
import { today } from '../terminology/validity.ts';
import type { TerminologySource } from '../terminology-sources.ts';
import { parseBody, type RawBodyRequest } from './body.ts';
import { type FhirFormat, sendSerialised, serialiseAs, wantsPretty } from './content.ts';
import type { OffloadPool } from './offload.ts';
import { badRequest, makeIssue, notFound, OperationOutcomeError } from './outcome.ts';
import { InputParams, type ParamDef } from './params.ts';
import { bypassesCache, type ResponseCache } from './response-cache.ts';

/** Where an operation was invoked (FHIR R4 operations.html#executing). */
export interface OperationTarget {
  /** the resource type in the path, absent for a system-level call */
  resourceType?: TxResourceType;
  /** whether the path names an instance (`/CodeSystem/{id}/$lookup`) */
  instance: boolean;
}

/** Query parameters that steer the HTTP exchange, not the operation. */
const HTTP_PARAMS = new Set(['_format', '_pretty']);

/** One operation call, as the HTTP edge received it: what both the event loop and a worker can run. */
export interface OperationCall {
  method: 'GET' | 'POST';
  /** the query parameters of a GET (without _format/_pretty) */
  query: Record<string, unknown>;
  /** the parsed JSON body of a POST */
  body: unknown;
  /** a large POST body, not yet parsed (it is parsed where the operation runs: a worker) */
  rawBody?: Uint8Array;
  /** whether `rawBody` is FHIR XML (else JSON) */
  rawBodyXml?: boolean;
  /** the id in the path of an instance-level call */
  instanceId?: string;
  acceptLanguage?: string;
}

/**
 * Runs one operation on `store`: GET query or POST Parameters -> InputParams, `tx-resource`
 * parameters -> a request-scoped TxContext overlay (never persisted), the addressed instance ->
 * `instance`; then the handler, all of it under `budget` (budget.ts). Pure of HTTP, so that a
 * worker thread (offload.ts) runs the same steps as the event loop.
 */
export async function runOperation(
  def: OperationDef,
  target: OperationTarget,
  call: OperationCall,
  store: TerminologyStore,
  budget: WorkBudget,
): Promise<OperationResult> {
  return withBudget(budget, () => {
    const defs = edgeParameters(def);
    if (call.rawBody)
      call = { ...call, body: parseBody(call.rawBody, call.rawBodyXml ? 'xml' : 'json'), rawBody: undefined };
    const params =
      call.method === 'GET'
        ? InputParams.fromQuery(call.query, defs)
        : InputParams.fromParameters(parametersBody(call.body, def.code), defs);
    const overlay = txResources(params);
    let instance: TxResource | undefined;
    if (target.instance && target.resourceType) {
      const id = call.instanceId ?? '';
      instance = store.get(target.resourceType, id);
      if (!instance)
        throw notFound(
          `${target.resourceType}/${id.length > 64 ? `${id.slice(0, 64)}...` : id} is not known on this server`,
        );
    }
    return def.handler({
      params,
      ctx: new TxContext(store, overlay, { budget }),
      instance,
      ...(call.acceptLanguage !== undefined ? { acceptLanguage: call.acceptLanguage } : {}),
    });
  });
}

/** The handler of one operation: a promise that settles when the answer is sent (rejects with the error otherwise). */
export type OperationRequestHandler = (req: Request, res: Response) => Promise<void>;

/** How operations are given time: a short slice on the event loop, the rest in a worker (offload.ts). */
export interface OperationLimits {
  /** the time an operation may take on the event loop before it moves to a worker (ms) */
  inlineMs: number;
  /** the time an operation may take in all (ms); over it the answer is 422 too-costly */
  timeLimitMs: number;
  /** the units of work an operation may spend in all (budget.ts) */
  workLimit: number;
}

export const DEFAULT_OPERATION_LIMITS: OperationLimits = { inlineMs: 20, timeLimitMs: 20_000, workLimit: 20_000_000 };

/** What an operation request consists of once the edge has read it: all its answer depends on. */
export interface OperationRequest {
  /** GET or HEAD: the answer may come from, and goes to, the response cache */
  cacheable: boolean;
  /** the path and query string as the client sent them (the response cache's key) */
  url: string;
  acceptLanguage: string | undefined;
  /** the request's Cache-Control and Pragma: `no-cache` skips the stored answer (bypassesCache) */
  cacheControl: string | undefined;
  pragma: string | undefined;
  format: FhirFormat;
  pretty: boolean;
  call: OperationCall;
}

/** An operation's answer, serialised: what is sent and what the response cache keeps. */
export interface OperationAnswer {
  status: number;
  body: string | Uint8Array;
}

/** Answers one operation request: at once from the response cache, else when the operation has run. */
export type OperationAnswerer = (request: OperationRequest) => OperationAnswer | Promise<OperationAnswer>;

/**
 * The answers of one operation at one path, without HTTP: the response cache for GET, then the
 * operation on the event loop under a short budget; when that is not enough it runs again in a worker
 * thread (the pool, when there is one) under the full budget, so that one heavy request never stalls
 * the others. The data are taken from `source` once per request, so a swap of the data during the
 * request does not mix two generations. Over the full budget the answer is 422 `too-costly` (thrown).
 * Both edges use it: Express (operationHandler) and the fast lane (fast-lane.ts).
 */
export function operationAnswerer(
  def: OperationDef,
  source: TerminologySource,
  target: OperationTarget,
  cache?: ResponseCache,
  options: { limits?: OperationLimits; pool?: OffloadPool } = {},
): OperationAnswerer {
  const limits = options.limits ?? DEFAULT_OPERATION_LIMITS;
  const pool = options.pool;
  const run = async (
    request: OperationRequest,
    store: TerminologyStore,
    generation: number,
    key: string | undefined,
  ): Promise<OperationAnswer> => {
    const { call, format } = request;
    const started = performance.now();
    let answer: OperationAnswer;
    try {
      // a large body means heavy work: straight to a worker, without a try on the event loop
      if (call.rawBody && pool) throw new BudgetExceededError('offload', 'units');
      const inline = new WorkBudget({
        units: limits.workLimit,
        deadline: started + (pool ? limits.inlineMs : limits.timeLimitMs),
        onExceeded: pool ? 'offload' : 'too-costly',
      });
      const result = await runOperation(def, target, call, store, inline);
      answer = { status: result.status ?? 200, body: serialiseAs(format, result.resource, request.pretty) };
    } catch (err) {
      if (!(err instanceof BudgetExceededError)) throw err;
      if (err.kind !== 'offload' || !pool) throw tooCostly(err);
      // heavier than the event loop should carry: the same call in a worker, with the rest of the time
      answer = await pool.run({
        operation: def.code,
        resourceType: target.resourceType,
        instance: target.instance,
        call,
        generation,
        pretty: request.pretty,
        ...(format === 'xml' ? { format: 'xml' as const } : {}),
        deadlineMs: Math.max(1, limits.timeLimitMs - (performance.now() - started)),
        workLimit: limits.workLimit,
      });
    }
    if (key !== undefined && cache && answer.status < 500) cache.set(generation, key, answer);
    return answer;
  };
  return (request) => {
    const { store, generation } = source.current();
    // GET answers depend only on the URL, the language asked for, the format and the data (see
    // ResponseCache); the day is part of the key: without `date`, validity (e.g. a code retiring
    // at midnight) is judged for today
    const key =
      cache && request.cacheable
        ? `${today()}\u0000${request.acceptLanguage ?? ''}\u0000${request.url}${request.format === 'xml' ? '\u0000xml' : ''}`
        : undefined;
    if (key !== undefined && cache) {
      const bypass = bypassesCache(request.cacheControl, request.pragma);
      if (bypass) cache.bypassed();
      const hit = bypass ? undefined : cache.get(generation, key);
      if (hit) return hit;
    }
    return run(request, store, generation, key);
  };
}

/**
 * The Express edge of one operation: reads the request into an OperationRequest, and sends the
 * answer in the negotiated format (an error goes on to the error handler).
 */
export function operationHandler(answer: OperationAnswerer, target: OperationTarget): OperationRequestHandler {
  return async (req: Request, res: Response) => {
    // HEAD is a GET without the body (RFC 9110 §9.3.2): same parameters, same answer, same cache entry
    const isGet = req.method === 'GET' || req.method === 'HEAD';
    varyOnLanguage(res);
    const raw = (req as RawBodyRequest).rawBody;
    const acceptLanguage = req.get('accept-language');
    const answered = answer({
      cacheable: isGet,
      url: req.originalUrl,
      acceptLanguage,
      cacheControl: req.get('cache-control'),
      pragma: req.get('pragma'),
      format: res.locals.fhirFormat === 'xml' ? 'xml' : 'json',
      pretty: wantsPretty(req),
      call: {
        method: isGet ? 'GET' : 'POST',
        query: isGet ? operationQuery(req.query as Record<string, unknown>) : {},
        body: req.body,
        ...(raw ? { rawBody: ownBuffer(raw) } : {}),
        ...(raw && (req as RawBodyRequest).rawBodyXml ? { rawBodyXml: true } : {}),
        ...(target.instance ? { instanceId: String(req.params.id) } : {}),
        ...(acceptLanguage !== undefined ? { acceptLanguage } : {}),
      },
    });
    // a stored answer is sent at once, without waiting a turn of the microtask queue
    const { status, body } = answered instanceof Promise ? await answered : answered;
    sendSerialised(res, body, status);
  };
}

/** An operation's answer, error or not, varies with the language asked for: its displays and messages follow it (tx-ecosystem IG: display language priority). */
export function varyOnLanguage(res: Response): void {
  const vary = res.getHeader('Vary');
  if (vary === undefined) res.setHeader('Vary', 'Accept-Language');
  else if (vary === 'Accept') res.setHeader('Vary', 'Accept, Accept-Language');
  else res.vary('Accept-Language');
}

/** The bytes in an ArrayBuffer of their own, so that they can be moved (not copied) to a worker. */
function ownBuffer(b: Buffer): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return new Uint8Array(b.buffer);
  return new Uint8Array(b);
}

/** The OperationOutcome for an operation over its budget (422, issue type too-costly). */
export function tooCostly(err: BudgetExceededError): OperationOutcomeError {
  return new OperationOutcomeError(422, [
    makeIssue({ code: 'too-costly', text: err.message, txIssueType: 'too-costly' }),
  ]);
}

/**
 * `tx-resource` is read here, at the edge, for every operation (txResources), so it is defined here
 * for every operation too: its type and shape are checked like any other parameter's.
 */
const TX_RESOURCE_PARAMETER: ParamDef = {
  name: 'tx-resource',
  type: 'Resource',
  max: '*',
  resourceTypes: TX_RESOURCE_TYPES,
};

const edgeDefs = new WeakMap<OperationDef, ParamDef[]>();

/** The operation's parameters, with the edge's own. */
export function edgeParameters(def: OperationDef): ParamDef[] {
  let defs = edgeDefs.get(def);
  if (!defs) {
    defs = [...def.parameters.filter((p) => p.name !== TX_RESOURCE_PARAMETER.name), TX_RESOURCE_PARAMETER];
    edgeDefs.set(def, defs);
  }
  return defs;
}

/** The query parameters of a GET that are the operation's: all but those of the HTTP exchange. */
export function operationQuery(query: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(query)) if (!HTTP_PARAMS.has(k)) out[k] = query[k];
  return out;
}

/** A POST body must be a Parameters resource (operations.html#executing); no body means no parameters. */
function parametersBody(body: unknown, code: string): Parameters {
  if (body === undefined) return { resourceType: 'Parameters' };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest(`The body of a POST to $${code} must be a Parameters resource`);
  }
  const type = (body as { resourceType?: unknown }).resourceType;
  if (type !== 'Parameters') {
    const found = typeof type === 'string' ? `a ${type.slice(0, 64)}` : 'no resourceType';
    throw badRequest(`The body of a POST to $${code} must be a Parameters resource, found ${found}`);
  }
  const parameter = (body as { parameter?: unknown }).parameter;
  if (parameter !== undefined && !Array.isArray(parameter))
    throw badRequest('Parameters.parameter must be an array', 'Parameters.parameter');
  return body as Parameters;
}

/**
 * Most `tx-resource` parameters one request may carry. The HL7 tests send a handful; the limit keeps
 * a request from handing the engine thousands of resources (e.g. a chain of value sets importing
 * each other, which the engine follows one import at a time).
 */
export const MAX_TX_RESOURCES = 1000;

/**
 * The `tx-resource` parameters: CodeSystem, ValueSet or ConceptMap resources that hold for this
 * request only (tx-ecosystem IG, CodeSystemAsParameter). Their type and shape were checked when the
 * parameters were read (InputParams, resource-shape.ts).
 */
function txResources(params: InputParams): TxResource[] {
  const given = params.all('tx-resource');
  if (given.length > MAX_TX_RESOURCES) {
    throw badRequest(
      `Too many 'tx-resource' parameters: ${given.length}, at most ${MAX_TX_RESOURCES} in one request`,
      'tx-resource',
    );
  }
  const out: TxResource[] = [];
  for (const p of given) {
    if (!isTxResource(p.resource)) {
      const type = p.resource?.resourceType;
      throw badRequest(
        `Parameter 'tx-resource' must hold a CodeSystem, ValueSet or ConceptMap resource${typeof type === 'string' ? `, found ${type.slice(0, 64)}` : ''}`,
        'tx-resource',
      );
    }
    out.push(p.resource);
  }
  return out;
}
