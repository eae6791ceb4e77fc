import type { Parameters } from '@medplum/fhirtypes';
import type { Request, RequestHandler, Response } from 'express';
import type { OperationDef } from '../operations/types.ts';
import { TxContext } from '../terminology/context.ts';
import { isTxResource, TX_RESOURCE_TYPES, type TxResource, type TxResourceType } from '../terminology/store.ts';
import { today } from '../terminology/validity.ts';
import type { TerminologySource } from '../terminology-sources.ts';
import { sendResource, sendSerialised, serialise } from './content.ts';
import { badRequest, notFound } from './outcome.ts';
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

/**
 * The HTTP edge of one operation: GET query or POST Parameters -> InputParams, `tx-resource`
 * parameters -> a request-scoped TxContext overlay (never persisted), the addressed instance ->
 * `instance`; then the handler; then the one response write. The data are taken from `source` once
 * per request, so a swap of the data during the request does not mix two generations.
 */
export function operationHandler(
  def: OperationDef,
  source: TerminologySource,
  target: OperationTarget,
  cache?: ResponseCache,
): RequestHandler {
  return async (req: Request, res: Response) => {
    const { store, generation } = source.current();
    // displays follow the language asked for (tx-ecosystem IG: display language priority)
    res.vary('Accept-Language');
    // GET answers depend only on the URL, the language asked for and the data (see ResponseCache)
    // the day is part of the key: without `date`, validity (e.g. a code retiring at midnight) is judged for today
    const key =
      cache && req.method === 'GET'
        ? `${today()}\u0000${req.get('accept-language') ?? ''}\u0000${req.originalUrl}`
        : undefined;
    if (key !== undefined && cache) {
      const hit = bypassesCache(req.get('cache-control'), req.get('pragma')) ? undefined : cache.get(generation, key);
      if (hit) {
        sendSerialised(res, hit.body, hit.status);
        return;
      }
    }
    const defs = edgeParameters(def);
    const params =
      req.method === 'GET'
        ? InputParams.fromQuery(operationQuery(req), defs)
        : InputParams.fromParameters(parametersBody(req.body, def.code), defs);
    const overlay = txResources(params);
    let instance: TxResource | undefined;
    if (target.instance && target.resourceType) {
      const id = String(req.params.id);
      instance = store.get(target.resourceType, id);
      if (!instance)
        throw notFound(
          `${target.resourceType}/${id.length > 64 ? `${id.slice(0, 64)}...` : id} is not known on this server`,
        );
    }
    const result = await def.handler({
      params,
      ctx: new TxContext(store, overlay),
      instance,
      acceptLanguage: req.get('accept-language'),
    });
    const status = result.status ?? 200;
    if (key !== undefined && cache && status < 500) {
      cache.set(generation, key, { status, body: serialise(req, result.resource) });
    }
    sendResource(req, res, result.resource, status);
  };
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

function operationQuery(req: Request): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) if (!HTTP_PARAMS.has(k)) out[k] = v;
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
