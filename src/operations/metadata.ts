import { readFileSync } from 'node:fs';
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceOperation,
  Extension,
  Resource,
  TerminologyCapabilities,
  TerminologyCapabilitiesCodeSystem,
} from '@medplum/fhirtypes';
import { FACADE_CANONICAL_BASE } from '../../mappings/systems.ts';
import { badRequest } from '../http/outcome.ts';
import { hasUsableContent } from '../terminology/code-systems.ts';
import { outOfDateCodeSystems } from '../terminology/currency.ts';
import { type TerminologyStore, TX_RESOURCE_TYPES } from '../terminology/store.ts';
import { today } from '../terminology/validity.ts';
import type { DataSourceNote, ServedTerminologyState } from '../terminology-sources.ts';
import { SEARCH_PARAMS } from './resource-read-search.ts';
import type { OperationDef } from './types.ts';

/**
 * `GET [base]/metadata` (FHIR R4 http.html#capabilities): the CapabilityStatement, or with
 * `mode=terminology` the TerminologyCapabilities. Both are built from the operation registry and the
 * store, never from a hand-kept list (STYLE.md example 4), and must match the patterns the
 * tx-ecosystem IG tests hold (`capstmt.json`, `capterms.json`).
 */

interface PackageJson {
  name: string;
  version: string;
  description?: string;
}

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as PackageJson;

/** Release date of this software version: bump together with package.json `version`. */
export const RELEASE_DATE = '2026-11-22';

export const SOFTWARE = { name: pkg.name, version: pkg.version, releaseDate: RELEASE_DATE } as const;

/** Version of the HL7 terminology ecosystem test suite (hl7.fhir.uv.tx-ecosystem tests) the server targets. */
export const TX_TEST_VERSION = '1.9.3';

const FEATURE_EXTENSION = 'http://hl7.org/fhir/uv/application-feature/StructureDefinition/feature';
const FEATURE_TEST_VERSION = 'http://hl7.org/fhir/uv/tx-tests/FeatureDefinition/test-version';
const FEATURE_CODESYSTEM_AS_PARAMETER = 'http://hl7.org/fhir/uv/tx-ecosystem/FeatureDefinition/CodeSystemAsParameter';
const TERMINOLOGY_SERVER = 'http://hl7.org/fhir/CapabilityStatement/terminology-server';

/**
 * Our extension on `TerminologyCapabilities.codeSystem`: where the code system's data come from and
 * from when. Sub-extensions: `source` (string, e.g. `helserefusjon`), `mode` (code: `embedded`,
 * `live` or `snapshot`), `fetched` (dateTime: when the data were fetched from the upstream; live
 * and snapshot) and `dataDate` (date: the newest date the data state). README, "Data".
 */
export const EXT_DATA_SOURCE = `${FACADE_CANONICAL_BASE}/StructureDefinition/data-source`;

/**
 * Our extension on `TerminologyCapabilities.codeSystem`: the newest data of this code system were
 * in effect until `end` (date), which is before today, and no later version is known
 * (terminology/currency.ts); `version` (string) names that version.
 */
export const EXT_DATA_OUT_OF_DATE = `${FACADE_CANONICAL_BASE}/StructureDefinition/data-out-of-date`;

const NAME = 'NorwegianHealthTerminologyServer';
const TITLE = 'FHIR R4 terminology server for Norwegian health open data';
const DESCRIPTION =
  'Read-only FHIR R4 terminology server: Norwegian code systems and value sets plus the FHIR R4 core terminology.';

/**
 * `$expand` parameters the tx-ecosystem IG requires a server to support ("What the server must do to
 * pass"); the registered `$expand` definition may add more.
 */
const REQUIRED_EXPANSION_PARAMETERS = [
  'activeOnly',
  'check-system-version',
  'count',
  'designation',
  'displayLanguage',
  'excludeNested',
  'filter',
  'force-system-version',
  'includeDefinition',
  'includeDesignations',
  'offset',
  'property',
  'system-version',
  'tx-resource',
];

/** `$expand` inputs that say what to expand rather than how: not expansion parameters. */
const VALUE_SET_SELECTORS = new Set(['url', 'valueSet', 'valueSetVersion', 'context', 'contextDirection']);

export interface MetadataSource {
  /** absolute base URL of the FHIR endpoint */
  baseUrl: string;
  operations: readonly OperationDef[];
  store: TerminologyStore;
  /** where parts of the data come from (TerminologyCapabilities says so) */
  dataSources?: readonly DataSourceNote[];
  /** when this server instance started; the `date` of both statements */
  startedAt: Date;
  /** the CapabilityStatement entries of the directory resource types (Practitioner, ...) */
  directory?: () => CapabilityStatementRestResource[];
}

function feature(definition: string, value: Extension): Extension {
  return {
    url: FEATURE_EXTENSION,
    extension: [
      { url: 'definition', valueCanonical: definition },
      { ...value, url: 'value' },
    ],
  };
}

function dateOf(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function operationEntry(def: OperationDef): CapabilityStatementRestResourceOperation {
  return { name: def.code, definition: def.definition };
}

function byName(a: { name?: string }, b: { name?: string }): number {
  const x = a.name ?? '';
  const y = b.name ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The server's CapabilityStatement (capabilitystatement.html). */
export function buildCapabilityStatement(src: MetadataSource): CapabilityStatement {
  const resources: CapabilityStatementRestResource[] = TX_RESOURCE_TYPES.map((type) => {
    const ops = src.operations
      .filter((d) => (d.type || d.instance) && d.resourceTypes.includes(type))
      .map(operationEntry)
      .sort(byName);
    return {
      type,
      profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
      interaction: [{ code: 'read' }, { code: 'search-type' }],
      readHistory: false,
      updateCreate: false,
      searchParam: Object.entries(SEARCH_PARAMS).map(([name, p]) => ({ name, type: p.type, definition: p.definition })),
      ...(ops.length > 0 ? { operation: ops } : {}),
    };
  });
  const systemOps = src.operations
    .filter((d) => d.system)
    .map(operationEntry)
    .sort(byName);
  return {
    resourceType: 'CapabilityStatement',
    id: 'terminology-server',
    extension: [
      feature(FEATURE_TEST_VERSION, { url: 'value', valueCode: TX_TEST_VERSION }),
      feature(FEATURE_CODESYSTEM_AS_PARAMETER, { url: 'value', valueBoolean: true }),
    ],
    url: `${src.baseUrl}/metadata`,
    version: SOFTWARE.version,
    name: NAME,
    title: TITLE,
    status: 'active',
    experimental: false,
    date: dateOf(src.startedAt),
    description: DESCRIPTION,
    kind: 'instance',
    instantiates: [TERMINOLOGY_SERVER],
    software: { ...SOFTWARE },
    implementation: { description: TITLE, url: src.baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json', 'application/fhir+xml', 'xml'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Read-only: no create, update, delete or history. FHIR JSON, and FHIR XML when asked for (_format or Accept).',
        // tx-ecosystem IG (metadata): security.service SHALL be populated. No code of
        // restful-security-service (OAuth, SMART-on-FHIR, Basic ...) applies to an open server,
        // so the service is said in text only, which the extensible binding allows
        security: {
          cors: true,
          service: [{ text: 'None: open data, no authentication' }],
          description: 'Open data: no authentication.',
        },
        resource: [...resources, ...(src.directory?.() ?? [])],
        ...(systemOps.length > 0 ? { operation: systemOps } : {}),
      },
    ],
  };
}

/** The server's TerminologyCapabilities (terminologycapabilities.html). */
export function buildTerminologyCapabilities(src: MetadataSource): TerminologyCapabilities {
  const has = (code: string) => src.operations.some((d) => d.code === code);
  return {
    resourceType: 'TerminologyCapabilities',
    id: 'terminology-server',
    url: `${src.baseUrl}/metadata?mode=terminology`,
    version: SOFTWARE.version,
    name: NAME,
    title: TITLE,
    status: 'active',
    experimental: false,
    date: dateOf(src.startedAt),
    description: DESCRIPTION,
    kind: 'instance',
    software: { name: SOFTWARE.name, version: SOFTWARE.version },
    implementation: { description: implementationDescription(src.dataSources ?? []), url: src.baseUrl },
    lockedDate: false,
    codeSystem: codeSystems(src.store, has('subsumes'), src.dataSources ?? [], today()),
    expansion: {
      paging: true,
      parameter: expansionParameters(src.operations).map((name) => ({ name })),
    },
    validateCode: { translations: false },
    translation: { needsMap: true },
    closure: { translation: false },
  };
}

/**
 * Every code system the server can answer for, with every version, newest marked `isDefault`.
 * Stubs (`content` not-present, such as SNOMED CT in the core package) and supplements are left
 * out: listing them would tell a validator to ask us about codes we do not have.
 */
function codeSystems(
  store: TerminologyStore,
  subsumption: boolean,
  dataSources: readonly DataSourceNote[],
  day: string,
): TerminologyCapabilitiesCodeSystem[] {
  const sourceOf = new Map<string, Extension>();
  for (const note of dataSources) {
    const ext = dataSourceExtension(note);
    for (const url of note.codeSystems) sourceOf.set(url, ext);
  }
  const urls = new Set<string>();
  for (const cs of store.all('CodeSystem')) {
    if (cs.url && hasUsableContent(cs)) urls.add(cs.url);
  }
  const stale = new Map<string, Extension>();
  for (const o of outOfDateCodeSystems(store, day)) {
    stale.set(o.url, {
      url: EXT_DATA_OUT_OF_DATE,
      extension: [
        ...(o.version !== undefined ? [{ url: 'version', valueString: o.version }] : []),
        { url: 'end', valueDate: o.end },
      ],
    });
  }
  return [...urls].sort().map((uri) => {
    const versions = store
      .versions('CodeSystem', uri)
      .filter((cs) => hasUsableContent(cs) && cs.version !== undefined)
      .map((cs, i) => ({ code: cs.version, isDefault: i === 0 }));
    const extensions = [sourceOf.get(uri), stale.get(uri)].filter((e): e is Extension => e !== undefined);
    return {
      ...(extensions.length > 0 ? { extension: extensions } : {}),
      uri,
      ...(versions.length > 0 ? { version: versions } : {}),
      subsumption,
    };
  });
}

function dataSourceExtension(note: DataSourceNote): Extension {
  return {
    url: EXT_DATA_SOURCE,
    extension: [
      { url: 'source', valueString: note.name },
      { url: 'mode', valueCode: note.mode },
      ...(note.fetchedAt ? [{ url: 'fetched', valueDateTime: note.fetchedAt }] : []),
      ...(note.date ? [{ url: 'dataDate', valueDate: note.date }] : []),
    ],
  };
}

/** The title, then one sentence per data source saying which data are served and from when. */
function implementationDescription(dataSources: readonly DataSourceNote[]): string {
  const sentences = dataSources.map((n) => {
    const what = n.name === 'helserefusjon' ? 'Helserefusjon code systems' : `${n.name} data`;
    switch (n.mode) {
      case 'live':
        return `${what}: live from the upstream open-data API, fetched ${n.fetchedAt}.`;
      case 'snapshot':
        return `${what}: the saved copy of the upstream open-data API fetched ${n.fetchedAt} (the API has not answered since start-up).`;
      default:
        return `${what}: the data embedded in this release${n.date ? ` (newest data date ${n.date})` : ''}.`;
    }
  });
  return [`${TITLE}.`, ...sentences].join(' ');
}

function expansionParameters(operations: readonly OperationDef[]): string[] {
  const names = new Set(REQUIRED_EXPANSION_PARAMETERS);
  for (const def of operations) {
    if (def.code !== 'expand') continue;
    for (const p of def.parameters) if (!VALUE_SET_SELECTORS.has(p.name)) names.add(p.name);
  }
  // code-point order, as the tx tests list them
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export interface MetadataInteractionSource extends Omit<MetadataSource, 'store' | 'dataSources'> {
  /** the data served now (they can be swapped: live data) */
  terminology: () => ServedTerminologyState;
}

/**
 * The metadata interaction. The CapabilityStatement is built once per app (it depends on the
 * operations only); the TerminologyCapabilities when first asked for, and again after the data were
 * swapped (it lists the code systems and says where they come from).
 */
/**
 * A statement as seen from another base (a request that came through a trusted proxy,
 * http/base-url.ts): `url` and `implementation.url` name that base. The statement itself is not
 * changed; the same one is returned when the base is the one it was built for.
 */
export function atBase(resource: Resource, base: string): Resource {
  if (resource.resourceType !== 'CapabilityStatement' && resource.resourceType !== 'TerminologyCapabilities') {
    return resource;
  }
  const built = resource.implementation?.url;
  if (built === undefined || built === base) return resource;
  return {
    ...resource,
    ...(resource.url !== undefined ? { url: `${base}${resource.url.slice(built.length)}` } : {}),
    implementation: { ...resource.implementation, description: resource.implementation?.description ?? '', url: base },
  } as Resource;
}

export function metadataInteraction(src: MetadataInteractionSource): (mode: string | undefined) => Resource {
  const capabilities = buildCapabilityStatement({ ...src, store: src.terminology().store });
  // rebuilt when the data change, and each day (a code system's data may go out of date at midnight)
  let terminology: { generation: number; day: string; resource: TerminologyCapabilities } | undefined;
  return (mode) => {
    switch (mode) {
      case undefined:
      case '':
      case 'full':
      case 'normative':
        return capabilities;
      case 'terminology': {
        const { store, generation, dataSources } = src.terminology();
        const day = today();
        if (terminology?.generation !== generation || terminology.day !== day) {
          terminology = { generation, day, resource: buildTerminologyCapabilities({ ...src, store, dataSources }) };
        }
        return terminology.resource;
      }
      default:
        throw badRequest(
          `Invalid mode '${mode.length > 40 ? `${mode.slice(0, 40)}...` : mode}': use full, normative or terminology`,
          'mode',
        );
    }
  };
}
