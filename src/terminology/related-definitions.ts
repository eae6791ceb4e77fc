import type {
  CodeSystem,
  ValueSetCompose,
  ValueSetComposeInclude,
  ValueSetComposeIncludeFilter,
} from '@medplum/fhirtypes';
import { indexCodeSystem } from './codesystem-index.ts';
import type { TxContext } from './context.ts';
import { pickVersion, type VersionRules } from './version-rules.ts';

/**
 * The first step of ValueSet $compare (related.ts): deciding from the two composes alone, code
 * system by code system, without expanding anything. Decides whole-system includes, enumerated
 * concept lists, identical include lists, and a single filter against a single filter (`is-a`
 * against `is-a` by subsumption); sets `fail` for anything else (excludes, imports, includes with
 * both concepts and filters, includes without a system, several versions of a system whose version
 * matters), and the comparison then falls back to the expansions.
 */

export type VersionPolicy = 'always' | 'as-needed' | 'never';

export const VERSION_POLICIES: readonly VersionPolicy[] = ['always', 'as-needed', 'never'];

const FILTER_OP_EXT = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.compose.include.filter.op';

// ---------------------------------------------------------------------------------------------
// Comparison state

/** What has been learnt so far: codes only in `this` (left), only in `other` (right), in both. */
export interface Status {
  left: boolean;
  right: boolean;
  common: boolean;
  /** the definitions cannot decide: compare the expansions */
  fail: boolean;
}

export interface Diagnostics {
  missing: string[];
  extra: string[];
  common: string[];
}

/** The includes and excludes of one code system (version) on both sides. */
interface Group {
  system: string;
  /** the version the group is keyed by, when the version matters */
  version?: string;
  thisInc: ValueSetComposeInclude[];
  otherInc: ValueSetComposeInclude[];
  thisEx: ValueSetComposeInclude[];
  otherEx: ValueSetComposeInclude[];
}

/** How the version of one code system is treated. */
export interface SystemVersioning {
  /** include criteria are grouped by version */
  criteria: boolean;
  /** codes from different versions are different members */
  codes: boolean;
}

export interface DefinitionComparison {
  status: Status;
  diagnostics: Diagnostics;
  /** how each code system's versions are treated (the expansion step needs it too) */
  versioning: Map<string, SystemVersioning>;
}

/** Compares two composes from their definitions; `status.fail` when they cannot decide. */
export function compareDefinitions(
  ctx: TxContext,
  rules: VersionRules,
  policy: VersionPolicy,
  thisCompose: ValueSetCompose,
  otherCompose: ValueSetCompose,
): DefinitionComparison {
  const allCriteria = [
    ...(thisCompose.include ?? []),
    ...(thisCompose.exclude ?? []),
    ...(otherCompose.include ?? []),
    ...(otherCompose.exclude ?? []),
  ];
  const versioning = new Map<string, SystemVersioning>();
  const groups = groupBySystem(ctx, rules, policy, versioning, allCriteria, thisCompose, otherCompose);
  const status: Status = { left: false, right: false, common: false, fail: false };
  const diagnostics: Diagnostics = { missing: [], extra: [], common: [] };
  // compose.inactive = false leaves the inactive codes out of one side only: the same includes
  // then need not mean the same codes
  const activeOnly = (c: ValueSetCompose): boolean => c.inactive === false;
  if (activeOnly(thisCompose) !== activeOnly(otherCompose) || hasSeveralVersionsOfOneSystem(groups, versioning)) {
    status.fail = true;
  } else {
    for (const group of groups.values()) {
      if (group.system === '') status.fail = true;
      else compareGroup(ctx, rules, group, status, diagnostics);
      if (status.fail) break;
    }
  }
  return { status, diagnostics, versioning };
}

// ---------------------------------------------------------------------------------------------
// Grouping by code system

/** A code system the definitions can be reasoned about with (content is there to read). */
function usableCodeSystem(cs: CodeSystem | undefined): CodeSystem | undefined {
  if (!cs) return undefined;
  return cs.content === 'complete' || cs.content === 'fragment' || cs.content === undefined ? cs : undefined;
}

function hasFilters(inc: ValueSetComposeInclude): boolean {
  return (inc.filter ?? []).length > 0;
}

function hasConcepts(inc: ValueSetComposeInclude): boolean {
  return (inc.concept ?? []).length > 0;
}

function hasValueSets(inc: ValueSetComposeInclude): boolean {
  const v = inc.valueSet as unknown;
  return Array.isArray(v) ? v.length > 0 : typeof v === 'string';
}

/**
 * The version of the include's code system that the comparison keys it by, when the version
 * matters; undefined when it does not. Records how the system's versions are treated.
 */
function versionKey(
  ctx: TxContext,
  rules: VersionRules,
  policy: VersionPolicy,
  versioning: Map<string, SystemVersioning>,
  allCriteria: readonly ValueSetComposeInclude[],
  inc: ValueSetComposeInclude,
): string | undefined {
  const system = inc.system ?? '';
  if (system === '') return undefined;
  const wanted = pickVersion(rules, system, inc.version).version;
  const cs = usableCodeSystem(ctx.codeSystem(system, wanted));
  const version = wanted ?? cs?.version;
  let criteria: boolean;
  let codes: boolean;
  if (policy === 'never') {
    criteria = false;
    codes = false;
  } else if (policy === 'always') {
    criteria = version !== undefined;
    codes = true;
  } else {
    const filtered = allCriteria.some((c) => c.system === system && hasFilters(c));
    const earlier = versioning.get(system)?.criteria === true;
    criteria = cs !== undefined && version !== undefined && (earlier || cs.versionNeeded === true || filtered);
    codes = cs?.versionNeeded === true;
  }
  if (!versioning.has(system)) versioning.set(system, { criteria, codes });
  else if (criteria) versioning.set(system, { ...(versioning.get(system) as SystemVersioning), criteria: true });
  return criteria ? version : undefined;
}

function groupBySystem(
  ctx: TxContext,
  rules: VersionRules,
  policy: VersionPolicy,
  versioning: Map<string, SystemVersioning>,
  allCriteria: readonly ValueSetComposeInclude[],
  thisCompose: ValueSetCompose,
  otherCompose: ValueSetCompose,
): Map<string, Group> {
  const groups = new Map<string, Group>();
  const add = (
    list: readonly ValueSetComposeInclude[] | undefined,
    side: 'thisInc' | 'otherInc' | 'thisEx' | 'otherEx',
  ) => {
    for (const inc of list ?? []) {
      const system = inc.system ?? '';
      const version = versionKey(ctx, rules, policy, versioning, allCriteria, inc);
      const key = version === undefined ? system : `${system}|${version}`;
      let group = groups.get(key);
      if (!group) {
        group = {
          system,
          ...(version !== undefined ? { version } : {}),
          thisInc: [],
          otherInc: [],
          thisEx: [],
          otherEx: [],
        };
        groups.set(key, group);
      }
      group[side].push(inc);
    }
  };
  add(thisCompose.include, 'thisInc');
  add(otherCompose.include, 'otherInc');
  add(thisCompose.exclude, 'thisEx');
  add(otherCompose.exclude, 'otherEx');
  return groups;
}

/** Different versions of one code system whose version matters: the definitions cannot be lined up. */
function hasSeveralVersionsOfOneSystem(groups: Map<string, Group>, versioning: Map<string, SystemVersioning>): boolean {
  const count = new Map<string, number>();
  for (const g of groups.values()) count.set(g.system, (count.get(g.system) ?? 0) + 1);
  return [...count].some(([system, n]) => n > 1 && versioning.get(system)?.criteria === true);
}

// ---------------------------------------------------------------------------------------------
// Comparing the definitions of one code system

type IncludeKind = 'all' | 'concepts' | 'filters';

function kindOf(inc: ValueSetComposeInclude): IncludeKind {
  if (hasFilters(inc)) return 'filters';
  if (hasConcepts(inc)) return 'concepts';
  return 'all';
}

function filterOp(f: ValueSetComposeIncludeFilter): string {
  if (typeof f.op === 'string') return f.op;
  // R5-only operators travel in R4 as an extension on `_op` (tx-ecosystem README, "Sending a test")
  const shadow = (f as unknown as Record<string, { extension?: { url?: string; valueCode?: string }[] } | undefined>)
    ._op;
  return shadow?.extension?.find((e) => e.url === FILTER_OP_EXT)?.valueCode ?? '';
}

function filterKey(f: ValueSetComposeIncludeFilter): string {
  return `${f.property ?? ''}\u0000${filterOp(f)}\u0000${f.value ?? ''}`;
}

function byFilter(x: ValueSetComposeIncludeFilter, y: ValueSetComposeIncludeFilter): number {
  const kx = filterKey(x);
  const ky = filterKey(y);
  return kx < ky ? -1 : kx > ky ? 1 : 0;
}

/** One include, in the normal form the comparison uses: codes and filters sorted. */
interface Tidy {
  kind: IncludeKind;
  codes: string[];
  filters: ValueSetComposeIncludeFilter[];
}

/**
 * The includes of one side as a comparable list: every concept-list include merged into one,
 * codes and filters sorted, whole-system includes first, then the concept list, then filters.
 * Works on copies: the value sets are never changed.
 */
function tidyIncludes(list: readonly ValueSetComposeInclude[]): Tidy[] {
  const out: Tidy[] = [];
  const codes = new Set<string>();
  let sawConcepts = false;
  for (const inc of list) {
    const kind = kindOf(inc);
    if (kind === 'concepts') {
      sawConcepts = true;
      for (const c of inc.concept ?? []) if (typeof c.code === 'string') codes.add(c.code);
    } else {
      out.push({ kind, codes: [], filters: [...(inc.filter ?? [])].sort(byFilter) });
    }
  }
  if (sawConcepts) out.push({ kind: 'concepts', codes: [...codes].sort(), filters: [] });
  const rank: Record<IncludeKind, number> = { all: 1, concepts: 2, filters: 3 };
  return out.sort((x, y) => {
    const r = rank[x.kind] - rank[y.kind];
    if (r !== 0) return r;
    const fx = x.filters[0];
    const fy = y.filters[0];
    return fx && fy ? byFilter(fx, fy) : 0;
  });
}

function identical(x: Tidy, y: Tidy): boolean {
  if (x.kind !== y.kind) return false;
  if (x.codes.length !== y.codes.length || x.codes.some((c, i) => c !== y.codes[i])) return false;
  if (x.filters.length !== y.filters.length) return false;
  return x.filters.every((f, i) => filterKey(f) === filterKey(y.filters[i]));
}

function compareGroup(ctx: TxContext, rules: VersionRules, group: Group, status: Status, diag: Diagnostics): void {
  // excludes and imports are not reasoned about from the definitions
  if (group.thisEx.length > 0 || group.otherEx.length > 0) {
    status.fail = true;
    return;
  }
  const both = [...group.thisInc, ...group.otherInc];
  if (both.some(hasValueSets) || both.some((inc) => hasConcepts(inc) && hasFilters(inc))) {
    status.fail = true;
    return;
  }
  const mine = tidyIncludes(group.thisInc);
  const theirs = tidyIncludes(group.otherInc);
  if (mine.length === 0) {
    // only `other` draws on this code system
    status.right = true;
    return;
  }
  if (theirs.length === 0) {
    status.left = true;
    return;
  }
  const [m, t] = [mine[0], theirs[0]];
  if (m.kind === 'all' || t.kind === 'all') {
    // a whole-system include covers anything else the other side takes from the system
    status.common = true;
    if (m.kind !== 'all') status.right = true;
    else if (t.kind !== 'all') status.left = true;
    return;
  }
  if (mine.length > 1 || theirs.length > 1) {
    // several concept lists and filters interact in too many ways: only identical ones are decided
    status.common = true;
    if (mine.length !== theirs.length || mine.some((x, i) => !identical(x, theirs[i]))) status.fail = true;
    return;
  }
  if (m.kind === 'concepts' && t.kind === 'concepts') {
    compareCodeLists(m.codes, t.codes, status, diag);
    return;
  }
  if (m.kind === 'filters' && t.kind === 'filters') {
    if (!compareFilters(ctx, rules, group, m.filters, t.filters, status)) status.fail = true;
    return;
  }
  status.fail = true;
}

function compareCodeLists(mine: readonly string[], theirs: readonly string[], status: Status, diag: Diagnostics): void {
  const theirSet = new Set(theirs);
  const mySet = new Set(mine);
  const common = mine.filter((c) => theirSet.has(c));
  const missing = mine.filter((c) => !theirSet.has(c));
  const extra = theirs.filter((c) => !mySet.has(c));
  diag.common.push(...common);
  diag.missing.push(...missing);
  diag.extra.push(...extra);
  if (common.length > 0) status.common = true;
  if (missing.length > 0) status.left = true;
  if (extra.length > 0) status.right = true;
}

/**
 * Two filter lists over one code system. Several filters must be identical; a single filter
 * must have the same property and operator, and either the same value, or (for `is-a`) values
 * whose subsumption relationship settles the question. False: cannot decide.
 */
function compareFilters(
  ctx: TxContext,
  rules: VersionRules,
  group: Group,
  mine: readonly ValueSetComposeIncludeFilter[],
  theirs: readonly ValueSetComposeIncludeFilter[],
  status: Status,
): boolean {
  if (mine.length !== theirs.length) return false;
  if (mine.length > 1) {
    // how several filters interact is not guessed at
    if (!mine.every((f, i) => filterKey(f) === filterKey(theirs[i]))) return false;
    status.common = true;
    return true;
  }
  const [f, g] = [mine[0], theirs[0]];
  if (f.property !== g.property || filterOp(f) !== filterOp(g)) return false;
  if (f.value === g.value) {
    status.common = true;
    return true;
  }
  if (filterOp(f) !== 'is-a' || typeof f.value !== 'string' || typeof g.value !== 'string') return false;
  const version = group.version ?? pickVersion(rules, group.system, undefined).version;
  const cs = usableCodeSystem(ctx.codeSystem(group.system, version));
  if (!cs) return false;
  const idx = indexCodeSystem(cs);
  const x = idx.find(f.value);
  const y = idx.find(g.value);
  if (!x || !y) return false;
  if (x.code === y.code) {
    status.common = true;
    return true;
  }
  if (idx.ancestors(y.code).includes(x.code)) {
    // `this` is-a x, x subsumes y: `this` has all of `other` and more
    status.common = true;
    status.left = true;
    return true;
  }
  if (idx.ancestors(x.code).includes(y.code)) {
    status.common = true;
    status.right = true;
    return true;
  }
  // unrelated codes share no descendants, unless a concept has more than one parent
  if (idx.hasMultipleParents()) return false;
  status.left = true;
  status.right = true;
  return true;
}
