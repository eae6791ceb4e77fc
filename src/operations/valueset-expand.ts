import type { ValueSet } from '@medplum/fhirtypes';
import { badRequest, notFound } from '../http/outcome.ts';
import type { InputParams, ParamDef } from '../http/params.ts';
import { resolveValueSetReference, unknownValueSetError } from '../terminology/compose.ts';
import { DEFAULT_MAX_EXPANSION_SIZE, type ExpandOptions, expandValueSet } from '../terminology/expand.ts';
import { VMSG } from '../terminology/validate-messages.ts';
import { pinValueSetReference } from '../terminology/valueset-references.ts';
import { parseValueSetVersionRules, parseVersionRules } from '../terminology/version-rules.ts';
import { atRequestDate, displayLanguageParam } from './coding-params.ts';
import type { OperationDef, OperationRequest, OperationResult } from './types.ts';

/**
 * ValueSet/$expand, type and instance level, GET and POST.
 * http://hl7.org/fhir/R4/valueset-operation-expand.html, plus the tx-ecosystem IG's additions
 * (`tx-resource`, `useSupplement`, `check-system-version`, R5 parameter names).
 */

export interface ExpandOperationOptions {
  /** largest expansion returned without `count`; larger ones are refused as too costly (default 1000) */
  maxExpansionSize?: number;
}

const EXPAND_PARAMETERS: ParamDef[] = [
  { name: 'url', type: 'uri', max: 1 },
  { name: 'valueSet', type: 'Resource', resourceTypes: ['ValueSet'], max: 1 },
  { name: 'valueSetVersion', type: 'string', max: 1 },
  { name: 'context', type: 'uri', max: 1 },
  { name: 'contextDirection', type: 'code', max: 1 },
  { name: 'filter', type: 'string', max: 1 },
  { name: 'date', type: 'dateTime', max: 1 },
  { name: 'offset', type: 'integer', max: 1 },
  { name: 'count', type: 'integer', max: 1 },
  { name: 'includeDesignations', type: 'boolean', max: 1 },
  { name: 'designation', type: 'string', max: '*' },
  { name: 'includeDefinition', type: 'boolean', max: 1 },
  { name: 'activeOnly', type: 'boolean', max: 1 },
  { name: 'useSupplement', type: 'canonical', max: '*' },
  { name: 'excludeNested', type: 'boolean', max: 1 },
  { name: 'excludeNotForUI', type: 'boolean', max: 1 },
  { name: 'excludePostCoordinated', type: 'boolean', max: 1 },
  { name: 'displayLanguage', type: 'code', max: 1 },
  { name: 'property', type: 'string', max: '*' },
  { name: 'exclude-system', type: 'canonical', max: '*' },
  { name: 'system-version', type: 'canonical', max: '*' },
  { name: 'check-system-version', type: 'canonical', max: '*' },
  { name: 'force-system-version', type: 'canonical', max: '*' },
  { name: 'default-valueset-version', type: 'canonical', max: '*' },
  { name: 'valueset-version', type: 'canonical', max: '*' },
  { name: 'check-valueset-version', type: 'canonical', max: '*' },
  { name: 'force-valueset-version', type: 'canonical', max: '*' },
  { name: 'tx-resource', type: 'Resource', max: '*' },
];

function nonNegative(params: InputParams, name: string): number | undefined {
  const n = params.integer(name);
  if (n !== undefined && n < 0) throw badRequest(`Parameter '${name}' must not be negative, found ${n}`, name);
  return n;
}

/** The value set to expand: the instance, the `valueSet` parameter, or `url` (+ `valueSetVersion`). */
function valueSetToExpand(req: OperationRequest): ValueSet {
  if (req.instance) {
    if (req.instance.resourceType !== 'ValueSet') throw badRequest('$expand applies to a ValueSet');
    return req.instance;
  }
  const given = req.params.resource('valueSet');
  if (given) {
    if (given.resourceType !== 'ValueSet') {
      throw badRequest(`Parameter 'valueSet' must hold a ValueSet, found ${given.resourceType}`, 'valueSet');
    }
    return given;
  }
  const url = req.params.string('url');
  if (!url) throw badRequest('$expand needs a value set: give url, valueSet or call it on a ValueSet instance', 'url');
  const version = req.params.string('valueSetVersion');
  const asked = version !== undefined && !url.includes('|') ? `${url}|${version}` : url;
  // force-valueset-version / default-valueset-version apply to the value set named too
  const canonical = pinValueSetReference(parseValueSetVersionRules(req.params), asked);
  const vs = resolveValueSetReference(req.ctx, canonical);
  if (!vs) {
    const miss = req.ctx.missAtDate('ValueSet', canonical);
    if (miss) throw notFound(VMSG.noVersionOnDate('ValueSet', miss.url, miss.date, miss.versions), 'not-found');
    throw unknownValueSetError(canonical);
  }
  return vs;
}

/** Reads the $expand inputs into ExpandOptions; absent inputs stay undefined so they are not echoed. */
export function expandOptionsFrom(req: OperationRequest, maxExpansionSize: number): ExpandOptions {
  const { params } = req;
  const filter = params.string('filter');
  return {
    filter: filter?.trim() ? filter : undefined,
    offset: nonNegative(params, 'offset'),
    count: nonNegative(params, 'count'),
    includeDesignations: params.boolean('includeDesignations'),
    designations: params.has('designation') ? params.strings('designation') : undefined,
    includeDefinition: params.boolean('includeDefinition'),
    activeOnly: params.boolean('activeOnly'),
    excludeNested: params.boolean('excludeNested'),
    excludeNotForUI: params.boolean('excludeNotForUI'),
    excludePostCoordinated: params.boolean('excludePostCoordinated'),
    displayLanguage: displayLanguageParam(params),
    acceptLanguage: req.acceptLanguage,
    properties: params.strings('property'),
    rules: parseVersionRules(params),
    valueSetRules: parseValueSetVersionRules(params),
    useSupplements: params.strings('useSupplement'),
    excludeSystems: params.has('exclude-system') ? params.strings('exclude-system') : undefined,
    maxExpansionSize,
  };
}

export function createValueSetExpandOperation(options: ExpandOperationOptions = {}): OperationDef {
  const maxExpansionSize = options.maxExpansionSize ?? DEFAULT_MAX_EXPANSION_SIZE;
  // `date`: the value set and code system versions in effect that day, the concepts' status that day
  const valuesetExpandHandler = (request: OperationRequest): OperationResult => {
    const req = atRequestDate(request);
    const valueSet = valueSetToExpand(req);
    return { resource: expandValueSet(req.ctx, valueSet, expandOptionsFrom(req, maxExpansionSize)) };
  };
  return {
    code: 'expand',
    definition: 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand',
    resourceTypes: ['ValueSet'],
    type: true,
    instance: true,
    get: true,
    parameters: EXPAND_PARAMETERS,
    handler: valuesetExpandHandler,
  };
}

export const valuesetExpandOperation: OperationDef = createValueSetExpandOperation();
