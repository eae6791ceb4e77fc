import type { Coding, ConceptMap } from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError, unprocessable } from '../http/outcome.ts';
import { resolveValueSetReference } from './compose.ts';
import {
  conceptMapDependencies,
  type MapGroup,
  type MapProduct,
  type NormalizedConceptMap,
  normalizeConceptMap,
  type Relationship,
} from './conceptmap.ts';
import type { TxContext } from './context.ts';
import { MSG } from './operation-messages.ts';
import { validateCodeInValueSet } from './validate.ts';
import { compareVersions, splitCanonical, versionMatches } from './versions.ts';

/**
 * ConceptMap $translate (http://hl7.org/fhir/R4/conceptmap-operation-translate.html and
 * https://hl7.org/fhir/R5/conceptmap-operation-translate.html), behaving as the reference
 * server tx.fhir.org does in the HL7 terminology ecosystem tests:
 *
 * - the concept named is checked against the scope the request gives for it (R5 `sourceScope`,
 *   or `targetScope` when translating in reverse) before any map is looked at; outside it no
 *   map applies, the one named by `url` included;
 * - a map applies only to codes in its own scope (`ConceptMap.sourceScope`, R4 `source[x]`;
 *   `targetScope` in reverse), whether it was named or found, and `group.unmapped` never
 *   reaches past that scope; a map scope this server cannot resolve limits nothing;
 * - each group decides for itself: an element for the code (its targets, or `noMap`) answers,
 *   else the group's `unmapped` (use-source-code, fixed, other-map: a chain of maps, with
 *   circular references refused); the match names the map the chain started from
 *   (`originMap`) and every other map consulted is reported as used;
 * - not-related-to (R4 disjoint, unmatched) and noMap are reported as matches, but `result` is
 *   true only when some match is a translation ("can only be true if at least one returned
 *   match has an equivalence which is not unmatched or disjoint", R4 $translate `result`).
 *
 * Knows nothing of HTTP or of R4/R5 parameter names: conceptmap-translate.ts reads those.
 */

export type { Relationship } from './conceptmap.ts';

export interface TranslateInput {
  /**
   * The concept named: the source concept, or with `reverse` the target concept. Only the first
   * coding is translated, as tx.fhir.org does with a CodeableConcept.
   */
  codings: Coding[];
  /** find the source concepts that map to the named target concept (R5 targetCode, R4 reverse) */
  reverse?: boolean;
  /** the maps named by the request (url, conceptMap parameter, instance); else every map that fits */
  conceptMaps?: ConceptMap[];
  /** the value set of the map's source side (R5 sourceScope, R4 source); forward: holds the concept */
  sourceScope?: string;
  /** the value set of the map's target side (R5 targetScope, R4 target); reverse: holds the concept */
  targetScope?: string;
  /** forward: the system to translate into (R5 targetSystem, R4 targetsystem) */
  targetSystem?: string;
  /** reverse: the system the answers come from (R5 sourceSystem or system; R4 reverse: targetsystem) */
  sourceSystem?: string;
}

export interface TranslateMatch {
  /** forward: the target concept; reverse: the target concept asked about; none for noMap */
  concept?: Coding;
  /** reverse: the source concept that maps to the target concept; noMap: the source concept */
  source?: Coding;
  /** the map says the source concept has no mapping (R5 element.noMap, R4 `unmatched` without a code) */
  noMap?: true;
  relationship?: Relationship;
  /** the R4 equivalence the map states, when it is an R4 map */
  equivalence?: string;
  /** ConceptMap.group.element.comment: about the source concept */
  sourceComment?: string;
  /** ConceptMap.group.element.target.comment: about this mapping */
  targetComment?: string;
  product: MapProduct[];
  /** url|version of the map the translation started from */
  originMap: string;
}

export interface TranslateResult {
  result: boolean;
  message?: string;
  reverse: boolean;
  matches: TranslateMatch[];
  /** url|version of every map other than the first of a chain that was consulted (other-map) */
  usedConceptMaps: string[];
}

type NamedCoding = Coding & { system?: string; code: string };

/** Whether a match is a translation: not noMap, not not-related-to (R4 unmatched, disjoint). */
export function isTranslation(m: TranslateMatch): boolean {
  return m.noMap !== true && m.relationship !== 'not-related-to';
}

/**
 * `value` satisfies `pattern` (canonicals): same url, and the pattern's version, if it has one,
 * matches the value's.
 */
function canonicalMatches(value: string | undefined, pattern: string | undefined): boolean {
  if (!value || !pattern) return false;
  const v = splitCanonical(value);
  const p = splitCanonical(pattern);
  if (v.url !== p.url) return false;
  return p.version === undefined || (v.version !== undefined && versionMatches(p.version, v.version));
}

function sameSystem(ctx: TxContext, a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const x = splitCanonical(a).url;
  const y = splitCanonical(b).url;
  return x === y || ctx.store.canonicalUrl('CodeSystem', x) === ctx.store.canonicalUrl('CodeSystem', y);
}

function versionsAgree(wanted: string | undefined, stated: string | undefined): boolean {
  return wanted === undefined || stated === undefined || wanted === stated || versionMatches(wanted, stated);
}

/** Every ConceptMap this request can see: all tx-resources (duplicates too), then stored ones they do not replace. */
export function visibleConceptMaps(ctx: TxContext): ConceptMap[] {
  const mine = ctx.overlayResources.filter((r): r is ConceptMap => r.resourceType === 'ConceptMap');
  const shadowed = new Set(mine.map((m) => `${m.url}|${m.version ?? ''}`));
  return [...mine, ...ctx.store.all('ConceptMap').filter((m) => !shadowed.has(`${m.url}|${m.version ?? ''}`))];
}

/**
 * The ConceptMaps with a canonical URL (and version, if given), or a 404. Several tx-resources
 * may share one `url|version`; all of them count. A plain url means the newest version.
 */
export function conceptMapsByUrl(ctx: TxContext, url: string, version: string | undefined): ConceptMap[] {
  const split = splitCanonical(url);
  const wanted = version ?? split.version;
  const found = visibleConceptMaps(ctx).filter(
    (m) => m.url === split.url && (wanted === undefined || m.version === wanted || versionMatches(wanted, m.version)),
  );
  if (found.length === 0) {
    throw new OperationOutcomeError(404, [
      makeIssue({ code: 'not-found', text: MSG.conceptMapNotFound(split.url, wanted), txIssueType: 'not-found' }),
    ]);
  }
  if (wanted !== undefined) return found;
  const newest = found.reduce((best, m) => (compareVersions(m.version, best.version) > 0 ? m : best));
  return found.filter((m) => m.version === newest.version);
}

/**
 * The order maps are consulted in (tx.fhir.org): a map that defers to another (other-map)
 * before the one it defers to, then the most recent first, maps without a date last; a cycle
 * keeps its maps at the end, to be reported when the translation follows it.
 */
export function orderConceptMaps(maps: readonly NormalizedConceptMap[]): NormalizedConceptMap[] {
  if (maps.length < 2) return [...maps];
  const byDate = (a: NormalizedConceptMap, b: NormalizedConceptMap): number =>
    a.date === undefined ? (b.date === undefined ? 0 : 1) : b.date === undefined ? -1 : b.date - a.date;
  const byRef = new Map<string, NormalizedConceptMap>();
  for (const m of maps) {
    if (m.url && !byRef.has(m.url)) byRef.set(m.url, m);
    if (m.canonical) byRef.set(m.canonical, m);
  }
  const dependsOn = new Map(maps.map((m) => [m, new Set<NormalizedConceptMap>()]));
  const waiting = new Map(maps.map((m) => [m, 0]));
  for (const m of maps) {
    for (const ref of conceptMapDependencies(m)) {
      const dep = byRef.get(ref) ?? byRef.get(splitCanonical(ref).url);
      const deps = dependsOn.get(m)!;
      if (dep && dep !== m && !deps.has(dep)) {
        deps.add(dep);
        waiting.set(dep, waiting.get(dep)! + 1);
      }
    }
  }
  const ready = maps.filter((m) => waiting.get(m) === 0).sort(byDate);
  const ordered: NormalizedConceptMap[] = [];
  while (ready.length > 0) {
    const m = ready.shift()!;
    ordered.push(m);
    for (const dep of dependsOn.get(m)!) {
      waiting.set(dep, waiting.get(dep)! - 1);
      if (waiting.get(dep) === 0) {
        ready.push(dep);
        ready.sort(byDate);
      }
    }
  }
  const seen = new Set(ordered);
  return [...ordered, ...maps.filter((m) => !seen.has(m)).sort(byDate)];
}

/**
 * One $translate: the request's view of terminology, the concept, what has been found so far,
 * and the scope decisions already made (a scope is usually shared by several maps).
 */
class Translation {
  readonly matches: TranslateMatch[] = [];
  readonly used: string[] = [];
  private readonly scopes = new Map<string, boolean>();
  readonly ctx: TxContext;
  readonly input: TranslateInput;
  readonly coding: NamedCoding;

  constructor(ctx: TxContext, input: TranslateInput, coding: NamedCoding) {
    this.ctx = ctx;
    this.input = input;
    this.coding = coding;
  }

  /**
   * Whether the concept is in the value set `canonical` (a $validate-code against it). A scope
   * the request names (`why`) must be found: without it the question has no answer (404). A
   * map's own scope that cannot be found limits nothing (R4 `source[x]` is often a bare URI,
   * and a core map may name a value set this server does not hold): its groups decide alone.
   */
  inScope(canonical: string, why?: string): boolean {
    const known = this.scopes.get(canonical);
    if (known !== undefined) return known;
    const vs = resolveValueSetReference(this.ctx, canonical);
    if (!vs) {
      if (why === undefined) return true;
      throw new OperationOutcomeError(404, [
        makeIssue({ code: 'not-found', text: MSG.translateScopeNotFound(canonical, why), txIssueType: 'not-found' }),
      ]);
    }
    const { system, version, code } = this.coding;
    const coding: Coding = { ...(system ? { system } : {}), ...(version ? { version } : {}), code };
    const inside = validateCodeInValueSet(this.ctx, vs, { mode: 'coding', codings: [coding] }).result;
    this.scopes.set(canonical, inside);
    return inside;
  }

  /** The coding of a concept as a match reports it: system and code only. */
  private concept(system: string | undefined, code: string | undefined, display?: string): Coding {
    return { ...(system ? { system } : {}), ...(code ? { code } : {}), ...(display ? { display } : {}) };
  }

  private hasConcept(c: Coding): boolean {
    return this.matches.some((m) => m.concept && m.concept.system === c.system && m.concept.code === c.code);
  }

  private hasNoMap(source: Coding): boolean {
    return this.matches.some((m) => m.noMap && m.source?.system === source.system && m.source?.code === source.code);
  }

  private hasSource(source: Coding): boolean {
    return this.matches.some((m) => m.source && m.source.system === source.system && m.source.code === source.code);
  }

  private groupsForward(map: NormalizedConceptMap): MapGroup[] {
    const { ctx, input, coding } = this;
    // a target scope that is the map's own opens every group to it (tx.fhir.org)
    const all = canonicalMatches(input.targetScope, map.targetScope);
    return map.groups.filter(
      (g) =>
        sameSystem(ctx, g.source, coding.system) &&
        versionsAgree(coding.version, g.sourceVersion) &&
        (all || !input.targetSystem || sameSystem(ctx, g.target, input.targetSystem)),
    );
  }

  /**
   * Translates with one map's groups; `origin` and `visited` follow an other-map chain. Whether
   * some group had something to say (a target, noMap, an unmapped answer).
   */
  forward(map: NormalizedConceptMap, origin = map.canonical, visited = new Set([map.canonical])): boolean {
    const { coding } = this;
    let any = false;
    for (const g of this.groupsForward(map)) {
      let answered = false;
      for (const e of g.elements) {
        if (e.code !== coding.code) continue;
        if (e.noMap) {
          // a positive statement that the concept has no mapping: an answer, not the absence of one
          answered = true;
          const source = this.concept(g.source, e.code);
          if (!this.hasNoMap(source)) {
            this.matches.push({
              noMap: true,
              source,
              ...(e.comment ? { sourceComment: e.comment } : {}),
              product: [],
              originMap: origin,
            });
          }
          continue;
        }
        for (const t of e.targets) {
          if (t.relationship === undefined) continue;
          answered = true;
          const concept = this.concept(g.target, t.code);
          if (this.hasConcept(concept)) continue;
          this.matches.push({
            concept,
            relationship: t.relationship,
            ...(t.equivalence ? { equivalence: t.equivalence } : {}),
            ...(e.comment ? { sourceComment: e.comment } : {}),
            ...(t.comment ? { targetComment: t.comment } : {}),
            product: t.product,
            originMap: origin,
          });
        }
      }
      // http://hl7.org/fhir/R5/conceptmap-definitions.html#ConceptMap.group.unmapped: "when there
      // is no mapping to a target concept from the source concept and noMap is not true"
      if (!answered) answered = this.unmapped(map, g, origin, visited);
      if (answered) any = true;
    }
    return any;
  }

  /** ConceptMap.group.unmapped for a concept the group has no element for; whether it answered. */
  private unmapped(map: NormalizedConceptMap, g: MapGroup, origin: string, visited: Set<string>): boolean {
    const u = g.unmapped;
    if (!u) return false;
    if (u.valueSet !== undefined) {
      throw unprocessable(MSG.translateUnmappedValueSet(map.canonical), 'not-supported', 'not-supported');
    }
    const add = (concept: Coding): boolean => {
      if (this.hasConcept(concept)) return false;
      this.matches.push({
        concept,
        ...(u.relationship ? { relationship: u.relationship } : {}),
        product: [],
        originMap: origin,
      });
      return true;
    };
    switch (u.mode) {
      case 'use-source-code':
        return add(this.concept(g.target, this.coding.code));
      case 'fixed':
        return u.code !== undefined && add(this.concept(g.target, u.code, u.display));
      case 'other-map': {
        if (u.otherMap === undefined) return false;
        const found = this.ctx.resolve('ConceptMap', u.otherMap);
        if (!found) throw unprocessable(MSG.translateOtherMapNotFound(u.otherMap), 'not-found', 'not-found');
        const other = normalizeConceptMap(found);
        // the chain being followed, not every map seen: two groups deferring to one map is no cycle
        if (visited.has(other.canonical)) {
          throw unprocessable(
            MSG.translateCircularOtherMap(map.canonical, other.canonical, u.otherMap),
            'business-rule',
            'business-rule',
          );
        }
        visited.add(other.canonical);
        try {
          if (!this.used.includes(other.canonical)) this.used.push(other.canonical);
          return this.forward(other, origin, visited);
        } finally {
          visited.delete(other.canonical);
        }
      }
      default:
        throw unprocessable(MSG.translateUnknownUnmappedMode(map.canonical, u.mode), 'not-supported', 'not-supported');
    }
  }

  /** Reverse: the source concepts of one map that map to the target concept; whether there were any. */
  reverse(map: NormalizedConceptMap): boolean {
    const { ctx, input, coding } = this;
    let any = false;
    const all = canonicalMatches(input.sourceScope, map.sourceScope);
    for (const g of map.groups) {
      if (!sameSystem(ctx, g.target, coding.system) || !versionsAgree(coding.version, g.targetVersion)) continue;
      if (!all && input.sourceSystem && !sameSystem(ctx, g.source, input.sourceSystem)) continue;
      for (const e of g.elements) {
        for (const t of e.targets) {
          if (t.code !== coding.code || t.relationship === undefined) continue;
          any = true;
          const source = this.concept(g.source, e.code);
          if (this.hasSource(source)) continue;
          this.matches.push({
            concept: this.concept(g.target, coding.code),
            source,
            relationship: t.relationship,
            ...(t.equivalence ? { equivalence: t.equivalence } : {}),
            ...(e.comment ? { sourceComment: e.comment } : {}),
            ...(t.comment ? { targetComment: t.comment } : {}),
            product: t.product,
            originMap: map.canonical,
          });
        }
      }
    }
    return any;
  }
}

/**
 * Whether a map offers this translation when the request names none (tx.fhir.org): its
 * declared scopes are the two the request gives, or one of its groups goes from the concept's
 * system to the system asked for. Without a system or scope for the other side, every map with
 * a group from (reverse: to) the concept's system is taken.
 */
function offersTranslation(
  ctx: TxContext,
  map: NormalizedConceptMap,
  coding: NamedCoding,
  input: TranslateInput,
): boolean {
  if (
    input.sourceScope &&
    input.targetScope &&
    canonicalMatches(map.sourceScope, input.sourceScope) &&
    canonicalMatches(map.targetScope, input.targetScope)
  ) {
    return true;
  }
  if (input.reverse) {
    return map.groups.some(
      (g) =>
        sameSystem(ctx, g.target, coding.system) &&
        (input.sourceSystem
          ? sameSystem(ctx, g.source, input.sourceSystem)
          : !input.sourceScope || canonicalMatches(map.sourceScope, input.sourceScope)),
    );
  }
  return map.groups.some(
    (g) =>
      sameSystem(ctx, g.source, coding.system) &&
      (input.targetSystem
        ? sameSystem(ctx, g.target, input.targetSystem)
        : !input.targetScope || canonicalMatches(map.targetScope, input.targetScope)),
  );
}

function noTranslation(reverse: boolean, message: string): TranslateResult {
  return { result: false, message, reverse, matches: [], usedConceptMaps: [] };
}

/** $translate: see the module comment for the rules. */
export function translateCode(ctx: TxContext, input: TranslateInput): TranslateResult {
  const reverse = input.reverse === true;
  const first = input.codings.find((c) => c.code);
  if (!first?.code) return noTranslation(reverse, MSG.translateNothingFound());
  const coding: NamedCoding = { ...first, code: first.code };
  const t = new Translation(ctx, input, coding);
  const described = `${coding.system ?? ''}#${coding.code}`;

  // the scope the request gives for the concept is a precondition of the whole operation
  const conceptScope = reverse ? input.targetScope : input.sourceScope;
  if (conceptScope && !t.inScope(conceptScope, reverse ? 'targetScope parameter' : 'sourceScope parameter')) {
    return noTranslation(reverse, MSG.translateNotInScope(described, conceptScope));
  }

  const candidates = (input.conceptMaps ?? visibleConceptMaps(ctx))
    .map(normalizeConceptMap)
    .filter((m) => input.conceptMaps !== undefined || offersTranslation(ctx, m, coding, input));
  // a map applies only to the codes in its own scope, named or found (ConceptMap.sourceScope:
  // "limits the scope of the map to source codes that are members of this value set")
  let anyScoped = false;
  const maps = candidates.filter((m) => {
    const scope = reverse ? m.targetScope : m.sourceScope;
    if (!scope) return true;
    anyScoped = true;
    return t.inScope(scope);
  });
  if (maps.length === 0) {
    const from = (reverse ? (input.sourceSystem ?? input.sourceScope) : coding.system) ?? '(unspecified)';
    const to = (reverse ? coding.system : (input.targetSystem ?? input.targetScope)) ?? '(unspecified)';
    return noTranslation(
      reverse,
      anyScoped ? MSG.translateNoMapInScope(from, to, described) : MSG.translateNoMap(from, to),
    );
  }

  let answered = false;
  for (const map of orderConceptMaps(maps)) {
    if (reverse ? t.reverse(map) : t.forward(map)) answered = true;
  }
  return {
    result: answered && t.matches.some(isTranslation),
    ...(answered ? {} : { message: MSG.translateNothingFound() }),
    reverse,
    matches: t.matches,
    usedConceptMaps: t.used,
  };
}
