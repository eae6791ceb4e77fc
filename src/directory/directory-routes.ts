import type { CapabilityStatementRestResource } from '@medplum/fhirtypes';
import express, { type Request, type Router } from 'express';
import { noBasisProfile } from '../../mappings/systems.ts';
import type { BaseUrlOf } from '../http/base-url.ts';
import { contentNegotiation, sendResource } from '../http/content.ts';
import { badRequest, notFound } from '../http/outcome.ts';
import { isLenient, methodNotAllowed } from '../http/routing.ts';
import { DIRECTORY_TYPES, type DirectoryResourceType, INCLUDES, SEARCH_PARAMS } from './directory-search.ts';
import type { DirectoryService } from './directory-service.ts';
import type { DirectoryEndpoint } from './endpoint.ts';

/**
 * Express routers for the FNSP/bandagist directory resources (HealthcareService, Organization,
 * Location) and their CapabilityStatement entries, from one registry (directory-search.ts). The app
 * takes them as DirectoryEndpoints (src/directory/endpoint.ts), mounting each router at
 * `/fhir/<type>`:
 *
 *   createApp(config, { ..., directory: [...fnspDirectoryEndpoints({ directory, baseUrl: config.publicBaseUrl })] })
 *
 * Interactions (FHIR R4 http.html): read `GET [type]/[id]`, vread of the current version
 * `GET [type]/[id]/_history/[vid]`, search `GET [type]?…`. Other methods are 405. Errors are thrown
 * as OperationOutcomeErrors and rendered by the app's error handler (src/http/errors.ts).
 */

export interface DirectoryRouteDeps {
  directory: DirectoryService;
  /** absolute base of the FHIR endpoint for fullUrl and paging links: fixed, or per request (http/base-url.ts) */
  baseUrl: string | BaseUrlOf;
}

/** Query parameters a read accepts (http.html#parameters). */
const READ_PARAMS = new Set(['_format', '_pretty']);

function checkReadParams(req: Request, type: string): void {
  if (isLenient(req)) return;
  for (const name of Object.keys(req.query as Record<string, unknown>)) {
    if (!READ_PARAMS.has(name)) {
      throw badRequest(
        `Unsupported parameter '${name.slice(0, 60)}' on ${type} read (supported: _format, _pretty)`,
        name,
      );
    }
  }
}

function checkId(type: string, id: string): void {
  if (id.startsWith('$')) throw notFound(`Operation ${id.slice(0, 64)} is not supported on ${type}`);
}

/** The router of one directory resource type, with paths relative to `/fhir/<type>`. */
export function typeRouter(type: DirectoryResourceType, deps: DirectoryRouteDeps): Router {
  const { directory, baseUrl } = deps;
  const router = express.Router({ caseSensitive: true });
  const negotiate = contentNegotiation();
  router
    .route('/')
    .get(negotiate, async (req, res) => {
      const bundle = await directory.search(type, req.query as Record<string, unknown>, {
        baseUrl: typeof baseUrl === 'string' ? baseUrl : baseUrl(req),
        lenient: isLenient(req),
      });
      sendResource(req, res, bundle);
    })
    .all(methodNotAllowed(['GET']));
  router
    .route('/:id')
    .get(negotiate, async (req, res) => {
      const id = req.params.id as string;
      checkId(type, id);
      checkReadParams(req, type);
      sendResource(req, res, await directory.read(type, id));
    })
    .all(methodNotAllowed(['GET']));
  router
    .route('/:id/_history/:vid')
    .get(negotiate, async (req, res) => {
      checkReadParams(req, type);
      sendResource(req, res, await directory.vread(type, req.params.id as string, req.params.vid as string));
    })
    .all(methodNotAllowed(['GET']));
  return router;
}

/** Routers for `/fhir/HealthcareService`, `/fhir/Organization`, `/fhir/Location` (paths relative to that mount). */
export const healthcareServiceRouter = (deps: DirectoryRouteDeps): Router => typeRouter('HealthcareService', deps);
export const organizationRouter = (deps: DirectoryRouteDeps): Router => typeRouter('Organization', deps);
export const locationRouter = (deps: DirectoryRouteDeps): Router => typeRouter('Location', deps);

/** The directory as the app's endpoint list: one DirectoryEndpoint per type some source serves. */
export function fnspDirectoryEndpoints(deps: DirectoryRouteDeps): DirectoryEndpoint[] {
  return deps.directory.types().map((type) => ({
    type,
    router: typeRouter(type, deps),
    capability: () => directoryCapabilityResource(type),
  }));
}

/** A router to mount at the FHIR base (`/fhir`) holding every type's routes (tests; the app uses the endpoints). */
export function directoryRouter(deps: DirectoryRouteDeps): Router {
  const router = express.Router({ caseSensitive: true });
  for (const e of fnspDirectoryEndpoints(deps)) router.use(`/${e.type}`, e.router);
  return router;
}

/**
 * The CapabilityStatement.rest.resource entries of the directory (capabilitystatement.html), from
 * the same registry the search uses (directory-search.ts SEARCH_PARAMS and INCLUDES).
 */
export function directoryCapabilityResources(
  types: readonly DirectoryResourceType[] = DIRECTORY_TYPES,
): CapabilityStatementRestResource[] {
  return types.map(directoryCapabilityResource);
}

/** The CapabilityStatement.rest.resource entry of one directory type. */
export function directoryCapabilityResource(type: DirectoryResourceType): CapabilityStatementRestResource {
  return {
    type,
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    supportedProfile: [noBasisProfile(type)],
    interaction: [{ code: 'read' }, { code: 'vread' }, { code: 'search-type' }],
    versioning: 'versioned',
    readHistory: false,
    updateCreate: false,
    searchInclude: INCLUDES[type].map((p) => `${type}:${p}`),
    searchParam: Object.entries(SEARCH_PARAMS[type]).map(([name, p]) => ({
      name,
      definition: p.definition,
      type: p.type,
      documentation: p.documentation,
    })),
  };
}
