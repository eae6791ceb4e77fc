/**
 * The one place that decides what a value set contains
 * (http://hl7.org/fhir/R4/valueset.html#compositions). `$expand` enumerates from it and
 * `$validate-code` asks it; the per-include detail that validation messages need (which include
 * names the system, which code system version it resolved to, whether the code is listed or
 * passes the filters, whether an import contains it) comes from the same evaluation.
 *
 * A value set is prepared once per request (`ValueSetCore.prepare`): its imports are resolved
 * (contained `#id`, stored or sent canonicals, implicit all-codes value sets, with the value set
 * version rules: valueset-references.ts), recursively and with circularity detected; each include
 * and exclude knows its code system by canonical URL (aliases resolved) and resolves versions on
 * demand.
 *
 * Semantics (R4 compose, tx-ecosystem IG):
 * - an include selects the codes of its system (at the version the rules give) that are listed
 *   in `concept` or pass every `filter` (or all codes when it has neither), and that are in every
 *   value set of `valueSet`; an include with only `valueSet` is their intersection;
 * - excludes are the same, and remove what they select; excluding a whole system removes it;
 * - `compose.inactive = false` (or the `activeOnly` parameter) leaves inactive codes out;
 * - the same system included in different versions: codes are told apart by version, unless
 *   the includes and excludes name disjoint versions of one system, where an exclude removes the
 *   code from the other version (`versionsMatch`).
 * - a value set imported by an include that names no system gives its members with their versions
 *   (a code may be a member in several); the other imports of an include, and an include's system
 *   intersected with imports, are asked about the code in any version;
 * - a value set whose includes or imports bring several versions of one system tells codes apart
 *   by version (`multiVersion`).
 */
import type {
  ValueSet,
  ValueSetComposeInclude,
  ValueSetComposeIncludeConcept,
  ValueSetExpansionContains,
} from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import {
  type CodeSystemProblem,
  canonicalSystem,
  findCodeSystem,
  isCodeSystemProblem,
  knownVersions,
  pickSystemVersion,
  type ResolvedSystem,
  resolveSystem,
} from './code-systems.ts';
import type { CodeSystemIndex, IndexedConcept } from './codesystem-index.ts';
import type { TxContext } from './context.ts';
import { type ConceptPredicate, compileFilter, FilterError } from './filters.ts';
import { MSGID } from './message-ids.ts';
import {
  ImportNotFoundError,
  includeValueSets,
  MAX_IMPORT_DEPTH,
  pinValueSetReference,
  resolveValueSetReference,
  valueSetCanonical,
} from './valueset-references.ts';
import { NO_VERSION_RULES, type VersionRules } from './version-rules.ts';
import { compareVersions, versionMatches } from './versions.ts';

export interface CoreOptions {
  /** system-version / check-system-version / force-system-version */
  rules?: VersionRules;
  /** default-valueset-version / check-valueset-version / force-valueset-version (imports) */
  valueSetRules?: VersionRules;
  /** inactive codes are not members (`activeOnly`) */
  activeOnly?: boolean;
  /** canonicals of supplements that must be used (`useSupplement`, `valueset-supplement`) */
  supplements?: readonly string[];
}

/** The messages of the errors the core raises itself. */
export const CORE_MSG = {
  /** VALUESET_CIRCULAR_REFERENCE */
  circular: (target: string, pathway: readonly string[]): string =>
    `Found a circularity pointing to ${target} processing ValueSet with pathway [${pathway.join(', ')}]`,
  includeWithoutSource: (path: string): string => `${path} has neither a system nor a value set`,
  tooDeep: (max: number): string => `The value set imports are nested more than ${max} deep`,
  /** UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE */
  filterNoValue: (system: string, property: string, op: string): string =>
    `The system ${system} filter with property = ${property}, op = ${op} has no value`,
  /** FILTER_NOT_UNDERSTOOD */
  filterNotUnderstood: (property: string, op: string, value: string): string =>
    `The filter "${property} ${op} ${value}" is not understood or supported`,
};

/** What a value set's includes and excludes select for one code. */
export interface Selection {
  concept: IndexedConcept;
  /** the `include.concept` element that lists it, if the include lists codes */
  vsConcept?: ValueSetComposeIncludeConcept;
}

/** One `compose.include` or `compose.exclude`, prepared. */
export class PreparedSet {
  readonly owner: PreparedValueSet;
  readonly kind: 'include' | 'exclude';
  readonly index: number;
  /** `ValueSet.compose.include[1]` */
  readonly path: string;
  readonly element: ValueSetComposeInclude;
  /** the system as written, and as the canonical URL it names */
  readonly writtenSystem?: string;
  readonly system?: string;
  /** `include.version` as written */
  readonly version?: string;
  readonly imports: PreparedValueSet[];
  readonly hasConcepts: boolean;
  readonly hasFilters: boolean;
  private readonly core: ValueSetCore;
  private readonly predicateCache = new Map<ResolvedSystem, ConceptPredicate[]>();
  private readonly listedCache = new Map<CodeSystemIndex, Map<string, ValueSetComposeIncludeConcept>>();

  constructor(
    core: ValueSetCore,
    owner: PreparedValueSet,
    kind: 'include' | 'exclude',
    index: number,
    element: ValueSetComposeInclude,
    imports: PreparedValueSet[],
  ) {
    this.core = core;
    this.owner = owner;
    this.kind = kind;
    this.index = index;
    this.path = `ValueSet.compose.${kind}[${index}]`;
    this.element = element;
    if (typeof element.system === 'string' && element.system !== '') {
      this.writtenSystem = element.system;
      this.system = canonicalSystem(core.ctx, element.system);
    }
    if (typeof element.version === 'string' && element.version !== '') this.version = element.version;
    this.imports = imports;
    // malformed input is refused at the edge (resource-shape.ts); the engine still reads only arrays
    this.hasConcepts = Array.isArray(element.concept) && element.concept.length > 0;
    this.hasFilters = Array.isArray(element.filter) && element.filter.length > 0;
  }

  /** A whole code system: no concept list, no filter, no import. */
  get wholeSystem(): boolean {
    return this.system !== undefined && !this.hasConcepts && !this.hasFilters && this.imports.length === 0;
  }

  /** The code system version this set uses (its own version, the version rules applied). */
  resolved(): ResolvedSystem | CodeSystemProblem {
    return this.core.resolve(this.system as string, this.version);
  }

  /**
   * The version to validate a coding of `codingVersion` against: the include's (rules applied),
   * or the coding's own when it is more detailed than the include's pattern, or when the include
   * states none and the coding's version is known (tx-ecosystem version tests).
   */
  versionFor(codingVersion: string | undefined): string | undefined {
    const system = this.system as string;
    let result = pickSystemVersion(this.core.ctx, this.core.rules, system, this.version).requested;
    if (!codingVersion) return result;
    if (result && codingVersion !== result && versionMatches(result, codingVersion)) result = codingVersion;
    if (!result) {
      const known = knownVersions(this.core.ctx, system);
      if (known.some((v) => v === codingVersion || versionMatches(codingVersion, v))) result = codingVersion;
    }
    return result;
  }

  /** The include's listed concept for a code of `idx` (case-insensitively where the code system is). */
  listed(idx: CodeSystemIndex, concept: IndexedConcept): ValueSetComposeIncludeConcept | undefined {
    if (!this.hasConcepts) return undefined;
    let map = this.listedCache.get(idx);
    if (!map) {
      map = new Map();
      for (const c of this.hasConcepts ? (this.element.concept ?? []) : []) {
        if (typeof c?.code !== 'string') continue;
        const key = idx.caseSensitive ? c.code : c.code.toLowerCase();
        if (!map.has(key)) map.set(key, c);
      }
      this.listedCache.set(idx, map);
    }
    return map.get(idx.caseSensitive ? concept.code : concept.code.toLowerCase());
  }

  /** The compiled filters on a code system version; throws the 400 the IG asks for when one cannot be evaluated. */
  predicates(rs: ResolvedSystem): ConceptPredicate[] {
    const hit = this.predicateCache.get(rs);
    if (hit) return hit;
    const preds = (this.hasFilters ? (this.element.filter ?? []) : []).map((f, j) => {
      const fpath = `${this.path}.filter[${j}]`;
      if (f?.value === undefined || f.value === null || f.value === '') {
        throw coreError(
          400,
          'invalid',
          'vs-invalid',
          CORE_MSG.filterNoValue(rs.url, f?.property ?? '', f?.op ?? ''),
          fpath,
          MSGID.filterNoValue,
        );
      }
      try {
        return compileFilter(rs.index, f, this.core.ctx.date);
      } catch (err) {
        if (err instanceof FilterError) {
          const text = CORE_MSG.filterNotUnderstood(f.property ?? '', f.op ?? '', f.value ?? '');
          const error = coreError(400, 'not-supported', 'vs-invalid', text, fpath, MSGID.filterNotUnderstood);
          // the detail (which operator, which property, why the regex is refused) for the reader
          const issue = error.outcome.issue?.[0];
          if (issue) issue.diagnostics = err.message;
          throw error;
        }
        throw err;
      }
    });
    this.predicateCache.set(rs, preds);
    return preds;
  }

  /** Whether a concept of `rs` passes this set's concept list and filters (imports aside). */
  selects(rs: ResolvedSystem, concept: IndexedConcept): Selection | undefined {
    let vsConcept: ValueSetComposeIncludeConcept | undefined;
    if (this.hasConcepts) {
      vsConcept = this.listed(rs.index, concept);
      if (!vsConcept) return undefined;
    }
    if (this.hasFilters) {
      for (const p of this.predicates(rs)) if (!p(concept)) return undefined;
    }
    return vsConcept ? { concept, vsConcept } : { concept };
  }

  /** Whether every imported value set contains the code (versions aside). */
  importsContain(system: string, code: string, from = 0): boolean {
    for (let i = from; i < this.imports.length; i++) {
      if (!this.imports[i].contains(system, code)) return false;
    }
    return true;
  }

  /** The concepts of `rs` this set selects (imports aside), in value set order. */
  *enumerate(rs: ResolvedSystem): Generator<Selection> {
    const budget = this.core.ctx.budget;
    if (this.hasConcepts && !this.hasFilters) {
      for (const c of this.element.concept ?? []) {
        budget.spend();
        if (typeof c?.code !== 'string') continue;
        const concept = rs.index.find(c.code);
        if (concept && this.listed(rs.index, concept) === c) yield { concept, vsConcept: c };
      }
      return;
    }
    const preds = this.hasFilters ? this.predicates(rs) : [];
    for (const concept of rs.index.eachConcept()) {
      budget.spend();
      let ok = true;
      for (const p of preds) {
        if (!p(concept)) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (this.hasConcepts) {
        const vsConcept = this.listed(rs.index, concept);
        if (vsConcept) yield { concept, vsConcept };
      } else {
        yield { concept };
      }
    }
  }
}

/** A value set, prepared: its includes and excludes, its imports resolved. */
export class PreparedValueSet {
  readonly vs: ValueSet;
  /** `url|version`, or `#id` for a contained value set without url */
  readonly key: string;
  readonly vurl: string;
  /** the value set whose `contained` resolves `#id` references */
  readonly container: ValueSet;
  readonly contained: boolean;
  /** a value set given only as an expansion (no compose) */
  readonly expansionOnly: boolean;
  includes: PreparedSet[] = [];
  excludes: PreparedSet[] = [];
  /** `compose.inactive = false` or `activeOnly` */
  readonly excludeInactive: boolean;
  /** the same system in different versions: codes are told apart by version */
  multiVersion = false;
  /** the version each system is first included in, here or by an import */
  systemVersions = new Map<string, string | undefined>();
  /** the includes (with their imports) bring several versions of one system */
  includesSeveralVersions = false;
  /** includes and excludes name disjoint versions of one system: exclusions ignore the version */
  versionsMatch = false;
  private readonly core: ValueSetCore;
  private containsCache?: Map<string, boolean>;
  private expansionIndex?: Map<string, ValueSetExpansionContains[]>;

  constructor(core: ValueSetCore, vs: ValueSet, container: ValueSet, contained: boolean) {
    this.core = core;
    this.vs = vs;
    // messages name a value set without url as the reference servers do
    this.vurl = vs.url ? valueSetCanonical(vs) : '(unidentified)';
    this.key = valueSetCanonical(vs);
    this.container = container;
    this.contained = contained;
    this.expansionOnly = !vs.compose && !!vs.expansion;
    this.excludeInactive = vs.compose?.inactive === false || core.activeOnly;
  }

  /** Includes in evaluation order: same-system includes with versions newest first (as tx.fhir.org does). */
  orderedIncludes(): PreparedSet[] {
    return [...this.includes].sort((a, b) => {
      if (a.system && a.system === b.system && a.version && b.version) {
        return -compareVersions(a.version, b.version) || a.index - b.index;
      }
      return a.index - b.index;
    });
  }

  /** Whether the value set contains `code` of `system` (in any version); cached per request. */
  contains(system: string, code: string): boolean {
    this.containsCache ??= new Map();
    const key = `${system}#${code}`;
    let hit = this.containsCache.get(key);
    if (hit === undefined) {
      hit = this.member(system, code, undefined) !== undefined;
      this.containsCache.set(key, hit);
    }
    return hit;
  }

  /**
   * The membership of one code: the include that selects it (and the code system version it
   * was found in), or undefined. `version` is the version the coding states, if any.
   */
  member(system: string, code: string, version: string | undefined): Member | undefined {
    for (const hit of this.members(system, code, version)) return hit;
    return undefined;
  }

  /**
   * Every membership of one code, in include order: the same code may be a member more than once
   * (in several versions of its code system, through several includes), and a value set that
   * imports this one may exclude one of them and keep another, as its expansion does.
   */
  *members(system: string, code: string, version: string | undefined): Generator<Member> {
    this.core.ctx.budget.spend();
    if (this.expansionOnly) {
      const hit = this.memberOfExpansion(system, code, version);
      if (hit) yield hit;
      return;
    }
    for (const set of this.orderedIncludes()) {
      for (const hit of this.core.selectInclude(set, system, code, version)) {
        if (this.excludeInactive && hit.rs && hit.concept && hit.rs.index.isInactive(hit.concept, this.core.ctx.date)) {
          continue;
        }
        if (this.isExcluded(hit.system, hit.rs?.version, hit.code)) continue;
        yield hit;
      }
    }
  }

  /** Whether an exclude removes the code of `system` at `version` (the version the member was found in). */
  isExcluded(system: string, version: string | undefined, code: string): boolean {
    for (const exc of this.excludes) {
      if (this.core.excludeRemoves(this, exc, system, version, code)) return true;
    }
    return false;
  }

  private memberOfExpansion(system: string, code: string, version: string | undefined): Member | undefined {
    if (!this.expansionIndex) {
      this.expansionIndex = new Map();
      const stack = [...(this.vs.expansion?.contains ?? [])];
      while (stack.length > 0) {
        const c = stack.pop() as ValueSetExpansionContains;
        this.core.ctx.budget.spend();
        if (typeof c?.system === 'string' && typeof c.code === 'string') {
          const key = `${canonicalSystem(this.core.ctx, c.system)}#${c.code}`;
          const list = this.expansionIndex.get(key) ?? [];
          list.push(c);
          this.expansionIndex.set(key, list);
        }
        for (const child of c?.contains ?? []) stack.push(child);
      }
    }
    const list = this.expansionIndex.get(`${system}#${code}`) ?? [];
    const c = list.find((x) => !version || !x.version || x.version === version || versionMatches(x.version, version));
    if (!c) return undefined;
    if (this.core.activeOnly && c.inactive) return undefined;
    return { system, code, contains: c, ...(c.version ? { expansionVersion: c.version } : {}) };
  }
}

/** Where a code was found: the include, the code system version, the concept. */
export interface Member {
  system: string;
  /** the code as the code system spells it */
  code: string;
  set?: PreparedSet;
  rs?: ResolvedSystem;
  concept?: IndexedConcept;
  vsConcept?: ValueSetComposeIncludeConcept;
  /** for a value set known only by its expansion */
  contains?: ValueSetExpansionContains;
  expansionVersion?: string;
}

/** The evaluation of value sets for one request: prepared value sets and resolved code systems, memoised. */
export class ValueSetCore {
  readonly ctx: TxContext;
  readonly rules: VersionRules;
  readonly valueSetRules: VersionRules;
  readonly activeOnly: boolean;
  /** required supplements (canonicals) */
  readonly required: string[];
  /** required supplements that applied to a code system used */
  readonly usedRequired = new Set<string>();
  private readonly resolvedMemo = new Map<string, ResolvedSystem | CodeSystemProblem>();
  private readonly preparedMemo = new Map<ValueSet, PreparedValueSet>();
  private readonly chain: string[] = [];

  constructor(ctx: TxContext, options: CoreOptions = {}) {
    this.ctx = ctx;
    this.rules = options.rules ?? NO_VERSION_RULES;
    this.valueSetRules = options.valueSetRules ?? NO_VERSION_RULES;
    this.activeOnly = options.activeOnly === true;
    this.required = [...new Set(options.supplements ?? [])];
  }

  /** The code system (version) a system and stated version resolve to, memoised. */
  resolve(system: string, version: string | undefined): ResolvedSystem | CodeSystemProblem {
    const key = `${system}|${version ?? ''}`;
    let hit = this.resolvedMemo.get(key);
    if (!hit) {
      hit = resolveSystem(this.ctx, this.rules, system, version, this.required);
      if (!isCodeSystemProblem(hit) && this.required.length > 0) {
        for (const s of hit.supplements) {
          for (const r of this.required) if (r === s.url || r === `${s.url}|${s.version}`) this.usedRequired.add(r);
        }
      }
      this.resolvedMemo.set(key, hit);
    }
    return hit;
  }

  /** Prepares a value set (the root of a request, or an import): resolves its imports. */
  prepare(vs: ValueSet, container: ValueSet = vs, contained = false): PreparedValueSet {
    const memo = this.preparedMemo.get(vs);
    if (memo) return memo;
    const prepared = new PreparedValueSet(this, vs, container, contained);
    const key = prepared.key;
    if (this.chain.includes(key)) {
      throw coreError(
        422,
        'processing',
        'vs-invalid',
        CORE_MSG.circular(key, [...this.chain]),
        undefined,
        MSGID.circular,
      );
    }
    if (this.chain.length >= MAX_IMPORT_DEPTH) {
      throw coreError(422, 'too-costly', 'vs-invalid', CORE_MSG.tooDeep(MAX_IMPORT_DEPTH));
    }
    this.chain.push(key);
    try {
      this.ctx.budget.spend(8);
      const compose = vs.compose;
      const sections: ['include' | 'exclude', ValueSetComposeInclude[]][] = [
        ['include', Array.isArray(compose?.include) ? compose.include : []],
        ['exclude', Array.isArray(compose?.exclude) ? compose.exclude : []],
      ];
      for (const [kind, list] of sections) {
        list.forEach((element, i) => {
          const refs = includeValueSets(element ?? {});
          const imports = refs.map((ref) => this.prepareImport(ref, container));
          const set = new PreparedSet(this, prepared, kind, i, element ?? {}, imports);
          if (!set.system && imports.length === 0) {
            throw coreError(400, 'invalid', 'vs-invalid', CORE_MSG.includeWithoutSource(set.path), set.path);
          }
          (kind === 'include' ? prepared.includes : prepared.excludes).push(set);
        });
      }
      this.noteVersions(prepared);
    } finally {
      this.chain.pop();
    }
    this.preparedMemo.set(vs, prepared);
    return prepared;
  }

  private prepareImport(reference: string, container: ValueSet): PreparedValueSet {
    const pinned = pinValueSetReference(this.valueSetRules, reference);
    const vs = resolveValueSetReference(this.ctx, pinned, container);
    if (!vs) throw new ImportNotFoundError(pinned);
    const contained = reference.startsWith('#') || container.contained?.includes(vs) === true;
    return this.prepare(vs, contained ? container : vs, contained);
  }

  /** Works out whether codes must be told apart by version (several versions of one system). */
  private noteVersions(pvs: PreparedValueSet): void {
    // every set's version, and the versions the includes (and their imports) bring
    const named = new Map<string, string | undefined>();
    const included = pvs.systemVersions;
    const note = (map: Map<string, string | undefined>, system: string, version: string | undefined): boolean => {
      if (!map.has(system)) {
        map.set(system, version);
        return false;
      }
      return map.get(system) !== version;
    };
    const noteIncluded = (system: string, version: string | undefined): void => {
      if (note(included, system, version)) pvs.includesSeveralVersions = true;
      if (note(named, system, version)) pvs.multiVersion = true;
    };
    for (const set of pvs.includes) {
      if (set.system) noteIncluded(set.system, set.version);
      // codes imported from a value set that holds several versions of a system, or another version
      // than this one names, are told apart by version here too
      for (const imp of set.imports) {
        if (imp.multiVersion) pvs.multiVersion = true;
        if (imp.includesSeveralVersions) pvs.includesSeveralVersions = true;
        for (const [system, version] of imp.systemVersions) noteIncluded(system, version);
      }
    }
    for (const set of pvs.excludes) {
      if (set.system && note(named, set.system, set.version)) pvs.multiVersion = true;
    }
    // including some versions of a system and excluding others: the exclusion is by code
    const all = [...pvs.includes, ...pvs.excludes];
    if (pvs.includes.length > 0 && pvs.excludes.length > 0) {
      const system = pvs.includes[0].system;
      const sameSystem = all.every((s) => s.system !== undefined && s.system === system && s.version !== undefined);
      const same = (a: string | undefined, b: string | undefined): boolean =>
        a === b || (a !== undefined && versionMatches(a, b)) || (b !== undefined && versionMatches(b, a));
      const overlap = pvs.includes.some((i) => pvs.excludes.some((e) => same(e.version, i.version)));
      if (sameSystem && !overlap) pvs.versionsMatch = true;
    }
  }

  /**
   * The memberships include `set` gives `code` of `system` (a coding of `version`, if stated): one
   * from a code system, or, from value sets alone, each membership of the first that the others
   * share (one per version the first holds the code in).
   */
  *selectInclude(set: PreparedSet, system: string, code: string, version: string | undefined): Generator<Member> {
    if (!set.system) {
      // only value sets: the intersection
      if (set.imports.length === 0) return;
      for (const first of set.imports[0].members(system, code, version)) {
        if (set.importsContain(system, first.code, 1)) yield { ...first, set };
      }
      return;
    }
    if (set.system !== system) return;
    const wanted = version ? set.versionFor(version) : set.version;
    const rs = this.resolve(system, wanted);
    if (isCodeSystemProblem(rs)) return;
    if (version && rs.version !== version && !versionMatches(version, rs.version)) return;
    const concept = rs.index.find(code);
    if (!concept) return;
    const sel = set.selects(rs, concept);
    if (!sel) return;
    if (!set.importsContain(system, concept.code)) return;
    yield {
      system,
      code: concept.code,
      set,
      rs,
      concept,
      ...(sel.vsConcept ? { vsConcept: sel.vsConcept } : {}),
    };
  }

  /** Whether exclude `exc` of `pvs` removes `code` of `system` found at `version`. */
  excludeRemoves(
    pvs: PreparedValueSet,
    exc: PreparedSet,
    system: string,
    version: string | undefined,
    code: string,
  ): boolean {
    const byVersion = pvs.multiVersion && !pvs.versionsMatch;
    if (!exc.system) {
      return exc.imports.length > 0 && exc.importsContain(system, code);
    }
    if (exc.system !== system) return false;
    if (exc.wholeSystem && !pvs.versionsMatch) {
      return !byVersion || !exc.version || exc.version === version || versionMatches(exc.version, version);
    }
    const rs = this.resolve(system, exc.version);
    if (isCodeSystemProblem(rs)) return false;
    if (byVersion && rs.version !== version) return false;
    const concept = rs.index.find(code);
    if (!concept) return false;
    if (!exc.selects(rs, concept)) return false;
    return exc.importsContain(system, concept.code);
  }

  /** Whether a code system is known and usable (for messages: known versions, content). */
  codeSystemKnown(system: string, version?: string): boolean {
    return findCodeSystem(this.ctx, system, version) !== undefined;
  }

  /** Required supplements that did not apply to any code system used. */
  missingSupplements(): string[] {
    return this.required.filter((s) => !this.usedRequired.has(s));
  }
}

export function coreError(
  status: number,
  code: 'invalid' | 'not-supported' | 'processing' | 'not-found' | 'too-costly' | 'business-rule',
  txIssueType: string,
  text: string,
  expression?: string,
  messageId?: string,
): OperationOutcomeError {
  return new OperationOutcomeError(status, [makeIssue({ code, text, txIssueType, expression, messageId })]);
}
