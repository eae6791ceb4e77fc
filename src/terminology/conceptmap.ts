import type { Coding, ConceptMap, Extension } from '@medplum/fhirtypes';

/**
 * ConceptMap read the same way in either form: R4 (http://hl7.org/fhir/R4/conceptmap.html:
 * `equivalence`, `sourceUri|sourceCanonical`, unmapped mode `provided` and `unmapped.url`) or
 * R5 (http://hl7.org/fhir/R5/conceptmap.html: `relationship`, `sourceScope[x]`, `noMap`,
 * `use-source-code`, `otherMap`). R5-only elements may travel in R4 as the cross-version
 * extensions `http://hl7.org/fhir/5.0/StructureDefinition/extension-ConceptMap.<path>`;
 * `group.element.comment` (R6) also as the 6.0 extension, which is how tx.fhir.org reads it.
 */

/** R5 ConceptMapRelationship. */
export type Relationship =
  | 'related-to'
  | 'equivalent'
  | 'source-is-narrower-than-target'
  | 'source-is-broader-than-target'
  | 'not-related-to';

const RELATIONSHIPS: ReadonlySet<string> = new Set<Relationship>([
  'related-to',
  'equivalent',
  'source-is-narrower-than-target',
  'source-is-broader-than-target',
  'not-related-to',
]);

/**
 * R4 ConceptMapEquivalence -> R5 relationship, as the FHIR R4/R5 conversion maps them: R4
 * equivalence describes the target ("wider": the target is wider), R5 relationship the source.
 */
export const EQUIVALENCE_TO_RELATIONSHIP: Readonly<Record<string, Relationship>> = {
  relatedto: 'related-to',
  equivalent: 'equivalent',
  equal: 'equivalent',
  wider: 'source-is-narrower-than-target',
  subsumes: 'source-is-narrower-than-target',
  narrower: 'source-is-broader-than-target',
  specializes: 'source-is-broader-than-target',
  inexact: 'related-to',
  unmatched: 'not-related-to',
  disjoint: 'not-related-to',
};

const XVER5 = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-ConceptMap.';
const XVER6 = 'http://hl7.org/fhir/6.0/StructureDefinition/extension-ConceptMap.';

export interface MapProduct {
  /** R4 `property`, R5 `attribute` */
  property?: string;
  system?: string;
  /** R4 `value`, R5 `valueCoding.code` or a primitive `value[x]` */
  value?: string;
}

export interface MapTarget {
  code?: string;
  /** undefined when neither a known relationship nor a known equivalence is stated */
  relationship?: Relationship;
  /** the R4 equivalence as the map states it (R4 maps only) */
  equivalence?: string;
  comment?: string;
  product: MapProduct[];
}

export interface MapElement {
  code?: string;
  /** R6 `group.element.comment` (or its cross-version extension): a comment on the source concept */
  comment?: string;
  /** R5 `noMap`; in R4 a target with equivalence `unmatched` and no code */
  noMap: boolean;
  targets: MapTarget[];
}

export interface MapUnmapped {
  /** R5 mode; R4 `provided` reads as `use-source-code`; anything else is kept as written */
  mode: string;
  code?: string;
  display?: string;
  /** R5 `otherMap`, R4 `url` */
  otherMap?: string;
  relationship?: Relationship;
  /** R5 `valueSet` (R4: its cross-version extension) */
  valueSet?: string;
}

export interface MapGroup {
  source?: string;
  sourceVersion?: string;
  target?: string;
  targetVersion?: string;
  elements: MapElement[];
  unmapped?: MapUnmapped;
}

export interface NormalizedConceptMap {
  resource: ConceptMap;
  url?: string;
  /** `url|version`, or `url` when the map has no version (tx.fhir.org's "vurl") */
  canonical: string;
  /** ConceptMap.date as milliseconds, undefined when absent or unreadable */
  date?: number;
  sourceScope?: string;
  targetScope?: string;
  groups: MapGroup[];
}

type Loose = Record<string, unknown>;

function isObject(v: unknown): v is Loose {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function objects(v: unknown): Loose[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function str(o: Loose, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The value of the first extension with this URL, as a string. */
function extensionString(o: Loose, url: string): string | undefined {
  for (const e of objects(o.extension) as unknown as Extension[]) {
    if (e.url !== url) continue;
    const v = e.valueCode ?? e.valueCanonical ?? e.valueUri ?? e.valueString ?? e.valueMarkdown;
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

function relationshipOf(value: string | undefined): Relationship | undefined {
  if (value === undefined) return undefined;
  return RELATIONSHIPS.has(value) ? (value as Relationship) : undefined;
}

function normalizeProduct(p: Loose): MapProduct {
  // R4 {property, system, value, display}; R5 {attribute, valueCoding | value[x]}
  const coding = isObject(p.valueCoding) ? (p.valueCoding as Coding) : undefined;
  let value = str(p, 'value') ?? coding?.code;
  if (value === undefined) {
    for (const key of ['valueCode', 'valueString', 'valueBoolean', 'valueInteger', 'valueDecimal']) {
      const v = p[key];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
        value = String(v);
        break;
      }
    }
  }
  const property = str(p, 'property') ?? str(p, 'attribute');
  const system = str(p, 'system') ?? coding?.system;
  return {
    ...(property !== undefined ? { property } : {}),
    ...(system !== undefined ? { system } : {}),
    ...(value !== undefined ? { value } : {}),
  };
}

function normalizeTarget(t: Loose): MapTarget {
  const written = str(t, 'equivalence');
  const equivalence = written !== undefined && written in EQUIVALENCE_TO_RELATIONSHIP ? written : undefined;
  const relationship =
    relationshipOf(str(t, 'relationship')) ??
    relationshipOf(extensionString(t, `${XVER5}group.element.target.relationship`)) ??
    (equivalence !== undefined ? EQUIVALENCE_TO_RELATIONSHIP[equivalence] : undefined);
  return {
    ...(str(t, 'code') !== undefined ? { code: str(t, 'code') } : {}),
    ...(relationship !== undefined ? { relationship } : {}),
    ...(equivalence !== undefined ? { equivalence } : {}),
    ...(str(t, 'comment') !== undefined ? { comment: str(t, 'comment') } : {}),
    product: objects(t.product).map(normalizeProduct),
  };
}

function normalizeElement(e: Loose): MapElement {
  let comment =
    str(e, 'comment') ??
    extensionString(e, `${XVER5}group.element.comment`) ??
    extensionString(e, `${XVER6}group.element.comment`);
  let noMap = e.noMap === true;
  const targets: MapTarget[] = [];
  for (const t of objects(e.target)) {
    // R4 has no element.noMap: a target that is `unmatched` and names no code says the same
    // thing (the FHIR R4/R5 conversion lifts it to noMap, its comment to the element)
    if (str(t, 'equivalence') === 'unmatched' && str(t, 'code') === undefined) {
      noMap = true;
      comment ??= str(t, 'comment');
      continue;
    }
    targets.push(normalizeTarget(t));
  }
  return {
    ...(str(e, 'code') !== undefined ? { code: str(e, 'code') } : {}),
    ...(comment !== undefined ? { comment } : {}),
    noMap,
    targets,
  };
}

function normalizeUnmapped(u: unknown): MapUnmapped | undefined {
  if (!isObject(u)) return undefined;
  const written = str(u, 'mode');
  if (written === undefined) return undefined;
  const relationship =
    relationshipOf(str(u, 'relationship')) ?? relationshipOf(extensionString(u, `${XVER5}group.unmapped.relationship`));
  const otherMap = str(u, 'otherMap') ?? str(u, 'url');
  const valueSet = str(u, 'valueSet') ?? extensionString(u, `${XVER5}group.unmapped.valueSet`);
  return {
    mode: written === 'provided' ? 'use-source-code' : written,
    ...(str(u, 'code') !== undefined ? { code: str(u, 'code') } : {}),
    ...(str(u, 'display') !== undefined ? { display: str(u, 'display') } : {}),
    ...(otherMap !== undefined ? { otherMap } : {}),
    ...(relationship !== undefined ? { relationship } : {}),
    ...(valueSet !== undefined ? { valueSet } : {}),
  };
}

function normalizeGroup(g: Loose): MapGroup {
  const unmapped = normalizeUnmapped(g.unmapped);
  return {
    ...(str(g, 'source') !== undefined ? { source: str(g, 'source') } : {}),
    ...(str(g, 'sourceVersion') !== undefined ? { sourceVersion: str(g, 'sourceVersion') } : {}),
    ...(str(g, 'target') !== undefined ? { target: str(g, 'target') } : {}),
    ...(str(g, 'targetVersion') !== undefined ? { targetVersion: str(g, 'targetVersion') } : {}),
    elements: objects(g.element).map(normalizeElement),
    ...(unmapped ? { unmapped } : {}),
  };
}

const cache = new WeakMap<ConceptMap, NormalizedConceptMap>();

/** The R4/R5-neutral view of a ConceptMap, cached per resource object. */
export function normalizeConceptMap(cm: ConceptMap): NormalizedConceptMap {
  const cached = cache.get(cm);
  if (cached) return cached;
  const r = cm as unknown as Loose;
  const date = typeof cm.date === 'string' ? Date.parse(cm.date) : Number.NaN;
  const sourceScope =
    str(r, 'sourceScopeUri') ?? str(r, 'sourceScopeCanonical') ?? str(r, 'sourceUri') ?? str(r, 'sourceCanonical');
  const targetScope =
    str(r, 'targetScopeUri') ?? str(r, 'targetScopeCanonical') ?? str(r, 'targetUri') ?? str(r, 'targetCanonical');
  const normalized: NormalizedConceptMap = {
    resource: cm,
    ...(cm.url ? { url: cm.url } : {}),
    canonical: cm.url && cm.version ? `${cm.url}|${cm.version}` : (cm.url ?? ''),
    ...(Number.isNaN(date) ? {} : { date }),
    ...(sourceScope !== undefined ? { sourceScope } : {}),
    ...(targetScope !== undefined ? { targetScope } : {}),
    groups: objects(r.group).map(normalizeGroup),
  };
  cache.set(cm, normalized);
  return normalized;
}

/** The maps this one defers to (`group.unmapped.otherMap`), as written. */
export function conceptMapDependencies(map: NormalizedConceptMap): string[] {
  const out: string[] = [];
  for (const g of map.groups) {
    const other = g.unmapped?.mode === 'other-map' ? g.unmapped.otherMap : undefined;
    if (other !== undefined && !out.includes(other)) out.push(other);
  }
  return out;
}
