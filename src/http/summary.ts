import type { Coding, Meta, Resource } from '@medplum/fhirtypes';
import { badRequest } from './outcome.ts';

/**
 * `_summary` and `_elements` (FHIR R4 search.html#summary, search.html#elements). A subsetted
 * resource carries the SUBSETTED tag in `meta.tag`, as FHIR requires.
 */

export type SummaryMode = 'true' | 'false' | 'text' | 'data' | 'count';
export const SUMMARY_MODES: readonly SummaryMode[] = ['true', 'false', 'text', 'data', 'count'];

export const SUBSETTED_TAG: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
  display: 'subsetted',
};

/**
 * Top-level elements marked isSummary in the R4 StructureDefinitions (profiles-resources.json of
 * FHIR 4.0.1), plus `modifierExtension`, which a summary must keep (search.html#summary). Choice
 * elements are written `name[x]`.
 */
const COMMON_SUMMARY =
  'id meta implicitRules modifierExtension url identifier version name title status experimental date publisher contact useContext jurisdiction';
const CODESYSTEM_SUMMARY =
  'caseSensitive valueSet hierarchyMeaning compositional versionNeeded content supplements count filter property';
const SUMMARY_ELEMENTS: Record<string, readonly string[]> = {
  CodeSystem: `${COMMON_SUMMARY} ${CODESYSTEM_SUMMARY}`.split(' '),
  ValueSet: `${COMMON_SUMMARY} immutable`.split(' '),
  ConceptMap: `${COMMON_SUMMARY} source[x] target[x]`.split(' '),
};

/** Top-level elements with min >= 1: kept by `_summary=text` and `_elements` so the result stays valid. */
const MANDATORY_ELEMENTS: Record<string, readonly string[]> = {
  CodeSystem: ['status', 'content'],
  ValueSet: ['status'],
  ConceptMap: ['status'],
};

/** Parses `_summary`; undefined when absent. */
export function parseSummary(value: string | undefined): SummaryMode | undefined {
  if (value === undefined) return undefined;
  const mode = SUMMARY_MODES.find((m) => m === value);
  if (!mode)
    throw badRequest(`Invalid _summary value '${short(value)}': use one of ${SUMMARY_MODES.join(', ')}`, '_summary');
  return mode;
}

/** Parses `_elements` (comma-separated element names, optionally prefixed `Type.`); undefined when absent. */
export function parseElements(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => s.slice(s.indexOf('.') + 1));
  for (const n of names) {
    if (!/^[A-Za-z][A-Za-z0-9]*(\[x\])?$/.test(n))
      throw badRequest(`Invalid element name '${short(n)}' in _elements`, '_elements');
  }
  return names;
}

function short(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

function matches(key: string, wanted: readonly string[]): boolean {
  for (const w of wanted) {
    if (w === key) return true;
    if (w.endsWith('[x]')) {
      const base = w.slice(0, -3);
      if (key.length > base.length && key.startsWith(base) && /^[A-Z]/.test(key.slice(base.length))) return true;
    }
  }
  return false;
}

function withSubsettedTag(meta: Meta | undefined): Meta {
  const tags = (meta?.tag ?? []).filter((t) => !(t.system === SUBSETTED_TAG.system && t.code === SUBSETTED_TAG.code));
  return { ...meta, tag: [...tags, SUBSETTED_TAG] };
}

/** A copy of `resource` with only the elements `keep` says yes to, plus resourceType/id/meta, tagged SUBSETTED. */
function subset<T extends Resource>(resource: T, keep: (key: string) => boolean): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'resourceType' || key === 'id' || key === 'meta' || keep(key)) out[key] = value;
  }
  out.meta = withSubsettedTag(resource.meta);
  return out as T;
}

/** Applies `_summary` to one resource (`count` is a search-only mode and is handled by the search). */
export function applySummary<T extends Resource>(resource: T, mode: SummaryMode | undefined): T {
  const type = resource.resourceType;
  switch (mode) {
    case undefined:
    case 'false':
    case 'count':
      return resource;
    case 'true': {
      const summary = SUMMARY_ELEMENTS[type];
      if (!summary) return resource;
      return subset(resource, (k) => matches(k, summary));
    }
    case 'text': {
      const mandatory = MANDATORY_ELEMENTS[type] ?? [];
      return subset(resource, (k) => k === 'text' || matches(k, mandatory));
    }
    case 'data':
      return subset(resource, (k) => k !== 'text');
  }
}

/** Applies `_elements`: keeps the named top-level elements and the mandatory ones (search.html#elements). */
export function applyElements<T extends Resource>(resource: T, elements: string[] | undefined): T {
  if (elements === undefined) return resource;
  const wanted = [...elements, ...(MANDATORY_ELEMENTS[resource.resourceType] ?? [])];
  return subset(resource, (k) => matches(k, wanted));
}
