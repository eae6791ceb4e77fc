import type { Bundle, Resource } from '@medplum/fhirtypes';
import { searchsetBundle } from '../http/bundle.ts';
import { badRequest, notFound } from '../http/outcome.ts';
import { applyElements, applySummary, parseElements, parseSummary } from '../http/summary.ts';
import type { TerminologyStore, TxResource, TxResourceType } from '../terminology/store.ts';
import { compareVersions } from '../terminology/versions.ts';

/**
 * The read and search-type interactions on CodeSystem, ValueSet and ConceptMap
 * (FHIR R4 http.html#read, http.html#search, search.html). The server is read-only.
 */

/** A query string as Express parses it: each name maps to one value or a list of values. */
export type Query = Record<string, unknown>;

export interface InteractionOptions {
  /** `Prefer: handling=lenient`: ignore unknown parameters instead of rejecting them (search.html#errors). */
  lenient?: boolean;
}

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

/** Parameters any interaction accepts (http.html#parameters). */
const GENERAL_PARAMS = new Set(['_format', '_pretty']);
export const READ_PARAMS = new Set([...GENERAL_PARAMS, '_summary', '_elements']);
export const RESULT_PARAMS = new Set([...READ_PARAMS, '_count', '_offset']);

type Matcher = (r: TxResource, values: string[], modifier: string | undefined) => boolean;

interface SearchParamDef {
  type: 'uri' | 'token' | 'string';
  /** canonical URL of the SearchParameter, for the CapabilityStatement */
  definition: string;
  modifiers: readonly string[];
  match: Matcher;
}

/** Strings compare case- and accent-insensitively (search.html#string). */
function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

const exact =
  (get: (r: TxResource) => string | undefined): Matcher =>
  (r, values) => {
    const v = get(r);
    return v !== undefined && values.includes(v);
  };

/**
 * String search. FHIR's default is "starts with"; we default to "contains" (a superset) because a
 * terminology browser searches inside titles. `:exact` and `:contains` work as FHIR defines them.
 */
const text =
  (get: (r: TxResource) => string | undefined): Matcher =>
  (r, values, modifier) => {
    const v = get(r);
    if (v === undefined) return false;
    if (modifier === 'exact') return values.includes(v);
    const hay = fold(v);
    return values.some((x) => hay.includes(fold(x)));
  };

/** The search parameters we support, the same on all three types (all are `conformance-*` parameters in R4). */
export const SEARCH_PARAMS: Readonly<Record<string, SearchParamDef>> = {
  _id: {
    type: 'token',
    definition: 'http://hl7.org/fhir/SearchParameter/Resource-id',
    modifiers: [],
    match: exact((r) => r.id),
  },
  url: {
    type: 'uri',
    definition: 'http://hl7.org/fhir/SearchParameter/conformance-url',
    modifiers: [],
    // values are canonical URLs (aliases resolved, searchResources), optionally `url|version`
    match: (r, values) =>
      values.some((v) => {
        const bar = v.indexOf('|');
        if (bar < 0) return r.url === v;
        return r.url === v.slice(0, bar) && (bar === v.length - 1 || r.version === v.slice(bar + 1));
      }),
  },
  version: {
    type: 'token',
    definition: 'http://hl7.org/fhir/SearchParameter/conformance-version',
    modifiers: [],
    match: exact((r) => r.version),
  },
  name: {
    type: 'string',
    definition: 'http://hl7.org/fhir/SearchParameter/conformance-name',
    modifiers: ['exact', 'contains'],
    match: text((r) => r.name),
  },
  title: {
    type: 'string',
    definition: 'http://hl7.org/fhir/SearchParameter/conformance-title',
    modifiers: ['exact', 'contains'],
    match: text((r) => r.title),
  },
  status: {
    type: 'token',
    definition: 'http://hl7.org/fhir/SearchParameter/conformance-status',
    modifiers: [],
    match: exact((r) => r.status),
  },
};

/** Flattens an Express query into name/value pairs, dropping empty values (search.html: they are ignored). */
function pairs(query: Query): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, raw] of Object.entries(query)) {
    for (const v of Array.isArray(raw) ? raw : [raw]) {
      if (typeof v === 'string' && v !== '') out.push([name, v]);
    }
  }
  return out;
}

function single(list: [string, string][], name: string): string | undefined {
  const hits = list.filter(([n]) => n === name);
  if (hits.length > 1) throw badRequest(`Parameter '${name}' may occur only once`, name);
  return hits[0]?.[1];
}

function nonNegativeInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value))
    throw badRequest(`Parameter '${name}' must be a non-negative integer, found '${short(value)}'`, name);
  return Number(value);
}

function short(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

function unsupported(name: string, where: string): never {
  throw badRequest(`Unsupported parameter '${short(name)}' on ${where}`, name);
}

/** `_summary` / `_elements`, which exclude each other (search.html#summary). */
function renderOptions(list: [string, string][]) {
  const summary = parseSummary(single(list, '_summary'));
  const elements = parseElements(single(list, '_elements'));
  if (summary !== undefined && summary !== 'false' && elements !== undefined) {
    throw badRequest('_summary and _elements cannot be used together', '_elements');
  }
  return { summary, elements };
}

/** GET [base]/[type]/[id]: the stored resource, optionally summarised. */
export function readResource(
  store: TerminologyStore,
  type: TxResourceType,
  id: string,
  query: Query,
  options: InteractionOptions = {},
): Resource {
  const list = pairs(query);
  for (const [name] of list) if (!READ_PARAMS.has(name) && !options.lenient) unsupported(name, `${type} read`);
  const { summary, elements } = renderOptions(list);
  if (summary === 'count') throw badRequest('_summary=count applies to searches only', '_summary');
  const resource = store.get(type, id);
  if (!resource) throw notFound(`${type}/${short(id)} is not known on this server`);
  return applyElements(applySummary(resource, summary), elements);
}

/** GET [base]/[type]?...: a searchset Bundle of the stored resources that match every parameter. */
export function searchResources(
  store: TerminologyStore,
  type: TxResourceType,
  query: Query,
  baseUrl: string,
  options: InteractionOptions = {},
): Bundle {
  const list = pairs(query);
  const filters: { def: SearchParamDef; values: string[]; modifier?: string }[] = [];
  const echoed: [string, string][] = [];
  for (const [key, value] of list) {
    if (RESULT_PARAMS.has(key)) {
      if (key !== '_count' && key !== '_offset' && !GENERAL_PARAMS.has(key)) echoed.push([key, value]);
      continue;
    }
    const [name, modifier] = key.split(':', 2);
    const def = Object.hasOwn(SEARCH_PARAMS, name) ? SEARCH_PARAMS[name] : undefined;
    if (!def) {
      if (options.lenient) continue;
      unsupported(key, `${type} search (supported: ${Object.keys(SEARCH_PARAMS).join(', ')})`);
    }
    if (modifier !== undefined && !def.modifiers.includes(modifier)) {
      if (options.lenient) continue;
      throw badRequest(`Unsupported modifier ':${short(modifier)}' on search parameter '${name}'`, key);
    }
    // a comma separates values that are OR-ed (search.html#combining)
    let values = value.split(',');
    // a resource named by any of its identifiers (OID, older URLs) is found by each of them
    if (name === 'url') {
      values = values.map((v) => {
        const bar = v.indexOf('|');
        const url = bar < 0 ? v : v.slice(0, bar);
        return store.canonicalUrl(type, url) + (bar < 0 ? '' : v.slice(bar));
      });
    }
    filters.push({ def, values, modifier });
    echoed.push([key, value]);
  }
  const { summary, elements } = renderOptions(list);
  const requested = nonNegativeInteger(single(list, '_count'), '_count') ?? DEFAULT_COUNT;
  const offset = nonNegativeInteger(single(list, '_offset'), '_offset') ?? 0;
  const count = summary === 'count' ? 0 : Math.min(requested, MAX_COUNT);

  const matches = store
    .all(type)
    .filter((r) => filters.every((f) => f.def.match(r, f.values, f.modifier)))
    .sort(byCanonical);
  return searchsetBundle<Resource>({
    baseUrl,
    resourceType: type,
    matches,
    offset,
    count,
    params: echoed,
    render: (r) => applyElements(applySummary(r, summary), elements),
  });
}

/** Stable order for paging: by url, newest version first, then id. */
function byCanonical(a: TxResource, b: TxResource): number {
  const ua = a.url ?? '';
  const ub = b.url ?? '';
  if (ua !== ub) return ua < ub ? -1 : 1;
  const v = compareVersions(b.version, a.version);
  if (v !== 0) return v;
  const ia = a.id ?? '';
  const ib = b.id ?? '';
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}
