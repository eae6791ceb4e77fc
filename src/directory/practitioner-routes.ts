import type { CapabilityStatementRestResource, Practitioner } from '@medplum/fhirtypes';
import express, { type Request, type Router } from 'express';
import { HPR_IDENTIFIER_SYSTEM, NO_BASIS_PRACTITIONER_PROFILE } from '../../mappings/systems.ts';
import type { BaseUrlOf } from '../http/base-url.ts';
import { searchsetBundle } from '../http/bundle.ts';
import { contentNegotiation, sendResource } from '../http/content.ts';
import { badRequest, notFound, OperationOutcomeError } from '../http/outcome.ts';
import { pathOf } from '../http/request-log.ts';
import { isLenient, methodNotAllowed } from '../http/routing.ts';
import { HPR_NUMBER, type PractitionerService, type PractitionerStatus } from './practitioner-service.ts';

/**
 * The Practitioner endpoints (FHIR R4 http.html#read, http.html#search), as a Router to mount at
 * `/fhir/Practitioner`:
 * - `GET /Practitioner/{hprNummer}`: read;
 * - `GET /Practitioner?identifier=urn:oid:2.16.578.1.12.4.1.4.4|{n}` (or `_id={n}`): search by HPR number;
 * - `GET /Practitioner?family=…&birthdate=yyyy-MM-dd`: search by surname and birth date, the search
 *   HPR offers (both are needed);
 * - `_count` and `_offset` page a searchset Bundle; `_format` and `_pretty` as everywhere.
 * Any other parameter, modifier or prefix is a 400 (never ignored), unless the request says
 * `Prefer: handling=lenient` (search.html#errors). Errors are thrown as OperationOutcomeErrors for
 * the app's error handler.
 */

export interface PractitionerRouterOptions {
  /** the absolute FHIR base for Bundle links and fullUrls (config.publicBaseUrl); default: from the request */
  baseUrl?: string | BaseUrlOf;
}

/** Identifier systems that mean an HPR number: the OID (no-basis) and no-basis' other NamingSystem uniqueId. */
const HPR_SYSTEMS = new Set([HPR_IDENTIFIER_SYSTEM, 'http://hl7.no/fhir/NamingSystem/HPR']);

/** The search parameters offered; the values are the SearchParameters they are (for the CapabilityStatement). */
export const PRACTITIONER_SEARCH_PARAMS = {
  _id: { type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id' },
  identifier: { type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Practitioner-identifier' },
  family: { type: 'string', definition: 'http://hl7.org/fhir/SearchParameter/individual-family' },
  birthdate: { type: 'date', definition: 'http://hl7.org/fhir/SearchParameter/individual-birthdate' },
} as const;

type SearchParamName = keyof typeof PRACTITIONER_SEARCH_PARAMS;

const GENERAL_PARAMS = new Set(['_format', '_pretty']);
const PAGING_PARAMS = new Set(['_count', '_offset']);
const DEFAULT_COUNT = 20;
const MAX_COUNT = 1000;

export function practitionerRouter(service: PractitionerService, options: PractitionerRouterOptions = {}): Router {
  const router = express.Router({ caseSensitive: true });
  // repeated here so that the router works wherever it is mounted (it is idempotent)
  router.use(contentNegotiation());

  router
    .route('/')
    .get(async (req, res) => {
      const baseUrl =
        options.baseUrl === undefined
          ? baseUrlOf(req)
          : typeof options.baseUrl === 'string'
            ? options.baseUrl
            : options.baseUrl(req);
      sendResource(req, res, await searchPractitioners(service, req.query, baseUrl, isLenient(req)));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/:id')
    .get(async (req, res) => {
      const id = req.params.id;
      if (id.startsWith('$')) throw notFound(`Operation ${short(id)} is not supported on Practitioner`);
      checkReadParams(req.query, isLenient(req));
      const found = await service.read(id);
      // how old the data is (RFC 9111 §5.1): more than HPR_CACHE_TTL when HPR could not be asked
      res.setHeader('Age', String(found.ageSeconds));
      sendResource(req, res, found.practitioner);
    })
    .all((req, _res, next) => {
      if (req.params.id.startsWith('$'))
        throw notFound(`Operation ${short(req.params.id)} is not supported on Practitioner`);
      methodNotAllowed(['GET'])(req, _res, next);
    });

  router.use((req: Request) => {
    throw notFound(`Unknown path ${req.method} ${pathOf(req)}`);
  });
  return router;
}

/**
 * The CapabilityStatement `rest.resource` entry for Practitioner. Its documentation says whether HPR
 * look-ups are configured; unconfigured, the interactions are still listed (the routes answer 503).
 */
export function practitionerCapability(status: PractitionerStatus): CapabilityStatementRestResource {
  const state = status.configured
    ? `Configured: persons are read from HPR (${status.extended ? 'nhn:hpr/extended' : 'nhn:hpr/basic'}) through Maskinporten, cached, within HPR's rate limit.${status.synthetic ? ' The data are synthetic test data.' : ''}`
    : `Not configured on this server: every Practitioner request answers 503 (missing settings: ${status.missing.join(', ')}).`;
  return {
    type: 'Practitioner',
    profile: 'http://hl7.org/fhir/StructureDefinition/Practitioner',
    supportedProfile: [NO_BASIS_PRACTITIONER_PROFILE],
    documentation:
      'Health personnel from Helsepersonellregisteret (HPR, Helsedirektoratet) as no-basis-Practitioner, read by HPR number ' +
      `(the resource id; identifier system ${HPR_IDENTIFIER_SYSTEM}) or searched by family and birthdate together. ` +
      'Source and licence are named in meta.source, meta.tag and the narrative. A fødselsnummer is never returned. ' +
      state,
    interaction: [{ code: 'read' }, { code: 'search-type' }],
    versioning: 'no-version',
    readHistory: false,
    updateCreate: false,
    conditionalCreate: false,
    conditionalRead: 'not-supported',
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    searchParam: (
      Object.entries(PRACTITIONER_SEARCH_PARAMS) as [
        SearchParamName,
        { type: 'token' | 'string' | 'date'; definition: string },
      ][]
    ).map(([name, p]) => ({ name, type: p.type, definition: p.definition, documentation: SEARCH_DOCS[name] })),
  };
}

const SEARCH_DOCS: Record<SearchParamName, string> = {
  _id: 'The HPR number; one value.',
  identifier: `${HPR_IDENTIFIER_SYSTEM}|{HPR number}; one value. Other identifier systems are not searchable.`,
  family: 'Starts with, ignoring case and accents. Only together with birthdate (HPR searches by both).',
  birthdate: 'A full date (yyyy-MM-dd), optionally with the eq prefix. Only together with family.',
};

// --- Search ------------------------------------------------------------------------------------

type Query = Record<string, unknown>;

function pairs(query: Query): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, raw] of Object.entries(query)) {
    for (const v of Array.isArray(raw) ? raw : [raw]) {
      // search.html: a parameter with an empty value is ignored
      if (typeof v === 'string' && v !== '') out.push([name, v]);
      else if (typeof v !== 'string') throw badRequest(`Parameter '${short(name)}' has an unreadable value`, name);
    }
  }
  return out;
}

function checkReadParams(query: Query, lenient: boolean): void {
  for (const [name] of pairs(query)) {
    if (!GENERAL_PARAMS.has(name) && !lenient) {
      throw badRequest(`Unsupported parameter '${short(name)}' on Practitioner read`, name);
    }
  }
}

interface ParsedSearch {
  values: Partial<Record<SearchParamName, string>>;
  /** what the Bundle's links repeat */
  echoed: [string, string][];
  count: number;
  offset: number;
}

function parseSearch(query: Query, lenient: boolean): ParsedSearch {
  const values: Partial<Record<SearchParamName, string>> = {};
  const echoed: [string, string][] = [];
  const paging: Record<string, string> = {};
  const supported = Object.keys(PRACTITIONER_SEARCH_PARAMS).join(', ');
  for (const [key, value] of pairs(query)) {
    if (GENERAL_PARAMS.has(key)) continue;
    if (PAGING_PARAMS.has(key)) {
      if (paging[key] !== undefined) throw badRequest(`Parameter '${key}' may occur only once`, key);
      paging[key] = value;
      continue;
    }
    const [name, modifier] = key.split(':', 2);
    if (!Object.hasOwn(PRACTITIONER_SEARCH_PARAMS, name)) {
      if (lenient) continue;
      throw badRequest(`Unsupported parameter '${short(key)}' on Practitioner search (supported: ${supported})`, key);
    }
    if (modifier !== undefined) {
      if (lenient) continue;
      throw badRequest(`Unsupported modifier ':${short(modifier)}' on search parameter '${name}'`, key);
    }
    const param = name as SearchParamName;
    if (values[param] !== undefined) throw badRequest(`Parameter '${param}' may occur only once`, param);
    if (param !== 'family' && value.includes(',')) {
      throw badRequest(`Parameter '${param}' takes one value here (no comma-separated alternatives)`, param);
    }
    values[param] = value;
    echoed.push([param, value]);
  }
  return {
    values,
    echoed,
    count: Math.min(nonNegativeInteger(paging._count, '_count') ?? DEFAULT_COUNT, MAX_COUNT),
    offset: nonNegativeInteger(paging._offset, '_offset') ?? 0,
  };
}

/** The HPR number an `identifier` token asks for; null when it cannot match any Practitioner here. */
function hprNumberOfIdentifier(token: string): string | null {
  const bar = token.indexOf('|');
  if (bar < 0) return token; // no system: any system may match, so the HPR one may
  const system = token.slice(0, bar);
  const value = token.slice(bar + 1);
  // `|value` asks for identifiers without a system; ours always have one
  if (system === '') return null;
  if (!HPR_SYSTEMS.has(system)) {
    throw badRequest(
      `Practitioners can be searched by HPR number only (identifier system ${HPR_IDENTIFIER_SYSTEM}), not by '${short(system)}'`,
      'identifier',
    );
  }
  if (value === '') throw badRequest('The identifier has a system but no value', 'identifier');
  return value;
}

/** `birthdate`: a full date with no prefix or `eq` (search.html#date); HPR takes the exact date. */
function birthDateOf(value: string): string {
  const m = /^(eq)?(\d{4}-\d{2}-\d{2})$/.exec(value);
  if (!m) {
    const prefix = /^(ne|gt|lt|ge|le|sa|eb|ap)/.exec(value)?.[1];
    throw badRequest(
      prefix
        ? `The prefix '${prefix}' is not supported on birthdate: HPR searches by the exact date`
        : `birthdate must be a full date (yyyy-MM-dd), got '${short(value)}'`,
      'birthdate',
    );
  }
  const [y, mo, d] = m[2].split('-').map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
    throw badRequest(`birthdate '${short(value)}' is not a valid date`, 'birthdate');
  }
  return m[2];
}

/** GET [base]/Practitioner?…: a searchset Bundle. */
export async function searchPractitioners(
  service: PractitionerService,
  query: Query,
  baseUrl: string,
  lenient = false,
) {
  const { values, echoed, count, offset } = parseSearch(query, lenient);
  const byNumber = values._id !== undefined || values.identifier !== undefined;
  const byName = values.family !== undefined || values.birthdate !== undefined;
  if (byNumber && byName) {
    throw badRequest('Search either by HPR number (identifier or _id) or by family and birthdate, not both');
  }
  let matches: Practitioner[];
  if (byNumber) {
    const fromId = values._id;
    const fromIdentifier = values.identifier === undefined ? undefined : hprNumberOfIdentifier(values.identifier);
    const wanted = new Set([fromId, fromIdentifier].filter((v) => v !== undefined));
    // `_id=1&identifier=…|2` can match nobody; so can a value that is not an HPR number
    const [n] = wanted;
    matches =
      wanted.size === 1 && n !== null && n !== undefined && HPR_NUMBER.test(n) ? await readOrNone(service, n) : [];
  } else if (byName) {
    if (values.family === undefined || values.birthdate === undefined) {
      throw badRequest('HPR searches by surname and birth date together: give both family and birthdate');
    }
    const family = values.family.trim();
    if (family === '' || family.length > 100) throw badRequest('family must be 1 to 100 characters', 'family');
    matches = await service.search(family, birthDateOf(values.birthdate));
  } else {
    throw badRequest(
      'A Practitioner search needs identifier (or _id), or family and birthdate: HPR cannot list all persons',
    );
  }
  return searchsetBundle<Practitioner>({
    baseUrl,
    resourceType: 'Practitioner',
    matches,
    offset,
    count,
    params: echoed,
  });
}

async function readOrNone(service: PractitionerService, n: string): Promise<Practitioner[]> {
  try {
    return [(await service.read(n)).practitioner];
  } catch (err) {
    // a search that finds nobody is an empty Bundle, not a 404
    if (err instanceof OperationOutcomeError && err.status === 404) return [];
    throw err;
  }
}

// --- Helpers ----------------------------------------------------------------------------------

function nonNegativeInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) {
    throw badRequest(`Parameter '${name}' must be a non-negative integer, found '${short(value)}'`, name);
  }
  return Number(value);
}

function short(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

/** The FHIR base as this request reached it: the mount point without `/Practitioner`. */
function baseUrlOf(req: Request): string {
  const mount = req.baseUrl.replace(/\/Practitioner$/, '');
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${mount}`;
}
