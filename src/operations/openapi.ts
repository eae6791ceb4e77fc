import { createHash } from 'node:crypto';
import type { CapabilityStatementRestResource } from '@medplum/fhirtypes';
import type { Request, RequestHandler, Response } from 'express';
import { sendOpenApiPage } from '../html/respond.ts';
import { ifNoneMatchMatches } from '../http/conditional.ts';
import { acceptedFormat, queryString } from '../http/content.ts';
import type { RouteMetrics } from '../http/metrics.ts';
import { edgeParameters, type OperationTarget } from '../http/operation-handler.ts';
import type { ParamDef, ParamType } from '../http/params.ts';
import { SUMMARY_MODES } from '../http/summary.ts';
import { TX_RESOURCE_TYPES } from '../terminology/store.ts';
import { SOFTWARE } from './metadata.ts';
import { DEFAULT_COUNT, MAX_COUNT, READ_PARAMS, RESULT_PARAMS, SEARCH_PARAMS } from './resource-read-search.ts';
import type { OperationDef } from './types.ts';

/**
 * `GET /openapi.json`: an OpenAPI 3.0 description of every path the server answers, built once at
 * start-up from what the routes are built from (STYLE.md example 4): the operation registry at the
 * paths app.ts routes it (system, type and instance level; GET with the parameters a URL can carry,
 * POST with a Parameters body), the read and search of the terminology types with their search
 * parameters, the directory types as their CapabilityStatement entries describe them, `metadata`
 * and the service paths. https://spec.openapis.org/oas/v3.0.3
 *
 * FHIR's own definitions stay the reference: each operation links its OperationDefinition, each
 * resource schema names the R4 page of its type, and the schemas check only `resourceType`.
 */

export const OPENAPI_VERSION = '3.0.3';

type Schema = Record<string, unknown>;

export interface ParameterObject {
  name: string;
  in: 'query' | 'path';
  required?: boolean;
  description?: string;
  schema: Schema;
}

type Ref = { $ref: string };

export interface OperationObject {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  externalDocs?: { url: string; description?: string };
  parameters?: (ParameterObject | Ref)[];
  requestBody?: { description: string; required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, Ref | { description: string; content?: Record<string, { schema: Schema }> }>;
  /** the FHIR parameters of an operation's POST body: name, type, cardinality */
  'x-fhir-parameters'?: { name: string; type: ParamType; min: number; max: string; resourceTypes?: string[] }[];
  /** where a FHIR operation is invoked: system, type or instance */
  'x-fhir-level'?: 'system' | 'type' | 'instance';
}

export type PathItem = { get?: OperationObject; post?: OperationObject; parameters?: ParameterObject[] };

export interface OpenApiDocument {
  openapi: typeof OPENAPI_VERSION;
  info: { title: string; version: string; description: string; license: { name: string } };
  servers: { url: string; description: string }[];
  tags: { name: string; description?: string }[];
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, Schema>;
    parameters: Record<string, ParameterObject>;
    responses: Record<string, { description: string; content: Record<string, { schema: Schema }> }>;
  };
}

export interface OpenApiSource {
  /** PUBLIC_BASE_URL: its origin is the server URL, the paths are absolute */
  publicBaseUrl: string;
  /** where the FHIR endpoint is mounted (`/fhir`) */
  fhirMount: string;
  /** the paths outside the FHIR endpoint, each answering GET (app.ts SERVICE_PATHS) */
  servicePaths: readonly string[];
  /** each operation at each path it is routed at (app.ts operationRoutes) */
  operationRoutes: readonly { path: string; def: OperationDef; target: OperationTarget }[];
  /** the directory types' CapabilityStatement entries (their routers answer what these list) */
  directory: readonly CapabilityStatementRestResource[];
}

const FHIR_JSON = 'application/fhir+json';
const ref = (kind: 'schemas' | 'parameters' | 'responses', name: string): Ref => ({
  $ref: `#/components/${kind}/${name}`,
});
/** The parameters of the HTTP exchange every FHIR interaction takes (http.html#parameters). */
const GENERAL_PARAMETERS = ['_format', '_pretty'];

/** What each service path answers. A path without an entry is described as plain JSON. */
const SERVICE_DESCRIPTIONS: Record<string, { summary: string; content: string; schema: Schema }> = {
  '/healthz': {
    summary: 'Liveness: answers while the process serves.',
    content: 'application/json',
    schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] },
  },
  '/readyz': {
    summary:
      'Readiness: the number of code systems, value sets and concept maps served, where the data come from and how old they are, the state of the directory sources.',
    content: 'application/json',
    schema: { type: 'object', properties: { status: { type: 'string', enum: ['ready'] } }, required: ['status'] },
  },
  '/metrics': {
    summary: 'Metrics in the Prometheus text exposition format (version 0.0.4).',
    content: 'text/plain',
    schema: { type: 'string' },
  },
  '/openapi.json': {
    summary: 'This OpenAPI description.',
    content: 'application/json',
    schema: { type: 'object' },
  },
};

/** The OpenAPI document of the server. */
export function openApiDocument(src: OpenApiSource): OpenApiDocument {
  const paths: Record<string, PathItem> = {};
  const schemas = new Set<string>(['Resource', 'OperationOutcome', 'Parameters', 'Bundle']);
  const fhir = (path: string) => `${src.fhirMount}${path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
  const at = (path: string): PathItem => {
    paths[path] ??= {};
    return paths[path];
  };

  for (const path of src.servicePaths) at(path).get = serviceOperation(path);

  at(fhir('/metadata')).get = {
    operationId: 'metadata',
    summary: 'The CapabilityStatement, or with mode=terminology the TerminologyCapabilities.',
    tags: ['System'],
    externalDocs: { url: 'http://hl7.org/fhir/R4/http.html#capabilities' },
    parameters: [
      {
        name: 'mode',
        in: 'query',
        description: 'full and normative give the CapabilityStatement too',
        schema: { type: 'string', enum: ['full', 'normative', 'terminology'] },
      },
      ...GENERAL_PARAMETERS.map((p) => ref('parameters', p)),
    ],
    responses: fhirResponses('CapabilityStatement or TerminologyCapabilities', 'Resource'),
  };
  schemas.add('CapabilityStatement').add('TerminologyCapabilities');

  for (const type of TX_RESOURCE_TYPES) {
    schemas.add(type);
    at(fhir(`/${type}`)).get = {
      operationId: `${type}-search`,
      summary: `Search ${type} resources: a searchset Bundle.`,
      tags: [type],
      externalDocs: { url: 'http://hl7.org/fhir/R4/http.html#search' },
      parameters: [
        ...Object.entries(SEARCH_PARAMS).map(([name, p]) =>
          query(
            name,
            { type: 'string' },
            `${p.type} search parameter (${p.definition})${p.modifiers.length > 0 ? `; modifiers ${p.modifiers.map((m) => `:${m}`).join(', ')}` : ''}; a comma means OR`,
          ),
        ),
        ...resultParameters(RESULT_PARAMS, true),
      ],
      responses: fhirResponses('A searchset Bundle', 'Bundle'),
    };
    at(fhir(`/${type}/{id}`)).get = {
      operationId: `${type}-read`,
      summary: `Read a ${type} by id.`,
      tags: [type],
      externalDocs: { url: 'http://hl7.org/fhir/R4/http.html#read' },
      parameters: [idParameter('id'), ...resultParameters(READ_PARAMS, false)],
      responses: fhirResponses(`The ${type}`, type),
    };
  }

  for (const { path, def, target } of src.operationRoutes) {
    const item = at(fhir(path));
    const level = target.instance ? 'instance' : target.resourceType ? 'type' : 'system';
    const where = target.resourceType ?? 'system';
    const name = `${where}-${def.code}${level === 'instance' ? '-instance' : ''}`;
    const params = edgeParameters(def);
    const common = {
      tags: [target.resourceType ?? 'System'],
      externalDocs: { url: def.definition, description: 'The OperationDefinition' },
      'x-fhir-level': level,
      responses: fhirResponses('The result (Parameters, or the resource the operation returns)', 'Resource'),
    } as const;
    const summary = `$${def.code} at ${level} level${target.resourceType ? ` on ${target.resourceType}` : ''}`;
    const pathParameters = target.instance ? [idParameter('id')] : [];
    if (def.get) {
      item.get = {
        operationId: `${name}-get`,
        summary,
        description: 'Parameters of primitive types in the query string (a Coding or CodeableConcept as system|code).',
        parameters: [
          ...pathParameters,
          ...params.filter((p) => inUrl(p.type)).map(operationParameter),
          ...GENERAL_PARAMETERS.map((p) => ref('parameters', p)),
        ],
        ...common,
        tags: [...common.tags],
      };
    }
    item.post = {
      operationId: `${name}-post`,
      summary,
      description: `A Parameters resource with the operation's parameters (listed in x-fhir-parameters); tx-resource adds CodeSystems, ValueSets and ConceptMaps for this request only.`,
      parameters: [...pathParameters, ...GENERAL_PARAMETERS.map((p) => ref('parameters', p))],
      requestBody: {
        description: 'A Parameters resource',
        required: false,
        content: {
          [FHIR_JSON]: { schema: ref('schemas', 'Parameters') },
          'application/json': { schema: ref('schemas', 'Parameters') },
        },
      },
      'x-fhir-parameters': params.map((p) => ({
        name: p.name,
        type: p.type,
        min: p.min ?? 0,
        max: String(p.max ?? 1),
        ...(p.resourceTypes ? { resourceTypes: [...p.resourceTypes] } : {}),
      })),
      ...common,
      tags: [...common.tags],
    };
  }

  for (const entry of src.directory) {
    const type = entry.type;
    schemas.add(type);
    const interactions = new Set((entry.interaction ?? []).map((i) => i.code));
    if (interactions.has('search-type')) {
      at(fhir(`/${type}`)).get = {
        operationId: `${type}-search`,
        summary: `Search ${type} resources: a searchset Bundle.`,
        ...(entry.documentation ? { description: entry.documentation } : {}),
        tags: [type],
        externalDocs: { url: 'http://hl7.org/fhir/R4/http.html#search' },
        parameters: [
          ...(entry.searchParam ?? []).map((p) =>
            query(p.name, { type: 'string' }, [p.type, p.documentation, p.definition].filter(Boolean).join('; ')),
          ),
          ...(entry.searchInclude && entry.searchInclude.length > 0
            ? [
                query(
                  '_include',
                  { type: 'array', items: { type: 'string', enum: entry.searchInclude } },
                  'Resources to include',
                ),
              ]
            : []),
          query(
            '_count',
            { type: 'integer', minimum: 0 },
            `Page size (default ${DEFAULT_COUNT}, at most ${MAX_COUNT})`,
          ),
          query('_offset', { type: 'integer', minimum: 0 }, 'Matches to skip'),
          ...GENERAL_PARAMETERS.map((p) => ref('parameters', p)),
        ],
        responses: fhirResponses('A searchset Bundle', 'Bundle'),
      };
    }
    if (interactions.has('read')) {
      at(fhir(`/${type}/{id}`)).get = {
        operationId: `${type}-read`,
        summary: `Read a ${type} by id.`,
        tags: [type],
        externalDocs: { url: 'http://hl7.org/fhir/R4/http.html#read' },
        parameters: [idParameter('id'), ...GENERAL_PARAMETERS.map((p) => ref('parameters', p))],
        responses: fhirResponses(`The ${type}`, type),
      };
    }
    if (interactions.has('vread')) {
      at(fhir(`/${type}/{id}/_history/{vid}`)).get = {
        operationId: `${type}-vread`,
        summary: `Read the current version of a ${type} by id and version id (only the current version is kept).`,
        tags: [type],
        externalDocs: { url: 'http://hl7.org/fhir/R4/http.html#vread' },
        parameters: [idParameter('id'), idParameter('vid'), ...GENERAL_PARAMETERS.map((p) => ref('parameters', p))],
        responses: fhirResponses(`The ${type}`, type),
      };
    }
  }

  const tags = new Set<string>(['Service', 'System']);
  for (const item of Object.values(paths))
    for (const op of [item.get, item.post]) for (const t of op?.tags ?? []) tags.add(t);

  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'FHIR R4 terminology server for Norwegian health open data',
      version: SOFTWARE.version,
      description:
        'Read-only FHIR R4: terminology operations on CodeSystem, ValueSet and ConceptMap, and the directory types. ' +
        'FHIR JSON (application/fhir+json), and FHIR XML (application/fhir+xml) when _format or Accept asks for it. Every error is an OperationOutcome. The CapabilityStatement (GET /fhir/metadata) is the FHIR description of the same.',
      license: { name: 'MIT' },
    },
    servers: [{ url: new URL(src.publicBaseUrl).origin, description: 'PUBLIC_BASE_URL' }],
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: {
      schemas: Object.fromEntries([...schemas].map((t) => [t, resourceSchema(t)])),
      parameters: {
        _format: {
          name: '_format',
          in: 'query',
          description: 'json, application/fhir+json or application/json (XML is not served: 406)',
          schema: { type: 'string' },
        },
        _pretty: { name: '_pretty', in: 'query', description: 'Indent the JSON', schema: { type: 'boolean' } },
      },
      responses: {
        Error: {
          description:
            'An OperationOutcome: 4xx for a request the server cannot answer, 502/503/504 for an upstream outage or overload, 500 for a bug (no details)',
          content: { [FHIR_JSON]: { schema: ref('schemas', 'OperationOutcome') } },
        },
      },
    },
  };
}

function serviceOperation(path: string): OperationObject {
  const d = SERVICE_DESCRIPTIONS[path] ?? { summary: path, content: 'application/json', schema: { type: 'object' } };
  return {
    operationId: path.replace(/^\//, '').replace(/\W+/g, '-'),
    summary: d.summary,
    tags: ['Service'],
    responses: {
      '200': { description: d.summary, content: { [d.content]: { schema: d.schema } } },
      ...(path === '/openapi.json' ? { '304': { description: 'Not modified (If-None-Match)' } } : {}),
    },
  };
}

function fhirResponses(description: string, schema: string): OperationObject['responses'] {
  return {
    '200': { description, content: { [FHIR_JSON]: { schema: ref('schemas', schema) } } },
    default: ref('responses', 'Error'),
  };
}

/** A FHIR resource type's schema: a JSON object of that `resourceType`; its R4 page is the definition. */
function resourceSchema(type: string): Schema {
  if (type === 'Resource') {
    return {
      type: 'object',
      description: 'A FHIR R4 resource',
      required: ['resourceType'],
      properties: { resourceType: { type: 'string' } },
    };
  }
  return {
    type: 'object',
    description: `A FHIR R4 ${type}: http://hl7.org/fhir/R4/${type.toLowerCase()}.html`,
    required: ['resourceType'],
    properties: { resourceType: { type: 'string', enum: [type] } },
  };
}

function query(name: string, schema: Schema, description: string): ParameterObject {
  return { name, in: 'query', description, schema };
}

function idParameter(name: 'id' | 'vid'): ParameterObject {
  return {
    name,
    in: 'path',
    required: true,
    description: name === 'id' ? 'The logical id' : 'The version id',
    schema: { type: 'string' },
  };
}

/** The interaction parameters of a read or search (the sets resource-read-search.ts accepts). */
function resultParameters(names: ReadonlySet<string>, search: boolean): (ParameterObject | Ref)[] {
  return [...names].map((name) => {
    switch (name) {
      case '_format':
      case '_pretty':
        return ref('parameters', name);
      case '_summary':
        return query(
          name,
          { type: 'string', enum: SUMMARY_MODES.filter((m) => search || m !== 'count') },
          'A summary of each resource (search.html#summary)',
        );
      case '_elements':
        return query(name, { type: 'string' }, 'The elements to return, comma-separated (search.html#elements)');
      case '_count':
        return query(
          name,
          { type: 'integer', minimum: 0 },
          `Page size (default ${DEFAULT_COUNT}, at most ${MAX_COUNT})`,
        );
      case '_offset':
        return query(name, { type: 'integer', minimum: 0 }, 'Matches to skip');
      default:
        return query(name, { type: 'string' }, name);
    }
  });
}

/** Whether a parameter of this type can be given in a URL (operations.html#executing: primitives only). */
function inUrl(type: ParamType): boolean {
  return type !== 'Resource' && type !== 'part';
}

function operationParameter(p: ParamDef): ParameterObject {
  const one = primitiveSchema(p.type);
  const many = p.max === '*' || (typeof p.max === 'number' && p.max > 1);
  return {
    name: p.name,
    in: 'query',
    ...((p.min ?? 0) > 0 ? { required: true } : {}),
    description: `FHIR ${p.type}${p.type === 'Coding' || p.type === 'CodeableConcept' ? ' as system|code' : ''}, ${p.min ?? 0}..${p.max ?? 1}`,
    schema: many ? { type: 'array', items: one } : one,
  };
}

function primitiveSchema(type: ParamType): Schema {
  switch (type) {
    case 'boolean':
      return { type: 'boolean' };
    case 'integer':
      return { type: 'integer', format: 'int32' };
    default:
      return { type: 'string' };
  }
}

/**
 * The `GET /openapi.json` handler: the document serialised once, with a strong ETag so a client can
 * ask again cheaply (`Cache-Control: no-cache`, 304 on If-None-Match): it changes with a deployment,
 * never while the process runs.
 */
export function openApiHandler(doc: OpenApiDocument, route: RouteMetrics): RequestHandler {
  const body = JSON.stringify(doc);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  // the page of the HTML view has its own tag (another representation of the same document)
  const pageTag = `"h${etag.slice(1)}`;
  return (req: Request, res: Response) => {
    route.mark(res);
    // a browser gets the document as a page of the HTML view (issue 11, item 6), with a link to the JSON
    const format = queryString(req, '_format');
    const html =
      format === undefined ? acceptedFormat(req.get('accept')) === 'html' : format === 'html' || format === 'text/html';
    const tag = html ? pageTag : etag;
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Vary', 'Accept');
    res.setHeader('ETag', tag);
    if (ifNoneMatchMatches(req.get('if-none-match'), tag)) {
      res.status(304).end();
      return;
    }
    if (html) sendOpenApiPage(req, res, doc as unknown as Parameters<typeof sendOpenApiPage>[2]);
    else res.type('application/json').send(body);
  };
}
