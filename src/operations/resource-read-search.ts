import type { Bundle, Resource } from '@medplum/fhirtypes';
import { searchsetBundle } from '../http/bundle.ts';
import { badRequest, notFound } from '../http/outcome.ts';
import { applyElements, applySummary, parseElements, parseSummary } from '../http/summary.ts';
import { readableResource } from '../terminology/compact-codesystem.ts';
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
/** Parameters that shape a search's result rather than select (search.html#return). */
export const RESULT_PARAMS = new Set([...READ_PARAMS, '_count', '_offset', '_sort', '_total']);

type Matcher = (r: TxResource, values: string[], modifier: string | undefined) => boolean;

interface SearchParamDef {
  type: 'uri' | 'token' | 'string';
  /** the value a search sorts by (`_sort`), or undefined when the parameter has no order */
  sortKey?: (r: TxResource) => string | undefined;
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
    sortKey: (r) => r.id,
    modifiers: [],
    match: exact((r) => r.id),
  },
  url: {
    type: 'uri',
    definition: 'http://hl7.org/fhir/SearchParameter/conformance-url',
    sortKey: (r) => r.url,
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
    sortKey: (r) => r.version,
    modifiers: [],
    match: exact((r) => r.version),
  },
  name: {
    type: 'string',
    definition: 'http://hl7.org/fhir/SearchParameter/conformance-name',
    sortKey: (r) => r.name,
    modifiers: ['exact', 'contains'],
    match: text((r) => r.name),
  },
  title: {
    type: 'string',
    definition: 'http://hl7.org/fhir/SearchParameter/conformance-title',
    sortKey: (r) => r.title,
    modifiers: ['exact', 'contains'],
    match: text((r) => r.title),
  },
  status: {
    type: 'token',
    definition: 'http://hl7.org/fhir/SearchParameter/conformance-status',
    sortKey: (r) => r.status,
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
  const stored = store.get(type, id);
  if (!stored) throw notFound(`${type}/${short(id)} is not known on this server`);
  // a large code system in the compact layout is made whole for its read (once per read, not kept)
  const resource = summary === 'true' ? stored : readableResource(stored);
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
      unsupported(key, `${type} search (supported: ${SUPPORTED_SEARCH.join(', ')})`);
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
  const total = parseTotal(single(list, '_total'));
  const order = parseSort(single(list, '_sort'), options);

  const matches = store
    .all(type)
    .filter((r) => filters.every((f) => f.def.match(r, f.values, f.modifier)))
    .sort(order);
  return searchsetBundle<Resource>({
    baseUrl,
    resourceType: type,
    matches,
    offset,
    count,
    params: echoed,
    // `_total=none` leaves it out; estimate and accurate both get the exact count (it is known)
    includeTotal: total !== 'none' || summary === 'count',
    render: (r) => applyElements(applySummary(r, summary), elements),
  });
}

/** Every parameter a search accepts, as the 400 for an unknown one lists them. */
const SUPPORTED_SEARCH = [...Object.keys(SEARCH_PARAMS), ...RESULT_PARAMS];

/** `_total` (search.html#total): none, estimate or accurate. */
function parseTotal(value: string | undefined): 'none' | 'estimate' | 'accurate' | undefined {
  if (value === undefined) return undefined;
  if (value === 'none' || value === 'estimate' || value === 'accurate') return value;
  throw badRequest(`Parameter '_total' must be none, estimate or accurate, found '${short(value)}'`, '_total');
}

/** Code point order on case-folded text, then on the text itself: stable and locale-independent. */
function compareText(a: string, b: string): number {
  const fa = fold(a);
  const fb = fold(b);
  if (fa !== fb) return fa < fb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * `_sort` (search.html#sort): a comma-separated list of parameters, each ascending or, with a
 * leading `-`, descending; versions compare as versions. A resource without a value comes last.
 * Ties keep the default order (by url, newest version first, then id), so paging stays stable.
 */
function parseSort(value: string | undefined, options: InteractionOptions): (a: TxResource, b: TxResource) => number {
  if (value === undefined) return byCanonical;
  const keys: { key: (r: TxResource) => string | undefined; desc: boolean; version: boolean }[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    const desc = item.startsWith('-');
    const name = desc ? item.slice(1) : item;
    const def = Object.hasOwn(SEARCH_PARAMS, name) ? SEARCH_PARAMS[name] : undefined;
    if (!def?.sortKey) {
      if (options.lenient) continue;
      const sortable = Object.keys(SEARCH_PARAMS).filter((n) => SEARCH_PARAMS[n].sortKey !== undefined);
      throw badRequest(`_sort: cannot sort by '${short(name)}' (sortable: ${sortable.join(', ')})`, '_sort');
    }
    keys.push({ key: def.sortKey, desc, version: name === 'version' });
  }
  return (a, b) => {
    for (const k of keys) {
      const va = k.key(a);
      const vb = k.key(b);
      if (va === vb) continue;
      if (va === undefined) return 1;
      if (vb === undefined) return -1;
      const c = k.version ? compareVersions(va, vb) : compareText(va, vb);
      if (c !== 0) return k.desc ? -c : c;
    }
    return byCanonical(a, b);
  };
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
