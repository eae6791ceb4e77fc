import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import type { TxContext } from './context.ts';
import type { TerminologyStore } from './store.ts';
import { splitCanonical } from './versions.ts';

/**
 * The implicit "all codes" value set of a code system.
 *
 * FHIR R4 CodeSystem.valueSet: "Canonical reference to the value set that contains the entire
 * code system" (http://hl7.org/fhir/R4/codesystem-definitions.html#CodeSystem.valueSet). A
 * server must be able to expand and validate against that canonical even when no ValueSet
 * resource with that url exists. We also accept the `{system}?vs` form (the pattern used for
 * implicit value sets of code systems, http://hl7.org/fhir/R4/valueset.html, "implicit value
 * sets"), and `{system}?fhir_vs` as SNOMED CT and LOINC spell it.
 */

const IMPLICIT_SUFFIXES = ['?vs', '?fhir_vs'];

/** One implicit ValueSet object per CodeSystem object, so caches keyed by identity stay warm. */
const implicitCache = new WeakMap<CodeSystem, Map<string, ValueSet>>();

/** The all-codes ValueSet of a code system (its compose includes the whole system, pinned to its version). */
export function implicitValueSet(cs: CodeSystem, url?: string): ValueSet {
  // CodeSystem.valueSet is a canonical and may carry `|version`; the ValueSet url does not
  const vsUrl = splitCanonical(url ?? cs.valueSet ?? `${cs.url}?vs`).url;
  let perUrl = implicitCache.get(cs);
  if (!perUrl) {
    perUrl = new Map();
    implicitCache.set(cs, perUrl);
  }
  let vs = perUrl.get(vsUrl);
  if (!vs) {
    vs = {
      resourceType: 'ValueSet',
      url: vsUrl,
      ...(cs.version !== undefined ? { version: cs.version } : {}),
      ...(cs.name ? { name: cs.name } : {}),
      ...(cs.title ? { title: cs.title } : {}),
      status: cs.status ?? 'active',
      ...(cs.experimental !== undefined ? { experimental: cs.experimental } : {}),
      ...(cs.publisher ? { publisher: cs.publisher } : {}),
      ...(cs.date ? { date: cs.date } : {}),
      ...(cs.language ? { language: cs.language } : {}),
      compose: {
        include: [{ system: cs.url, ...(cs.version !== undefined ? { version: cs.version } : {}) }],
      },
    };
    perUrl.set(vsUrl, vs);
  }
  return vs;
}

/** valueSet canonical → CodeSystems declaring it, per store state (the store only grows). */
const byStore = new WeakMap<TerminologyStore, { gen: number; map: Map<string, CodeSystem[]> }>();

function declaredValueSets(store: TerminologyStore): Map<string, CodeSystem[]> {
  const cached = byStore.get(store);
  if (cached && cached.gen === store.generation) return cached.map;
  const map = new Map<string, CodeSystem[]>();
  for (const cs of store.all('CodeSystem')) {
    if (!cs.valueSet) continue;
    const key = splitCanonical(cs.valueSet).url;
    const list = map.get(key) ?? [];
    list.push(cs);
    map.set(key, list);
  }
  byStore.set(store, { gen: store.generation, map });
  return map;
}

/**
 * Resolves a value set canonical that names the implicit value set of a code system:
 * a `CodeSystem.valueSet` value, or `{system}?vs`. Returns undefined when it is neither.
 * `version` (or `|version` in the canonical) selects the code system version.
 */
export function resolveImplicitValueSet(ctx: TxContext, canonical: string, version?: string): ValueSet | undefined {
  const split = splitCanonical(canonical);
  const url = split.url;
  const wanted = version ?? split.version;

  // 1. a CodeSystem that declares this url as its valueSet (request overlay first)
  const candidates: CodeSystem[] = [];
  for (const r of ctx.overlayResources) {
    if (r.resourceType === 'CodeSystem' && r.valueSet && splitCanonical(r.valueSet).url === url) candidates.push(r);
  }
  candidates.push(...(declaredValueSets(ctx.store).get(url) ?? []));
  for (const cs of candidates) {
    if (!cs.url || cs.content === 'supplement') continue;
    const chosen = ctx.codeSystem(cs.url, wanted);
    if (chosen) return implicitValueSet(chosen, url);
  }

  // 2. `{system}?vs`
  for (const suffix of IMPLICIT_SUFFIXES) {
    if (!url.endsWith(suffix)) continue;
    const system = url.slice(0, -suffix.length);
    const cs = ctx.codeSystem(system, wanted);
    if (cs && cs.content !== 'supplement') return implicitValueSet(cs, url);
  }
  return undefined;
}
