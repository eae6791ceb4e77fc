import { createHash } from 'node:crypto';
import type {
  Bundle,
  BundleEntry,
  CodeableConcept,
  HealthcareService,
  Identifier,
  Location,
  OperationOutcome,
  Organization,
  Reference,
} from '@medplum/fhirtypes';
import { searchsetBundle } from '../http/bundle.ts';
import { badRequest } from '../http/outcome.ts';

/**
 * Search over the in-memory directory (FHIR R4 search.html), no HTTP: the parameter registry (which
 * also feeds the CapabilityStatement, STYLE.md example 4), an index built once per loaded dataset,
 * query parsing with exact 400 texts, and the searchset Bundle with `_include`d resources.
 *
 * Semantics (search.html): parameters AND, comma-separated values OR; token `[system]|[code]`,
 * `code`, `|code`, `system|`; string = starts with, case- and accent-insensitive (`:exact`,
 * `:contains`); reference `Type/id`, `id` or an absolute URL, and `:identifier` with a token.
 */

export const DIRECTORY_TYPES = ['HealthcareService', 'Organization', 'Location'] as const;
export type DirectoryResourceType = (typeof DIRECTORY_TYPES)[number];
export type DirectoryResource = HealthcareService | Organization | Location;

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

// --- Parameter registry ----------------------------------------------------------------------

interface Token {
  system?: string;
  code: string;
}

interface ParamBase {
  /** canonical URL of the R4 SearchParameter */
  definition: string;
  documentation: string;
}
interface TokenParam extends ParamBase {
  type: 'token';
  tokens: (r: DirectoryResource) => Token[];
}
interface StringParam extends ParamBase {
  type: 'string';
  strings: (r: DirectoryResource) => string[];
}
interface ReferenceParam extends ParamBase {
  type: 'reference';
  targets: readonly DirectoryResourceType[];
  references: (r: DirectoryResource) => Reference[];
}
export type DirectorySearchParam = TokenParam | StringParam | ReferenceParam;

const MODIFIERS: Readonly<Record<DirectorySearchParam['type'], readonly string[]>> = {
  token: [],
  string: ['exact', 'contains'],
  reference: ['identifier'],
};

const codings = (concepts: CodeableConcept[] | undefined): Token[] =>
  (concepts ?? []).flatMap((c) =>
    (c.coding ?? []).flatMap((x) => (x.code ? [{ system: x.system, code: x.code }] : [])),
  );
const identifiers = (ids: Identifier[] | undefined): Token[] =>
  (ids ?? []).flatMap((i) => (i.value ? [{ system: i.system, code: i.value }] : []));
const defined = <T>(xs: (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);
const sp = (name: string) => `http://hl7.org/fhir/SearchParameter/${name}`;

const ID_PARAM: TokenParam = {
  type: 'token',
  definition: sp('Resource-id'),
  documentation: 'The logical id',
  tokens: (r) => (r.id ? [{ code: r.id }] : []),
};

export const SEARCH_PARAMS: Readonly<Record<DirectoryResourceType, Readonly<Record<string, DirectorySearchParam>>>> = {
  HealthcareService: {
    _id: ID_PARAM,
    'service-type': {
      type: 'token',
      definition: sp('HealthcareService-service-type'),
      documentation: 'The procedure: a SNOMED CT code (http://snomed.info/sct|<code>)',
      tokens: (r) => codings((r as HealthcareService).type),
    },
    organization: {
      type: 'reference',
      targets: ['Organization'],
      definition: sp('HealthcareService-organization'),
      documentation: 'The trust that provides it (providedBy); `:identifier` takes an ENH or RESH token',
      references: (r) => defined([(r as HealthcareService).providedBy]),
    },
    location: {
      type: 'reference',
      targets: ['Location'],
      definition: sp('HealthcareService-location'),
      documentation: 'A meeting place where it is offered',
      references: (r) => (r as HealthcareService).location ?? [],
    },
    name: {
      type: 'string',
      definition: sp('HealthcareService-name'),
      documentation: "The trust's title of the service",
      strings: (r) => defined([(r as HealthcareService).name]),
    },
  },
  Organization: {
    _id: ID_PARAM,
    identifier: {
      type: 'token',
      definition: sp('Organization-identifier'),
      documentation: 'ENH (urn:oid:2.16.578.1.12.4.1.4.101), RESH (urn:oid:2.16.578.1.12.4.1.4.102) or SAR id',
      tokens: (r) => identifiers((r as Organization).identifier),
    },
    name: {
      type: 'string',
      definition: sp('Organization-name'),
      documentation: 'Name or alias',
      strings: (r) => defined([(r as Organization).name, ...((r as Organization).alias ?? [])]),
    },
    type: {
      type: 'token',
      definition: sp('Organization-type'),
      documentation: 'Organisatorisk nivå (urn:oid:2.16.578.1.12.4.1.1.8628: 1 RHF, 2 HF) or bandasjist',
      tokens: (r) => codings((r as Organization).type),
    },
    partof: {
      type: 'reference',
      targets: ['Organization'],
      definition: sp('Organization-partof'),
      documentation: "The trust's regional health authority",
      references: (r) => defined([(r as Organization).partOf]),
    },
    active: {
      type: 'token',
      definition: sp('Organization-active'),
      documentation: 'false for a deleted or expired bandagist',
      tokens: (r) => {
        const a = (r as Organization).active;
        return a === undefined ? [] : [{ code: String(a) }];
      },
    },
  },
  Location: {
    _id: ID_PARAM,
    organization: {
      type: 'reference',
      targets: ['Organization'],
      definition: sp('Location-organization'),
      documentation: 'The trust that manages the place (managingOrganization)',
      references: (r) => defined([(r as Location).managingOrganization]),
    },
    'address-city': {
      type: 'string',
      definition: sp('Location-address-city'),
      documentation: 'Poststed',
      strings: (r) => defined([(r as Location).address?.city]),
    },
    name: {
      type: 'string',
      definition: sp('Location-name'),
      documentation: 'Name of the place',
      strings: (r) => defined([(r as Location).name]),
    },
  },
};

/** `_include` targets: `<Type>:<param>` → the param (a reference param of Type). */
export const INCLUDES: Readonly<Record<DirectoryResourceType, readonly string[]>> = {
  HealthcareService: ['organization', 'location'],
  Organization: ['partof'],
  Location: ['organization'],
};

// --- Index -----------------------------------------------------------------------------------

const ANY_SYSTEM = '\u0001';
const ANY_CODE = '\u0002';

function tokenKeys(t: Token): string[] {
  const keys = [`${ANY_SYSTEM}${t.code}`];
  if (t.system) keys.push(`${t.system}|${t.code}`, `${t.system}|${ANY_CODE}`);
  else keys.push(`|${t.code}`);
  return keys;
}

/** `Type/id` of a literal reference, without a base URL or `/_history/<vid>`. */
export function referenceKey(reference: string): string | undefined {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(reference);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** Strings compare without case and accents (search.html#string). */
export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

interface Indexed {
  resource: DirectoryResource;
  /** param name (and `name:identifier`) → keys */
  keys: Map<string, Set<string>>;
  /** string param name → values, as given and folded */
  strings: Map<string, { raw: string[]; folded: string[] }>;
  sortKey: string;
}

/** The resources of one loaded dataset, indexed for search. Immutable once built. */
export class DirectoryIndex {
  private readonly byType = new Map<DirectoryResourceType, Indexed[]>();
  private readonly byId = new Map<string, Indexed>();

  constructor(resources: readonly DirectoryResource[]) {
    for (const type of DIRECTORY_TYPES) this.byType.set(type, []);
    for (const resource of resources) {
      const type = resource.resourceType as DirectoryResourceType;
      const list = this.byType.get(type);
      if (!list) throw new Error(`not a directory resource type: ${type}`);
      const entry = indexOne(type, resource);
      const key = `${type}/${resource.id}`;
      if (this.byId.has(key)) throw new Error(`duplicate resource ${key}`);
      this.byId.set(key, entry);
      list.push(entry);
    }
    for (const list of this.byType.values()) list.sort(bySortKey);
  }

  get(type: DirectoryResourceType, id: string): DirectoryResource | undefined {
    return this.byId.get(`${type}/${id}`)?.resource;
  }

  /** @internal the indexed entries of a type, sorted */
  entries(type: DirectoryResourceType): readonly Indexed[] {
    return this.byType.get(type) ?? [];
  }

  count(type: DirectoryResourceType): number {
    return this.entries(type).length;
  }

  counts(): Record<DirectoryResourceType, number> {
    return Object.fromEntries(DIRECTORY_TYPES.map((t) => [t, this.count(t)])) as Record<DirectoryResourceType, number>;
  }
}

function indexOne(type: DirectoryResourceType, resource: DirectoryResource): Indexed {
  const keys = new Map<string, Set<string>>();
  const strings = new Map<string, { raw: string[]; folded: string[] }>();
  for (const [name, p] of Object.entries(SEARCH_PARAMS[type])) {
    if (p.type === 'token') keys.set(name, new Set(p.tokens(resource).flatMap(tokenKeys)));
    else if (p.type === 'string') {
      const raw = p.strings(resource);
      strings.set(name, { raw, folded: raw.map(fold) });
    } else {
      const refs = p.references(resource);
      keys.set(name, new Set(defined(refs.map((r) => (r.reference ? referenceKey(r.reference) : undefined)))));
      keys.set(`${name}:identifier`, new Set(identifiers(defined(refs.map((r) => r.identifier))).flatMap(tokenKeys)));
    }
  }
  const name = (resource as { name?: string }).name ?? '';
  return { resource, keys, strings, sortKey: `${fold(name)}\u0000${resource.id}` };
}

function bySortKey(a: Indexed, b: Indexed): number {
  return a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0;
}

/** Sets `meta.versionId` to a hash of the content (without meta): the same content, the same version. */
export function withVersionId<T extends DirectoryResource>(resource: T): T {
  const { meta, ...content } = resource;
  const versionId = createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16);
  return { ...resource, meta: { versionId, ...meta } } as T;
}

// --- Query parsing ---------------------------------------------------------------------------

/** A query string as Express parses it: each name maps to one value or a list. */
export type Query = Record<string, unknown>;

interface Filter {
  name: string;
  /** index key set to look in (`organization:identifier` for that modifier), or the string param */
  key: string;
  kind: 'keys' | 'string';
  modifier?: string;
  /** keys (OR) for `keys`; folded or raw values (OR) for `string` */
  values: string[];
}

export interface IncludeRequest {
  param: string;
  target: DirectoryResourceType;
}

export interface SearchRequest {
  type: DirectoryResourceType;
  filters: Filter[];
  includes: IncludeRequest[];
  count: number;
  offset: number;
  /** the parameters to repeat in paging links */
  echo: [string, string][];
  /** `_total=none`: the Bundle gives no total */
  noTotal?: boolean;
  /** `_sort`: string parameters or `_id`, each ascending or descending */
  sort?: { name: string; desc: boolean }[];
}

/** Parameters any search accepts besides the search parameters (http.html#parameters, search.html#count). */
const GENERAL = new Set(['_format', '_pretty']);
const RESULT = new Set(['_count', '_offset', '_include']);

export interface ParseOptions {
  /** `Prefer: handling=lenient`: ignore unknown parameters (search.html#errors) */
  lenient?: boolean;
}

function short(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

function pairs(query: Query): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, raw] of Object.entries(query)) {
    for (const v of Array.isArray(raw) ? raw : [raw]) {
      // search.html: an empty value is ignored
      if (typeof v === 'string' && v !== '') out.push([name, v]);
    }
  }
  return out;
}

/** Splits on an unescaped `sep` (search.html#escaping: `\,` `\|` `\$` `\\`); the parts keep their escapes. */
function splitEscaped(s: string, sep: ',' | '|', limit = Number.POSITIVE_INFINITY): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === sep && parts.length < limit - 1) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

function unescapeValue(s: string): string {
  return s.replace(/\\([\\,|$])/g, '$1');
}

/** A token query value → the index key it must hit. */
function tokenQueryKey(value: string): string {
  const parts = splitEscaped(value, '|', 2);
  if (parts.length === 1) return `${ANY_SYSTEM}${unescapeValue(parts[0])}`;
  const [system, code] = [unescapeValue(parts[0]), unescapeValue(parts[1])];
  if (system === '') return `|${code}`;
  if (code === '') return `${system}|${ANY_CODE}`;
  return `${system}|${code}`;
}

function referenceQueryKeys(value: string, targets: readonly DirectoryResourceType[], name: string): string[] {
  const v = unescapeValue(value);
  if (/^[A-Za-z0-9\-.]{1,64}$/.test(v)) return targets.map((t) => `${t}/${v}`);
  const key = referenceKey(v);
  if (key === undefined) {
    throw badRequest(`Parameter '${name}': '${short(v)}' is not a reference ([type]/[id], [id] or a URL)`, name);
  }
  return [key];
}

function nonNegativeInteger(list: [string, string][], name: string): number | undefined {
  const hits = list.filter(([n]) => n === name);
  if (hits.length > 1) throw badRequest(`Parameter '${name}' may occur only once`, name);
  const v = hits[0]?.[1];
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v))
    throw badRequest(`Parameter '${name}' must be a non-negative integer, found '${short(v)}'`, name);
  return Number(v);
}

function parseInclude(type: DirectoryResourceType, value: string): IncludeRequest {
  const [source, param, target, ...rest] = value.split(':');
  const supported = INCLUDES[type].map((p) => `${type}:${p}`).join(', ');
  if (source !== type || param === undefined || rest.length > 0 || !INCLUDES[type].includes(param)) {
    throw badRequest(`Unsupported _include '${short(value)}' on ${type} (supported: ${supported})`, '_include');
  }
  const def = SEARCH_PARAMS[type][param] as ReferenceParam;
  const to = (target ?? def.targets[0]) as DirectoryResourceType;
  if (!def.targets.includes(to)) {
    throw badRequest(
      `Unsupported _include '${short(value)}' on ${type}: ${param} refers to ${def.targets.join(', ')}`,
      '_include',
    );
  }
  return { param, target: to };
}

/** Parses and checks a search; throws a 400 OperationOutcomeError naming the offending parameter. */
export function parseSearch(type: DirectoryResourceType, query: Query, options: ParseOptions = {}): SearchRequest {
  const list = pairs(query);
  const params = SEARCH_PARAMS[type];
  const filters: Filter[] = [];
  const includes: IncludeRequest[] = [];
  const echo: [string, string][] = [];
  const sort: { name: string; desc: boolean }[] = [];
  for (const [key, value] of list) {
    if (GENERAL.has(key) || key === '_count' || key === '_offset') continue;
    if (key === '_total') {
      // search.html#total: the count is always known here, so estimate and accurate are the same
      if (value !== 'none' && value !== 'estimate' && value !== 'accurate') {
        throw badRequest(`Parameter '_total' must be none, estimate or accurate, found '${short(value)}'`, '_total');
      }
      echo.push([key, value]);
      continue;
    }
    if (key === '_sort') {
      sort.push(...parseSort(type, value, options));
      echo.push([key, value]);
      continue;
    }
    if (key === '_include') {
      includes.push(parseInclude(type, value));
      echo.push([key, value]);
      continue;
    }
    const [name, modifier, ...extra] = key.split(':');
    const def = Object.hasOwn(params, name) ? params[name] : undefined;
    if (!def || extra.length > 0 || RESULT.has(name)) {
      if (options.lenient) continue;
      throw badRequest(
        `Unsupported parameter '${short(key)}' on ${type} search (supported: ${Object.keys(params).join(', ')}, _include, _sort, _count, _offset, _total, _format, _pretty)`,
        key,
      );
    }
    if (modifier !== undefined && !MODIFIERS[def.type].includes(modifier)) {
      if (options.lenient) continue;
      throw badRequest(`Unsupported modifier ':${short(modifier)}' on search parameter '${name}'`, key);
    }
    const values = splitEscaped(value, ',');
    if (def.type === 'token') {
      filters.push({ name, key: name, kind: 'keys', values: values.map(tokenQueryKey) });
    } else if (def.type === 'string') {
      const vs = values.map(unescapeValue);
      filters.push({ name, key: name, kind: 'string', modifier, values: modifier === 'exact' ? vs : vs.map(fold) });
    } else if (modifier === 'identifier') {
      filters.push({ name, key: `${name}:identifier`, kind: 'keys', values: values.map(tokenQueryKey) });
    } else {
      filters.push({
        name,
        key: name,
        kind: 'keys',
        values: values.flatMap((v) => referenceQueryKeys(v, def.targets, key)),
      });
    }
    echo.push([key, value]);
  }
  const requested = nonNegativeInteger(list, '_count') ?? DEFAULT_COUNT;
  const offset = nonNegativeInteger(list, '_offset') ?? 0;
  const noTotal = list.some(([k, v]) => k === '_total' && v === 'none');
  return {
    type,
    filters,
    includes,
    count: Math.min(requested, MAX_COUNT),
    offset,
    echo,
    ...(noTotal ? { noTotal } : {}),
    ...(sort.length > 0 ? { sort } : {}),
  };
}

/** The parameters a type's search can sort by: `_id` and its string parameters (names, cities). */
function sortable(type: DirectoryResourceType): string[] {
  const params = SEARCH_PARAMS[type];
  return ['_id', ...Object.keys(params).filter((n) => params[n].type === 'string')];
}

/** `_sort` (search.html#sort): a comma-separated list, `-` for descending. */
function parseSort(
  type: DirectoryResourceType,
  value: string,
  options: ParseOptions,
): { name: string; desc: boolean }[] {
  const out: { name: string; desc: boolean }[] = [];
  const allowed = sortable(type);
  for (const raw of value.split(',')) {
    const item = raw.trim();
    const desc = item.startsWith('-');
    const name = desc ? item.slice(1) : item;
    if (!allowed.includes(name)) {
      if (options.lenient) continue;
      throw badRequest(`_sort: cannot sort ${type} by '${short(name)}' (sortable: ${allowed.join(', ')})`, '_sort');
    }
    out.push({ name, desc });
  }
  return out;
}

/** The sort value of an entry: its id, or the first (folded) value of a string parameter. */
function sortValue(entry: Indexed, name: string): string | undefined {
  if (name === '_id') return entry.resource.id;
  return entry.strings.get(name)?.folded[0];
}

/** The order `_sort` asks for; a resource without a value comes last; ties keep the default order. */
function bySort(sort: readonly { name: string; desc: boolean }[]) {
  return (a: Indexed, b: Indexed): number => {
    for (const k of sort) {
      const va = sortValue(a, k.name);
      const vb = sortValue(b, k.name);
      if (va === vb) continue;
      if (va === undefined) return 1;
      if (vb === undefined) return -1;
      const c = va < vb ? -1 : 1;
      return k.desc ? -c : c;
    }
    return bySortKey(a, b);
  };
}

// --- Evaluation ------------------------------------------------------------------------------

function matches(entry: Indexed, f: Filter): boolean {
  if (f.kind === 'keys') {
    const keys = entry.keys.get(f.key);
    return keys !== undefined && f.values.some((v) => keys.has(v));
  }
  const s = entry.strings.get(f.key);
  if (!s) return false;
  if (f.modifier === 'exact') return s.raw.some((x) => f.values.includes(x));
  if (f.modifier === 'contains') return s.folded.some((x) => f.values.some((v) => x.includes(v)));
  return s.folded.some((x) => f.values.some((v) => x.startsWith(v)));
}

/** The matches of a search over several indexes (one per source), in one stable order. */
export function findMatches(indexes: readonly DirectoryIndex[], req: SearchRequest): DirectoryResource[] {
  const hits: Indexed[] = [];
  for (const index of indexes) {
    for (const entry of index.entries(req.type)) if (req.filters.every((f) => matches(entry, f))) hits.push(entry);
  }
  if (req.sort) hits.sort(bySort(req.sort));
  else if (indexes.length > 1) hits.sort(bySortKey);
  return hits.map((h) => h.resource);
}

export interface SearchBundleInput {
  req: SearchRequest;
  matches: readonly DirectoryResource[];
  baseUrl: string;
  /** finds a resource to `_include`, in whichever source holds it */
  resolve: (type: DirectoryResourceType, id: string) => DirectoryResource | undefined;
  /** warnings for the client (a source missing, stale data): one `outcome` entry */
  outcome?: OperationOutcome;
}

/**
 * The searchset Bundle (bundle.html#searchset): `total`, the page's matches (`match`), the resources
 * they reference that `_include` asks for (`include`, once each, not counted), and the warnings
 * (`outcome`), with self/first/previous/next/last links.
 */
export function searchBundle(input: SearchBundleInput): Bundle {
  const { req, baseUrl } = input;
  const bundle = searchsetBundle<DirectoryResource>({
    baseUrl,
    resourceType: req.type,
    matches: input.matches,
    offset: req.offset,
    count: req.count,
    params: req.echo,
    includeTotal: req.noTotal !== true,
  }) as Bundle;
  const entries: BundleEntry[] = bundle.entry ?? [];
  const seen = new Set(entries.map((e) => `${e.resource?.resourceType}/${e.resource?.id}`));
  if (req.includes.length > 0) {
    const page = entries.map((e) => e.resource as DirectoryResource);
    for (const inc of req.includes) {
      const def = SEARCH_PARAMS[req.type][inc.param] as ReferenceParam;
      for (const r of page) {
        for (const ref of def.references(r)) {
          const key = ref.reference ? referenceKey(ref.reference) : undefined;
          if (key === undefined || seen.has(key)) continue;
          const [type, id] = key.split('/') as [DirectoryResourceType, string];
          if (type !== inc.target) continue;
          const found = input.resolve(type, id);
          if (!found) continue;
          seen.add(key);
          entries.push({ fullUrl: `${baseUrl}/${key}`, resource: found, search: { mode: 'include' } });
        }
      }
    }
  }
  if (input.outcome && (input.outcome.issue ?? []).length > 0) {
    entries.push({ resource: input.outcome, search: { mode: 'outcome' } });
  }
  if (entries.length > 0) bundle.entry = entries;
  return bundle;
}
