import type { Coding, ConceptMap, Extension, ValueSet } from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { indexCodeSystem } from './codesystem-index.ts';
import type { TxContext } from './context.ts';
import { MSG } from './operation-messages.ts';
import { compareVersions, splitCanonical, versionMatches } from './versions.ts';

/**
 * ConceptMap $translate (http://hl7.org/fhir/R4/conceptmap-operation-translate.html and the R5
 * version, https://hl7.org/fhir/R5/conceptmap-operation-translate.html).
 *
 * ConceptMaps are read in either form: R4 (`equivalence`, `sourceUri|sourceCanonical`,
 * unmapped mode `provided`, `unmapped.url`) or R5 (`relationship`, `sourceScope[x]`, `noMap`,
 * `use-source-code`, `otherMap`), R5-only elements also as the cross-version extensions
 * `http://hl7.org/fhir/5.0/StructureDefinition/extension-ConceptMap.<path>`.
 */

/** R5 ConceptMapRelationship. */
export type Relationship =
  | 'related-to'
  | 'equivalent'
  | 'source-is-narrower-than-target'
  | 'source-is-broader-than-target'
  | 'not-related-to';

const RELATIONSHIPS: readonly string[] = [
  'related-to',
  'equivalent',
  'source-is-narrower-than-target',
  'source-is-broader-than-target',
  'not-related-to',
];

/** R4 ConceptMapEquivalence -> R5 relationship (the R4/R5 ConceptMap mapping). */
const EQUIVALENCE_TO_RELATIONSHIP: Readonly<Record<string, Relationship>> = {
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

/** R5 relationship -> R4 ConceptMapEquivalence. */
const RELATIONSHIP_TO_EQUIVALENCE: Readonly<Record<Relationship, string>> = {
  'related-to': 'relatedto',
  equivalent: 'equivalent',
  'source-is-narrower-than-target': 'wider',
  'source-is-broader-than-target': 'narrower',
  'not-related-to': 'disjoint',
};

const XVER = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-ConceptMap.';

type Loose = Record<string, unknown>;

function looseString(o: Loose, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function xverValue(o: Loose, path: string): string | undefined {
  const exts = o.extension;
  if (!Array.isArray(exts)) return undefined;
  for (const e of exts as Extension[]) {
    if (e?.url !== `${XVER}${path}`) continue;
    const v = e.valueCode ?? e.valueCanonical ?? e.valueUri ?? e.valueString;
    if (typeof v === 'string') return v;
  }
  return undefined;
}

function toRelationship(value: string | undefined): Relationship | undefined {
  if (value === undefined) return undefined;
  if (RELATIONSHIPS.includes(value)) return value as Relationship;
  return EQUIVALENCE_TO_RELATIONSHIP[value];
}

// ---------------------------------------------------------------------------------------------
// ConceptMap, normalised over R4 and R5

interface MapProduct {
  property?: string;
  system?: string;
  value?: string;
  display?: string;
}

interface MapTarget {
  code?: string;
  display?: string;
  relationship: Relationship;
  /** R4 equivalence, as written or derived from the relationship */
  equivalence: string;
  comment?: string;
  product: MapProduct[];
}

interface MapElement {
  code?: string;
  display?: string;
  /** explicitly unmapped (R5 noMap, R4 target equivalence `unmatched` without a code) */
  noMap: boolean;
  targets: MapTarget[];
}

type UnmappedMode = 'use-source-code' | 'fixed' | 'other-map';

interface MapUnmapped {
  mode: UnmappedMode;
  code?: string;
  display?: string;
  otherMap?: string;
  relationship?: Relationship;
}

interface MapGroup {
  source?: string;
  sourceVersion?: string;
  target?: string;
  targetVersion?: string;
  elements: MapElement[];
  unmapped?: MapUnmapped;
}

export interface NormalizedConceptMap {
  resource: ConceptMap;
  /** url|version */
  canonical: string;
  sourceScope?: string;
  targetScope?: string;
  groups: MapGroup[];
}

function normalizeTarget(t: Loose): MapTarget | undefined {
  const equivalenceIn = looseString(t, 'equivalence');
  const relationship =
    toRelationship(looseString(t, 'relationship')) ??
    toRelationship(xverValue(t, 'group.element.target.relationship')) ??
    toRelationship(equivalenceIn) ??
    // R4 makes equivalence 1..1 with default `equivalent`; R5 relationship is 1..1 too
    'equivalent';
  const equivalence =
    equivalenceIn && EQUIVALENCE_TO_RELATIONSHIP[equivalenceIn]
      ? equivalenceIn
      : RELATIONSHIP_TO_EQUIVALENCE[relationship];
  const product: MapProduct[] = [];
  for (const p of Array.isArray(t.product) ? (t.product as Loose[]) : []) {
    if (typeof p !== 'object' || p === null) continue;
    // R4 {property, system, value, display}; R5 {attribute, valueCoding | value[x]}
    const coding = p.valueCoding as Coding | undefined;
    product.push({
      property: looseString(p, 'property') ?? looseString(p, 'attribute'),
      system: looseString(p, 'system') ?? coding?.system,
      value: looseString(p, 'value') ?? coding?.code ?? looseString(p, 'valueCode') ?? looseString(p, 'valueString'),
      display: looseString(p, 'display') ?? coding?.display,
    });
  }
  return {
    code: looseString(t, 'code'),
    display: looseString(t, 'display'),
    relationship,
    equivalence,
    comment: looseString(t, 'comment'),
    product,
  };
}

function normalizeUnmapped(u: Loose | undefined): MapUnmapped | undefined {
  if (!u) return undefined;
  const modeIn = looseString(u, 'mode');
  const mode: UnmappedMode | undefined =
    modeIn === 'provided' || modeIn === 'use-source-code'
      ? 'use-source-code'
      : modeIn === 'fixed'
        ? 'fixed'
        : modeIn === 'other-map'
          ? 'other-map'
          : undefined;
  if (!mode) return undefined;
  return {
    mode,
    code: looseString(u, 'code'),
    display: looseString(u, 'display'),
    otherMap: looseString(u, 'otherMap') ?? looseString(u, 'url'),
    relationship:
      toRelationship(looseString(u, 'relationship')) ?? toRelationship(xverValue(u, 'group.unmapped.relationship')),
  };
}

const normalizedCache = new WeakMap<ConceptMap, NormalizedConceptMap>();

/** The R4/R5-neutral view of a ConceptMap, cached per resource object. */
export function normalizeConceptMap(cm: ConceptMap): NormalizedConceptMap {
  const cached = normalizedCache.get(cm);
  if (cached) return cached;
  const r = cm as unknown as Loose;
  const groups: MapGroup[] = [];
  for (const g of Array.isArray(r.group) ? (r.group as Loose[]) : []) {
    if (typeof g !== 'object' || g === null) continue;
    const elements: MapElement[] = [];
    for (const e of Array.isArray(g.element) ? (g.element as Loose[]) : []) {
      if (typeof e !== 'object' || e === null) continue;
      const targets: MapTarget[] = [];
      let noMap = e.noMap === true;
      for (const t of Array.isArray(e.target) ? (e.target as Loose[]) : []) {
        if (typeof t !== 'object' || t === null) continue;
        const target = normalizeTarget(t);
        if (!target) continue;
        if (target.code === undefined && target.equivalence === 'unmatched') {
          noMap = true;
          continue;
        }
        targets.push(target);
      }
      elements.push({ code: looseString(e, 'code'), display: looseString(e, 'display'), noMap, targets });
    }
    groups.push({
      source: looseString(g, 'source'),
      sourceVersion: looseString(g, 'sourceVersion'),
      target: looseString(g, 'target'),
      targetVersion: looseString(g, 'targetVersion'),
      elements,
      unmapped: normalizeUnmapped(g.unmapped as Loose | undefined),
    });
  }
  const normalized: NormalizedConceptMap = {
    resource: cm,
    canonical: cm.version ? `${cm.url}|${cm.version}` : (cm.url ?? ''),
    sourceScope:
      looseString(r, 'sourceScopeUri') ??
      looseString(r, 'sourceScopeCanonical') ??
      looseString(r, 'sourceUri') ??
      looseString(r, 'sourceCanonical'),
    targetScope:
      looseString(r, 'targetScopeUri') ??
      looseString(r, 'targetScopeCanonical') ??
      looseString(r, 'targetUri') ??
      looseString(r, 'targetCanonical'),
    groups,
  };
  normalizedCache.set(cm, normalized);
  return normalized;
}

// ---------------------------------------------------------------------------------------------
// $translate

export interface TranslateInput {
  /** the codes to translate: source codes, or target codes when `reverse` */
  codings: Coding[];
  /** find the source codes that map to the given target code (R5 targetCode, R4 reverse=true) */
  reverse?: boolean;
  /** the maps to use (url, conceptMap parameter, instance); otherwise every map that fits */
  conceptMaps?: ConceptMap[];
  /** only maps whose source scope is this value set (R5 sourceScope, R4 source) */
  sourceScope?: string;
  /** only maps whose target scope is this value set (R5 targetScope, R4 target) */
  targetScope?: string;
  /** forward: only groups that map to this system (R5 targetSystem, R4 targetsystem) */
  targetSystem?: string;
  /** reverse: only groups that map from this system (R5 sourceSystem) */
  sourceSystem?: string;
}

export interface TranslateMatch {
  relationship: Relationship;
  equivalence: string;
  concept: Coding;
  /** reverse: the source concept that maps to the given target code (as tx.fhir.org reports it) */
  source?: Coding;
  /** url|version of the ConceptMap */
  originMap: string;
  comment?: string;
  product: MapProduct[];
}

export interface TranslateResult {
  result: boolean;
  message?: string;
  matches: TranslateMatch[];
}

function sameCanonical(a: string, b: string): boolean {
  const x = splitCanonical(a);
  const y = splitCanonical(b);
  if (x.url !== y.url) return false;
  return x.version === undefined || y.version === undefined || x.version === y.version;
}

function versionsAgree(wanted: string | undefined, actual: string | undefined): boolean {
  return wanted === undefined || actual === undefined || wanted === actual || versionMatches(wanted, actual);
}

/** The code systems a value set includes directly (enough to place a group that names no system). */
function valueSetSystems(ctx: TxContext, canonical: string | undefined): string[] {
  if (!canonical) return [];
  const vs: ValueSet | undefined = ctx.valueSet(canonical);
  return (vs?.compose?.include ?? []).map((i) => i.system).filter((s): s is string => typeof s === 'string');
}

function groupSource(ctx: TxContext, map: NormalizedConceptMap, g: MapGroup): string[] {
  return g.source ? [g.source] : valueSetSystems(ctx, map.sourceScope);
}

function groupTarget(ctx: TxContext, map: NormalizedConceptMap, g: MapGroup): string[] {
  return g.target ? [g.target] : valueSetSystems(ctx, map.targetScope);
}

function systemEquals(ctx: TxContext, a: string, b: string): boolean {
  return ctx.store.canonicalUrl('CodeSystem', a) === ctx.store.canonicalUrl('CodeSystem', b);
}

/** Every ConceptMap this request can see: all tx-resources (duplicates too), then stored ones they do not replace. */
export function visibleConceptMaps(ctx: TxContext): ConceptMap[] {
  const mine = ctx.overlayResources.filter((r): r is ConceptMap => r.resourceType === 'ConceptMap');
  const shadowed = new Set(mine.map((m) => `${m.url}|${m.version ?? ''}`));
  return [...mine, ...ctx.store.all('ConceptMap').filter((m) => !shadowed.has(`${m.url}|${m.version ?? ''}`))];
}

/**
 * The ConceptMaps with a canonical URL (and version, if given), or the 404 OperationOutcome.
 * Several tx-resources may share one `url|version`; all of them count.
 */
export function conceptMapsByUrl(ctx: TxContext, url: string, version: string | undefined): ConceptMap[] {
  const split = splitCanonical(url);
  const wanted = version ?? split.version;
  const found = visibleConceptMaps(ctx).filter(
    (m) => m.url === split.url && (wanted === undefined || m.version === wanted || versionMatches(wanted, m.version)),
  );
  if (found.length === 0) {
    throw new OperationOutcomeError(404, [
      makeIssue({ code: 'not-found', text: MSG.unknownConceptMap(split.url, wanted), txIssueType: 'not-found' }),
    ]);
  }
  if (wanted !== undefined) return found;
  // a plain url means the newest version (all copies of it)
  const newest = found.reduce((best, m) => (compareVersions(m.version, best.version) > 0 ? m : best));
  return found.filter((m) => m.version === newest.version);
}

class MatchList {
  readonly matches: TranslateMatch[] = [];
  private readonly keys = new Set<string>();

  add(m: TranslateMatch): void {
    const key = [m.concept.system, m.concept.code, m.source?.system, m.source?.code, m.relationship, m.originMap].join(
      '\u0000',
    );
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.matches.push(m);
  }
}

/** Whether the source code exists, when its code system is known (unmapped rules only apply to real codes). */
function sourceCodeKnown(ctx: TxContext, system: string, version: string | undefined, code: string): boolean {
  const cs = ctx.codeSystem(system, version) ?? ctx.codeSystem(system);
  if (!cs || cs.content === 'not-present' || cs.content === 'example' || cs.content === 'fragment') return true;
  return indexCodeSystem(cs).find(code) !== undefined;
}

const MAX_OTHER_MAP_DEPTH = 5;

function translateForward(
  ctx: TxContext,
  maps: readonly NormalizedConceptMap[],
  coding: Coding & { system: string; code: string },
  input: TranslateInput,
  out: MatchList,
  depth: number,
): void {
  for (const map of maps) {
    for (const g of map.groups) {
      if (!groupSource(ctx, map, g).some((s) => systemEquals(ctx, s, coding.system))) continue;
      if (!versionsAgree(coding.version, g.sourceVersion)) continue;
      const targetSystems = groupTarget(ctx, map, g);
      if (input.targetSystem && !targetSystems.some((t) => systemEquals(ctx, t, input.targetSystem!))) continue;
      const targetSystem = g.target ?? targetSystems[0];
      const elements = g.elements.filter((e) => e.code === coding.code);
      for (const e of elements) {
        if (e.noMap) continue;
        for (const t of e.targets) {
          if (t.code === undefined) continue;
          out.add({
            relationship: t.relationship,
            equivalence: t.equivalence,
            concept: {
              ...(targetSystem ? { system: targetSystem } : {}),
              ...(g.targetVersion ? { version: g.targetVersion } : {}),
              code: t.code,
              ...(t.display ? { display: t.display } : {}),
            },
            originMap: map.canonical,
            ...(t.comment ? { comment: t.comment } : {}),
            product: t.product,
          });
        }
      }
      // http://hl7.org/fhir/R5/conceptmap-definitions.html#ConceptMap.group.unmapped: "when there
      // is no mapping to a target concept from the source concept and noMap is not true"
      const handled = elements.some((e) => e.noMap || e.targets.some((t) => t.code !== undefined));
      const u = g.unmapped;
      if (handled || !u || !sourceCodeKnown(ctx, coding.system, coding.version, coding.code)) continue;
      if (u.mode === 'use-source-code' || (u.mode === 'fixed' && u.code)) {
        const relationship = u.relationship ?? (u.mode === 'use-source-code' ? 'equivalent' : 'related-to');
        const code = u.mode === 'fixed' ? u.code! : coding.code;
        out.add({
          relationship,
          equivalence: RELATIONSHIP_TO_EQUIVALENCE[relationship],
          concept: {
            ...(targetSystem ? { system: targetSystem } : {}),
            code,
            ...(u.mode === 'fixed' && u.display ? { display: u.display } : {}),
          },
          originMap: map.canonical,
          product: [],
        });
      } else if (u.mode === 'other-map' && u.otherMap && depth < MAX_OTHER_MAP_DEPTH) {
        const other = visibleConceptMaps(ctx).filter((m) => m.url && sameCanonical(u.otherMap!, m.url));
        translateForward(ctx, other.map(normalizeConceptMap), coding, input, out, depth + 1);
      }
    }
  }
}

function translateReverse(
  ctx: TxContext,
  maps: readonly NormalizedConceptMap[],
  coding: Coding & { system: string; code: string },
  input: TranslateInput,
  out: MatchList,
): void {
  for (const map of maps) {
    for (const g of map.groups) {
      const targetSystems = groupTarget(ctx, map, g);
      if (!targetSystems.some((t) => systemEquals(ctx, t, coding.system))) continue;
      if (!versionsAgree(coding.version, g.targetVersion)) continue;
      const sourceSystems = groupSource(ctx, map, g);
      if (input.sourceSystem && !sourceSystems.some((s) => systemEquals(ctx, s, input.sourceSystem!))) continue;
      const sourceSystem = g.source ?? sourceSystems[0];
      for (const e of g.elements) {
        if (e.noMap || e.code === undefined) continue;
        for (const t of e.targets) {
          if (t.code !== coding.code) continue;
          out.add({
            relationship: t.relationship,
            equivalence: t.equivalence,
            // tx.fhir.org (and translate-reverse-response-parameters.json): `concept` is the
            // target code asked about, `source` the source code that maps to it
            concept: { system: coding.system, code: coding.code },
            source: {
              ...(sourceSystem ? { system: sourceSystem } : {}),
              ...(g.sourceVersion ? { version: g.sourceVersion } : {}),
              code: e.code,
              ...(e.display ? { display: e.display } : {}),
            },
            originMap: map.canonical,
            ...(t.comment ? { comment: t.comment } : {}),
            product: t.product,
          });
        }
      }
    }
  }
}

/** Whether a map may translate this coding at all (used to pick maps when none is named). */
function mapApplies(
  ctx: TxContext,
  map: NormalizedConceptMap,
  coding: Coding & { system: string },
  input: TranslateInput,
): boolean {
  if (input.sourceScope && !(map.sourceScope && sameCanonical(input.sourceScope, map.sourceScope))) return false;
  if (input.targetScope && !(map.targetScope && sameCanonical(input.targetScope, map.targetScope))) return false;
  return map.groups.some((g) =>
    (input.reverse ? groupTarget(ctx, map, g) : groupSource(ctx, map, g)).some((s) =>
      systemEquals(ctx, s, coding.system),
    ),
  );
}

/**
 * $translate. Without named maps, every ConceptMap the request can see (stored or tx-resource)
 * whose groups map from the coding's system (to it, when reverse) is used, narrowed by the
 * scope parameters. `result` is true when at least one match is not `not-related-to`
 * (R4: "can only be true if at least one returned match has an equivalence which is not
 * unmatched or disjoint").
 */
export function translateCode(ctx: TxContext, input: TranslateInput): TranslateResult {
  const out = new MatchList();
  let anyMap = false;
  const described: string[] = [];
  for (const c of input.codings) {
    if (!c.system || !c.code) continue;
    const coding = { ...c, system: c.system, code: c.code };
    described.push(`${coding.system}#${coding.code}`);
    const maps = (input.conceptMaps ?? visibleConceptMaps(ctx))
      .map(normalizeConceptMap)
      .filter((m) => input.conceptMaps !== undefined || mapApplies(ctx, m, coding, input));
    if (maps.length > 0) anyMap = true;
    if (input.reverse) translateReverse(ctx, maps, coding, input, out);
    else translateForward(ctx, maps, coding, input, out, 0);
  }
  const matches = out.matches;
  const result = matches.some((m) => m.relationship !== 'not-related-to');
  let message: string | undefined;
  if (!result) {
    const [system, code] = splitDescribed(described[0]);
    if (matches.length > 0) message = MSG.translateOnlyNegative(system, code);
    else if (!anyMap) message = MSG.translateNoMaps(system, code);
    else message = MSG.translateNoMatch(system, code);
  }
  return { result, ...(message ? { message } : {}), matches };
}

function splitDescribed(d: string | undefined): [string, string] {
  if (!d) return ['', ''];
  const i = d.lastIndexOf('#');
  return [d.slice(0, i), d.slice(i + 1)];
}
