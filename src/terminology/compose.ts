/**
 * ValueSet.compose evaluation: which codes a value set contains
 * (http://hl7.org/fhir/R4/valueset.html#compositions).
 *
 * Two entry points, both stable for other operations to use:
 *
 * - `evaluateCompose(ctx, valueSet, options)` → `ComposeResult`: the ordered, de-duplicated list
 *   of codes (with their code system, concept and value-set concept element), plus what was used
 *   (`used-codesystem`, `used-valueset`, `used-supplement`) and the version parameters that took
 *   effect. $expand builds its output from this. Throws `OperationOutcomeError` when the value
 *   set cannot be expanded (unknown code system / version / imported value set, broken filter,
 *   circular import, version-check failure, missing supplement).
 *
 * - `valueSetContains(ctx, valueSet, system, version, code, options)` → `MembershipResult`:
 *   whether one code is in the value set, evaluated include by include without expanding (so it
 *   is cheap on large code systems). Unknown code systems, versions and value sets are reported
 *   in the result (`unknownSystems`, `unknownValueSets`, per-include `checks`) rather than
 *   thrown, so $validate-code can word its own messages; structural errors (broken filter,
 *   circular import, version-check failure, missing supplement) still throw.
 *
 * Semantics followed:
 * - include: a `system` (optionally with `version`) restricted by `concept` or `filter`
 *   (all filters must hold), intersected with every value set in `valueSet`; an include with
 *   only `valueSet` is the intersection of those value sets. Excludes are evaluated the same
 *   way and removed. `compose.inactive = false` drops inactive codes; so does `activeOnly`.
 * - code system version: `force-system-version` > `include.version` > `system-version` >
 *   `check-system-version` (as a pattern, for a versionless include) > the newest version;
 *   wildcards such as `1.x` pick the newest match; `check-system-version` must then match
 *   (tx-ecosystem IG, version tests).
 * - value set references: `#id` (contained), `url`, `url|version`, or the implicit all-codes
 *   value set of a code system (implicit-valueset.ts). A value set that imports itself, directly
 *   or not, is an error.
 * - supplements (`useSupplement`, the `valueset-supplement` extension) must be found and must
 *   apply to a code system of the value set, else the expansion fails: a supplement is never
 *   silently ignored (tx-ecosystem IG requirements).
 */
import type {
  CodeSystem,
  OperationOutcomeIssue,
  ValueSet,
  ValueSetComposeInclude,
  ValueSetComposeIncludeConcept,
  ValueSetExpansionContains,
} from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { type CodeSystemIndex, type IndexedConcept, indexCodeSystem } from './codesystem-index.ts';
import type { TxContext } from './context.ts';
import { compileFilter, FilterError } from './filters.ts';
import { resolveImplicitValueSet } from './implicit-valueset.ts';
import { VMSG } from './validate-messages.ts';
import { today } from './validity.ts';
import { failedVersionCheck, NO_VERSION_RULES, type VersionRules } from './version-rules.ts';
import { compareVersions, splitCanonical, versionMatches } from './versions.ts';

// ---------------------------------------------------------------------------------------------
// Message texts (one place). Wording as the tx-ecosystem expected responses and tx.fhir.org give
// them; the message ids are the ones the tests name.

function joinOr(values: readonly string[]): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

export const EXPAND_MSG = {
  /** UNKNOWN_CODESYSTEM_EXP */
  unknownSystem: (system: string): string =>
    `A definition for CodeSystem '${system}' could not be found, so the value set cannot be expanded`,
  /** UNKNOWN_CODESYSTEM_VERSION_EXP / _NONE (version/vs-expand-v-wb-response-outcome.json) */
  unknownSystemVersion: (system: string, version: string, known: readonly string[]): string =>
    known.length > 0
      ? `A definition for CodeSystem '${system}' version '${version}' could not be found, so the value set cannot be expanded. Valid versions: ${joinOr(known)}`
      : `A definition for CodeSystem '${system}' version '${version}' could not be found, so the value set cannot be expanded. No versions of this code system are known`,
  /** Unable_to_resolve_value_Set_ / VS_EXP_IMPORT_UNK (validation/simple-*-bad-import-response) */
  unknownValueSet: (canonical: string): string => `A definition for the value Set '${canonical}' could not be found`,
  /** VALUESET_CIRCULAR_REFERENCE (big/expand-circle-outcome.json) */
  circular: (target: string, pathway: readonly string[]): string =>
    `Found a circularity pointing to ${target} processing ValueSet with pathway [${pathway.join(', ')}]`,
  circularDiagnostics: (target: string, via: readonly string[]): string =>
    `Cyclic reference detected when excluding ${target} via [${via.join(', ')}]`,
  /** VALUESET_VERSION_CHECK (version/vs-expand-*-check-response-outcome.json) */
  versionCheck: (system: string, actual: string, wanted: string): string =>
    `The version '${actual}' is not allowed for system '${system}': required to be '${wanted}' by a version-check parameter`,
  /** VALUESET_SUPPLEMENT_MISSING (parameters/parameters-expand-supplement-bad-response.json) */
  supplementMissing: (canonicals: readonly string[]): string =>
    canonicals.length === 1
      ? `Required supplement not found: ${canonicals[0]}`
      : `Required supplements not found: ${canonicals.join(',')}`,
  /** UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE (errors/errors-broken-filter-expand-response.json) */
  filterNoValue: (system: string, property: string, op: string): string =>
    `The system ${system} filter with property = ${property}, op = ${op} has no value`,
  filterNotSupported: (system: string, message: string): string =>
    `The filter on the system ${system} cannot be evaluated: ${message}`,
  /** VALUESET_TOO_COSTLY (big/expand-no-limit-outcome.json, messages-tx.fhir.org.json) */
  tooCostly: (valueSet: string, limit: number): string =>
    `The value set '${valueSet}' expansion has too many codes to produce (>${limit})`,
  supplementAsSystem: (system: string): string =>
    `The code system definition for ${system} defines a supplement, so this expansion cannot be performed`,
  noContent: (system: string): string =>
    `The code system definition for ${system} has no content, so this expansion cannot be performed`,
  includeWithoutSource: (path: string): string => `${path} has neither a system nor a value set`,
} as const;

// ---------------------------------------------------------------------------------------------
// Errors

interface IssueOptions {
  expression?: string;
  diagnostics?: string;
  /** operationoutcome-message-id, only where the tx-ecosystem tests name the id */
  messageId?: string;
}

function composeError(
  status: number,
  code: OperationOutcomeIssue['code'],
  txIssueType: string,
  text: string,
  opts: IssueOptions = {},
): OperationOutcomeError {
  const issue = makeIssue({ code, text, txIssueType, expression: opts.expression, messageId: opts.messageId });
  if (opts.diagnostics) issue.diagnostics = opts.diagnostics;
  return new OperationOutcomeError(status, [issue]);
}

/** The canonical of a value set for messages and parameters: `url|version`, `url`, or `#id`. */
export function valueSetCanonical(vs: ValueSet): string {
  if (vs.url) return vs.version ? `${vs.url}|${vs.version}` : vs.url;
  return vs.id ? `#${vs.id}` : '(unidentified)';
}

/** The error for a value set url that cannot be resolved. */
export function unknownValueSetError(canonical: string, status = 404): OperationOutcomeError {
  return composeError(status, 'not-found', 'not-found', EXPAND_MSG.unknownValueSet(canonical), {
    messageId: 'Unable_to_resolve_value_Set_',
  });
}

// ---------------------------------------------------------------------------------------------
// Public types

export interface ComposeOptions {
  /** system-version / check-system-version / force-system-version */
  rules?: VersionRules;
  /** leave out inactive codes ($expand activeOnly, $validate-code activeOnly) */
  activeOnly?: boolean;
  /** canonicals (`url` or `url|version`) of supplements the request requires (`useSupplement`) */
  supplements?: readonly string[];
}

export type SystemVersionSource = 'force' | 'specified' | 'default' | 'check' | 'latest';

/** A code system (version) as an include resolved it, with the supplements that apply. */
export interface ResolvedSystem {
  url: string;
  version?: string;
  codeSystem: CodeSystem;
  index: CodeSystemIndex;
  /** required supplements that apply to this code system */
  supplements: CodeSystem[];
  /** which rule chose the version */
  source: SystemVersionSource;
  /** the version (pattern) that was asked for, when one was */
  requested?: string;
}

/** One code of an expansion. */
export interface ExpansionEntry {
  system: string;
  version?: string;
  code: string;
  /** the code system concept (absent for codes taken over from a stored expansion) */
  concept?: IndexedConcept;
  /** the code system it came from (absent for codes taken over from a stored expansion) */
  source?: ResolvedSystem;
  /** the `include.concept` element that enumerated it (display, designations, extensions) */
  vsConcept?: ValueSetComposeIncludeConcept;
  /** the `expansion.contains` element, for codes taken over from a stored expansion */
  contains?: ValueSetExpansionContains;
  abstract: boolean;
  inactive: boolean;
}

export interface ComposeResult {
  /** every code, in code system / compose order, without duplicates */
  entries: ExpansionEntry[];
  /** `url|version` (or `url`) of each code system used, in first-use order */
  usedCodeSystems: string[];
  /** `url|version` of each imported (non-contained) value set */
  usedValueSets: string[];
  /** `url|version` of each supplement applied */
  usedSupplements: string[];
  /** version parameters that took effect, to echo: [name, `url|version`] */
  versionParameters: [string, string][];
  /** no concept lists, value set imports, multi-filter includes or duplicates: a hierarchy can be shown */
  hierarchyAllowed: boolean;
  /** some include takes a whole code system (no concept list, no filter) */
  wholeSystemInclude: boolean;
  /** the same system is included with different versions: codes carry their version */
  multiVersion: boolean;
}

/** How one include (or exclude) of the asked-for system fared, for $validate-code messages. */
export interface IncludeCheck {
  /** e.g. `ValueSet.compose.include[1]`, prefixed by the value set when imported */
  path: string;
  valueSet: string;
  exclude: boolean;
  system: string;
  /** `include.version` as written */
  includeVersion?: string;
  /** the version pattern that was looked up (after version rules) */
  requestedVersion?: string;
  versionSource?: SystemVersionSource;
  /** the code system version the include resolved to; undefined when it could not be found */
  resolved?: ResolvedSystem;
  /** the concept for the code in that code system, when the code exists there */
  concept?: IndexedConcept;
  /** the code satisfies the include's concept list / filters / imported value sets */
  matches: boolean;
  /** the caller gave a version and the include resolved to another one */
  versionMismatch: boolean;
  /**
   * why the include's code system could not be used: unknown system or version (issue code
   * `not-found`), a version-check failure (`version-error`), a supplement given as system
   */
  error?: OperationOutcomeError;
}

export interface MembershipMatch {
  system: string;
  version?: string;
  /** the code as the code system has it (may differ in case for case-insensitive systems) */
  code: string;
  concept?: IndexedConcept;
  resolved?: ResolvedSystem;
  vsConcept?: ValueSetComposeIncludeConcept;
  contains?: ValueSetExpansionContains;
  inactive: boolean;
  abstract: boolean;
}

export interface MembershipResult {
  found: boolean;
  match?: MembershipMatch;
  /** every include/exclude that names the system, across imported value sets */
  checks: IncludeCheck[];
  /** code systems that could not be found, as `url` or `url|version` */
  unknownSystems: string[];
  /** value sets that could not be found (canonicals as referenced) */
  unknownValueSets: string[];
  /** the code was included but an exclude removed it */
  excluded: boolean;
  /** required supplements (useSupplement, valueset-supplement) not found or not applicable */
  missingSupplements: string[];
}

// ---------------------------------------------------------------------------------------------
// Value set references

const CONTAINED = /^#/;

/**
 * Resolves a value set reference made inside `container`: `#id` (a contained value set), a
 * canonical (`url`, `url|version`), or the implicit all-codes value set of a code system.
 */
export function resolveValueSetReference(
  ctx: TxContext,
  reference: string,
  container?: ValueSet,
): ValueSet | undefined {
  if (CONTAINED.test(reference)) {
    const id = reference.slice(1);
    return container?.contained?.find((r): r is ValueSet => r.resourceType === 'ValueSet' && r.id === id);
  }
  const contained = container?.contained?.find(
    (r): r is ValueSet => r.resourceType === 'ValueSet' && !!r.url && matchesCanonical(r, reference),
  );
  if (contained) return contained;
  return ctx.valueSet(reference) ?? resolveImplicitValueSet(ctx, reference);
}

function matchesCanonical(vs: ValueSet, canonical: string): boolean {
  const { url, version } = splitCanonical(canonical);
  return vs.url === url && (version === undefined || versionMatches(version, vs.version));
}

/** R4 reads `include.valueSet`; accept a lone string too (some R3-era content has one). */
function includeValueSets(inc: ValueSetComposeInclude): string[] {
  const v = inc.valueSet as unknown;
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

// ---------------------------------------------------------------------------------------------
// Evaluation

interface VsFrame {
  vs: ValueSet;
  key: string;
  /** the value set whose `contained` resolves `#id` references */
  container: ValueSet;
}

const SUPPLEMENT_EXT = 'http://hl7.org/fhir/StructureDefinition/valueset-supplement';

/** Supplement canonicals required by a value set's `valueset-supplement` extensions. */
export function valueSetSupplements(vs: ValueSet): string[] {
  const out: string[] = [];
  for (const ext of vs.extension ?? []) {
    if (ext.url !== SUPPLEMENT_EXT) continue;
    const v = ext.valueCanonical ?? ext.valueUri ?? ext.valueString;
    if (v) out.push(v);
  }
  return out;
}

class ComposeEvaluator {
  private readonly ctx: TxContext;
  private readonly rules: VersionRules;
  private readonly activeOnly: boolean;
  private readonly stack: VsFrame[] = [];
  private readonly resolvedCache = new Map<string, ResolvedSystem | Error>();
  /** required supplement canonical → resolved supplement (undefined when unknown) */
  private readonly required = new Map<string, CodeSystem | undefined>();
  private readonly usedRequired = new Set<string>();
  readonly usedCodeSystems = new Set<string>();
  readonly usedValueSets = new Set<string>();
  readonly usedSupplements = new Set<string>();
  readonly versionParameters = new Map<string, [string, string]>();
  /** value set results by canonical key, so a value set imported twice is evaluated once */
  private readonly vsResults = new Map<string, ComposeResult>();

  constructor(ctx: TxContext, options: ComposeOptions, rootSupplements: readonly string[]) {
    this.ctx = ctx;
    this.rules = options.rules ?? NO_VERSION_RULES;
    this.activeOnly = options.activeOnly === true;
    for (const canonical of [...(options.supplements ?? []), ...rootSupplements]) {
      if (!this.required.has(canonical)) {
        const sup = ctx.codeSystem(canonical);
        this.required.set(canonical, sup?.content === 'supplement' || sup?.supplements ? sup : undefined);
      }
    }
  }

  /** Fails when a required supplement was not found or applied to no code system used. */
  checkSupplementsUsed(): void {
    const missing = [...this.required.keys()].filter((c) => !this.usedRequired.has(c));
    if (missing.length > 0) {
      throw composeError(422, 'not-found', 'not-found', EXPAND_MSG.supplementMissing(missing), {
        messageId: 'VALUESET_SUPPLEMENT_MISSING',
      });
    }
  }

  // --- code systems ------------------------------------------------------------------------

  /**
   * The code system version an include (or exclude) uses. Returns an Error (not thrown) when it
   * cannot be found, so membership checks can report it; `resolveOrThrow` throws it.
   */
  resolveSystem(system: string, includeVersion: string | undefined): ResolvedSystem | OperationOutcomeError {
    const cacheKey = `${system}|${includeVersion ?? ''}`;
    const cached = this.resolvedCache.get(cacheKey);
    if (cached) return cached as ResolvedSystem | OperationOutcomeError;
    const result = this.doResolveSystem(system, includeVersion);
    this.resolvedCache.set(cacheKey, result);
    return result;
  }

  private doResolveSystem(system: string, includeVersion: string | undefined): ResolvedSystem | OperationOutcomeError {
    let requested: string | undefined;
    let source: SystemVersionSource;
    const forced = this.rules.forces.get(system);
    const dflt = this.rules.defaults.get(system);
    const check = this.rules.checks.get(system);
    if (forced !== undefined) {
      requested = forced;
      source = 'force';
    } else if (includeVersion !== undefined) {
      requested = includeVersion;
      source = 'specified';
    } else if (dflt !== undefined) {
      requested = dflt;
      source = 'default';
    } else if (check !== undefined && this.ctx.codeSystem(system, check)) {
      // a versionless include with a version check: the check picks the version (version/vs-expand-v-n-check)
      requested = check;
      source = 'check';
    } else {
      source = 'latest';
    }
    const cs = this.ctx.codeSystem(system, requested);
    if (!cs) {
      const miss = requested === undefined ? this.ctx.missAtDate('CodeSystem', system) : undefined;
      if (miss) {
        // $expand: "use the code system definitions as they were on the given date, or return an error"
        return composeError(
          422,
          'not-found',
          'not-found',
          VMSG.noVersionOnDate('CodeSystem', miss.url, miss.date, miss.versions),
        );
      }
      if (requested === undefined) {
        return composeError(422, 'not-found', 'not-found', EXPAND_MSG.unknownSystem(system));
      }
      const known = this.ctx
        .versions('CodeSystem', system)
        .map((r) => r.version)
        .filter((v): v is string => v !== undefined)
        .sort(compareVersions);
      return composeError(422, 'not-found', 'not-found', EXPAND_MSG.unknownSystemVersion(system, requested, known), {
        messageId: known.length > 0 ? 'UNKNOWN_CODESYSTEM_VERSION_EXP' : 'UNKNOWN_CODESYSTEM_VERSION_EXP_NONE',
      });
    }
    if (cs.content === 'supplement') {
      return composeError(422, 'business-rule', 'vs-invalid', EXPAND_MSG.supplementAsSystem(system));
    }
    if (cs.content === 'not-present') {
      return composeError(422, 'business-rule', 'vs-invalid', EXPAND_MSG.noContent(system));
    }
    const wanted = failedVersionCheck(this.rules, system, cs.version);
    if (wanted !== undefined) {
      return composeError(
        422,
        'exception',
        'version-error',
        EXPAND_MSG.versionCheck(system, cs.version ?? '', wanted),
        { messageId: 'VALUESET_VERSION_CHECK' },
      );
    }
    const supplements: CodeSystem[] = [];
    for (const [canonical, sup] of this.required) {
      if (!sup?.supplements) continue;
      const target = splitCanonical(sup.supplements);
      if (target.url !== (cs.url ?? system)) continue;
      if (target.version !== undefined && !versionMatches(target.version, cs.version)) continue;
      supplements.push(sup);
      this.usedRequired.add(canonical);
    }
    return {
      url: cs.url ?? system,
      version: cs.version,
      codeSystem: cs,
      index: indexCodeSystem(cs),
      supplements,
      source,
      requested,
    };
  }

  private resolveOrThrow(system: string, includeVersion: string | undefined): ResolvedSystem {
    const r = this.resolveSystem(system, includeVersion);
    if (r instanceof Error) throw r;
    return r;
  }

  /** Records a resolved code system as used (used-codesystem, used-supplement, echoed version parameters). */
  private noteUsed(rs: ResolvedSystem): void {
    this.usedCodeSystems.add(rs.version !== undefined ? `${rs.url}|${rs.version}` : rs.url);
    for (const sup of rs.supplements) {
      if (sup.url) this.usedSupplements.add(sup.version ? `${sup.url}|${sup.version}` : sup.url);
    }
    const echo = (name: string, value: string | undefined): void => {
      if (value !== undefined) this.versionParameters.set(`${name}|${rs.url}`, [name, `${rs.url}|${value}`]);
    };
    if (rs.source === 'force') echo('force-system-version', this.rules.forces.get(rs.url));
    if (rs.source === 'default') echo('system-version', this.rules.defaults.get(rs.url));
    if (rs.source === 'check') echo('check-system-version', this.rules.checks.get(rs.url));
  }

  // --- value sets --------------------------------------------------------------------------

  private frameKey(vs: ValueSet): string {
    return vs.url ? valueSetCanonical(vs) : `#${vs.id ?? ''}`;
  }

  /** Guards against a value set that (indirectly) imports itself. */
  private enter(vs: ValueSet, container: ValueSet, excluding: boolean): VsFrame {
    const key = this.frameKey(vs);
    if (this.stack.some((f) => f.key === key)) {
      const pathway = this.stack.map((f) => f.key);
      throw composeError(422, 'processing', 'vs-invalid', EXPAND_MSG.circular(key, pathway), {
        messageId: 'VALUESET_CIRCULAR_REFERENCE',
        diagnostics: excluding
          ? EXPAND_MSG.circularDiagnostics(key, [...pathway.slice(1), key])
          : `Cyclic reference detected when including ${key} via [${[...pathway.slice(1), key].join(', ')}]`,
      });
    }
    const frame = { vs, key, container };
    this.stack.push(frame);
    return frame;
  }

  private leave(): void {
    this.stack.pop();
  }

  private resolveReference(reference: string, container: ValueSet): ValueSet {
    const vs = resolveValueSetReference(this.ctx, reference, container);
    if (!vs) {
      const miss = CONTAINED.test(reference) ? undefined : this.ctx.missAtDate('ValueSet', reference);
      const text = miss
        ? VMSG.noVersionOnDate('ValueSet', miss.url, miss.date, miss.versions)
        : EXPAND_MSG.unknownValueSet(reference);
      throw composeError(422, 'not-found', 'not-found', text);
    }
    return vs;
  }

  /** Evaluates an imported value set (memoised), recording it as used unless contained. */
  private importValueSet(reference: string, container: ValueSet, excluding: boolean): ComposeResult {
    const vs = this.resolveReference(reference, container);
    const contained = CONTAINED.test(reference) || container.contained?.includes(vs) === true;
    const key = this.frameKey(vs);
    let result = this.vsResults.get(key);
    if (!result) {
      this.enter(vs, contained ? container : vs, excluding);
      try {
        result = this.evaluateValueSet(vs, contained ? container : vs);
      } finally {
        this.leave();
      }
      this.vsResults.set(key, result);
    }
    if (!contained && vs.url) this.usedValueSets.add(valueSetCanonical(vs));
    return result;
  }

  /** Membership in the root value set. */
  containsRoot(
    vs: ValueSet,
    system: string,
    version: string | undefined,
    code: string,
    result: MembershipResult,
  ): MembershipMatch | undefined {
    this.enter(vs, vs, false);
    try {
      return this.contains(vs, vs, system, version, code, result);
    } finally {
      this.leave();
      result.missingSupplements = [...this.required.keys()].filter((c) => !this.usedRequired.has(c));
    }
  }

  /** Evaluates the root value set. */
  evaluateRoot(vs: ValueSet): ComposeResult {
    this.enter(vs, vs, false);
    try {
      return this.evaluateValueSet(vs, vs);
    } finally {
      this.leave();
    }
  }

  private evaluateValueSet(vs: ValueSet, container: ValueSet): ComposeResult {
    if (!vs.compose && vs.expansion) return this.fromExpansion(vs);
    const compose = vs.compose ?? { include: [] };
    const includes = compose.include ?? [];
    const excludes = compose.exclude ?? [];

    // the same system with different versions: codes are told apart by version
    const versions = new Map<string, string | undefined>();
    let multiVersion = false;
    for (const inc of [...includes, ...excludes]) {
      if (!inc.system) continue;
      if (versions.has(inc.system) && versions.get(inc.system) !== inc.version) multiVersion = true;
      else versions.set(inc.system, inc.version);
    }
    const keyOf = (system: string, version: string | undefined, code: string): string =>
      multiVersion ? `${system}|${version ?? ''}#${code}` : `${system}#${code}`;

    let hierarchyAllowed = true;
    let wholeSystemInclude = false;
    const excludeInactive = compose.inactive === false || this.activeOnly;

    // excludes first: a set of keys, plus whole systems
    const excludedKeys = new Set<string>();
    const excludedSystems = new Set<string>();
    excludes.forEach((exc, i) => {
      const path = `ValueSet.compose.exclude[${i}]`;
      if (includeValueSets(exc).length > 0 || exc.concept || (exc.filter?.length ?? 0) > 1) hierarchyAllowed = false;
      if (exc.system && !exc.concept && !exc.filter?.length && includeValueSets(exc).length === 0) {
        const rs = this.resolveOrThrow(exc.system, exc.version);
        this.noteUsed(rs);
        excludedSystems.add(multiVersion ? `${rs.url}|${rs.version ?? ''}` : rs.url);
        return;
      }
      for (const e of this.evaluateInclude(exc, path, container, true, false)) {
        excludedKeys.add(keyOf(e.system, e.version, e.code));
      }
    });

    // includes: same-system includes with versions go newest first, as tx.fhir.org does
    const ordered = includes.map((inc, i) => ({ inc, i }));
    ordered.sort((a, b) => {
      if (a.inc.system && a.inc.system === b.inc.system && a.inc.version && b.inc.version) {
        return -compareVersions(a.inc.version, b.inc.version) || a.i - b.i;
      }
      return a.i - b.i;
    });
    const entries: ExpansionEntry[] = [];
    const seen = new Set<string>();
    for (const { inc, i } of ordered) {
      const path = `ValueSet.compose.include[${i}]`;
      if (includeValueSets(inc).length > 0 || inc.concept || (inc.filter?.length ?? 0) > 1) hierarchyAllowed = false;
      if (inc.system && !inc.concept && !inc.filter?.length) wholeSystemInclude = true;
      for (const e of this.evaluateInclude(inc, path, container, false, excludeInactive)) {
        if (excludedSystems.has(multiVersion ? `${e.system}|${e.version ?? ''}` : e.system)) continue;
        const key = keyOf(e.system, e.version, e.code);
        if (excludedKeys.has(key)) continue;
        if (seen.has(key)) {
          hierarchyAllowed = false;
          continue;
        }
        seen.add(key);
        entries.push(e);
      }
    }
    return {
      entries,
      usedCodeSystems: [...this.usedCodeSystems],
      usedValueSets: [...this.usedValueSets],
      usedSupplements: [...this.usedSupplements],
      versionParameters: [...this.versionParameters.values()],
      hierarchyAllowed,
      wholeSystemInclude,
      multiVersion,
    };
  }

  /** A value set given as a stored expansion (no compose): its codes as they are. */
  private fromExpansion(vs: ValueSet): ComposeResult {
    const entries: ExpansionEntry[] = [];
    const walk = (list: ValueSetExpansionContains[] | undefined): void => {
      for (const c of list ?? []) {
        if (c.system && c.code) {
          if (!(this.activeOnly && c.inactive)) {
            entries.push({
              system: c.system,
              version: c.version,
              code: c.code,
              contains: c,
              abstract: c.abstract === true,
              inactive: c.inactive === true,
            });
          }
        }
        walk(c.contains);
      }
    };
    walk(vs.expansion?.contains);
    for (const p of vs.expansion?.parameter ?? []) {
      if (p.name === 'used-codesystem' && p.valueUri) this.usedCodeSystems.add(p.valueUri);
      if (p.name === 'used-valueset' && p.valueUri) this.usedValueSets.add(p.valueUri);
    }
    return {
      entries,
      usedCodeSystems: [...this.usedCodeSystems],
      usedValueSets: [...this.usedValueSets],
      usedSupplements: [...this.usedSupplements],
      versionParameters: [...this.versionParameters.values()],
      hierarchyAllowed: false,
      wholeSystemInclude: false,
      multiVersion: false,
    };
  }

  /** The codes one include (or exclude) selects. */
  private evaluateInclude(
    inc: ValueSetComposeInclude,
    path: string,
    container: ValueSet,
    excluding: boolean,
    excludeInactive: boolean,
  ): ExpansionEntry[] {
    const refs = includeValueSets(inc);
    const imports = refs.map((ref) => this.importValueSet(ref, container, excluding));

    if (!inc.system) {
      if (imports.length === 0) {
        throw composeError(400, 'invalid', 'vs-invalid', EXPAND_MSG.includeWithoutSource(path), { expression: path });
      }
      // the intersection of the imported value sets, in the order of the first
      const others = imports.slice(1).map((r) => new Set(r.entries.map((e) => `${e.system}#${e.code}`)));
      return imports[0].entries.filter(
        (e) => others.every((s) => s.has(`${e.system}#${e.code}`)) && !(excludeInactive && e.inactive),
      );
    }

    const rs = this.resolveOrThrow(inc.system, inc.version);
    this.noteUsed(rs);
    const idx = rs.index;
    const importSets = imports.map((r) => new Set(r.entries.map((e) => `${e.system}#${e.code}`)));
    const inImports = (code: string): boolean => importSets.every((s) => s.has(`${rs.url}#${code}`));
    const out: ExpansionEntry[] = [];
    const add = (concept: IndexedConcept, vsConcept?: ValueSetComposeIncludeConcept): void => {
      const inactive = idx.isInactive(concept, this.ctx.date);
      if (excludeInactive && inactive) return;
      if (!inImports(concept.code)) return;
      out.push({
        system: rs.url,
        version: rs.version,
        code: concept.code,
        concept,
        source: rs,
        vsConcept,
        abstract: idx.isAbstract(concept),
        inactive,
      });
    };

    const filters = inc.filter ?? [];
    if (!inc.concept && filters.length === 0) {
      for (const concept of idx.concepts) add(concept);
      return out;
    }
    for (const cc of inc.concept ?? []) {
      if (typeof cc.code !== 'string') continue;
      const concept = idx.find(cc.code);
      if (concept) add(concept, cc);
    }
    if (filters.length > 0) {
      const predicates = this.compileFilters(rs, inc, path);
      for (const concept of idx.concepts) {
        if (predicates.every((p) => p(concept))) add(concept);
      }
    }
    return out;
  }

  compileFilters(rs: ResolvedSystem, inc: ValueSetComposeInclude, path: string): ((c: IndexedConcept) => boolean)[] {
    return (inc.filter ?? []).map((f, j) => {
      const fpath = `${path}.filter[${j}]`;
      if (f.value === undefined || f.value === null || f.value === '') {
        throw composeError(
          400,
          'invalid',
          'vs-invalid',
          EXPAND_MSG.filterNoValue(rs.url, f.property ?? '', f.op ?? ''),
          { expression: fpath, messageId: 'UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE' },
        );
      }
      try {
        return compileFilter(rs.index, f, this.ctx.date);
      } catch (err) {
        if (err instanceof FilterError) {
          throw composeError(400, 'not-supported', 'vs-invalid', EXPAND_MSG.filterNotSupported(rs.url, err.message), {
            expression: fpath,
          });
        }
        throw err;
      }
    });
  }

  // --- membership --------------------------------------------------------------------------

  /** Whether (system, code) is in a value set, include by include. */
  contains(
    vs: ValueSet,
    container: ValueSet,
    system: string,
    version: string | undefined,
    code: string,
    result: MembershipResult,
  ): MembershipMatch | undefined {
    if (!vs.compose && vs.expansion) return this.containsInExpansion(vs, system, version, code);
    const compose = vs.compose ?? { include: [] };
    const excludeInactive = compose.inactive === false || this.activeOnly;
    const vsKey = this.frameKey(vs);
    let match: MembershipMatch | undefined;
    (compose.include ?? []).forEach((inc, i) => {
      if (match) return;
      const m = this.includeContains(
        inc,
        `ValueSet.compose.include[${i}]`,
        vsKey,
        container,
        system,
        version,
        code,
        false,
        result,
      );
      if (m && !(excludeInactive && m.inactive)) match = m;
    });
    if (!match) return undefined;
    for (const [i, exc] of (compose.exclude ?? []).entries()) {
      const m = this.includeContains(
        exc,
        `ValueSet.compose.exclude[${i}]`,
        vsKey,
        container,
        system,
        version,
        code,
        true,
        result,
      );
      if (m) {
        result.excluded = true;
        return undefined;
      }
    }
    return match;
  }

  private containsInExpansion(
    vs: ValueSet,
    system: string,
    version: string | undefined,
    code: string,
  ): MembershipMatch | undefined {
    const find = (list: ValueSetExpansionContains[] | undefined): ValueSetExpansionContains | undefined => {
      for (const c of list ?? []) {
        if (
          c.system === system &&
          c.code === code &&
          (version === undefined || c.version === undefined || c.version === version)
        )
          return c;
        const inner = find(c.contains);
        if (inner) return inner;
      }
      return undefined;
    };
    const c = find(vs.expansion?.contains);
    if (!c || (this.activeOnly && c.inactive)) return undefined;
    return {
      system,
      version: c.version,
      code,
      contains: c,
      inactive: c.inactive === true,
      abstract: c.abstract === true,
    };
  }

  private importContains(
    reference: string,
    container: ValueSet,
    system: string,
    version: string | undefined,
    code: string,
    excluding: boolean,
    result: MembershipResult,
  ): MembershipMatch | undefined {
    const vs = resolveValueSetReference(this.ctx, reference, container);
    if (!vs) {
      if (!result.unknownValueSets.includes(reference)) result.unknownValueSets.push(reference);
      return undefined;
    }
    const contained = CONTAINED.test(reference) || container.contained?.includes(vs) === true;
    this.enter(vs, contained ? container : vs, excluding);
    try {
      return this.contains(vs, contained ? container : vs, system, version, code, result);
    } finally {
      this.leave();
    }
  }

  private includeContains(
    inc: ValueSetComposeInclude,
    path: string,
    vsKey: string,
    container: ValueSet,
    system: string,
    version: string | undefined,
    code: string,
    excluding: boolean,
    result: MembershipResult,
  ): MembershipMatch | undefined {
    const refs = includeValueSets(inc);
    if (!inc.system) {
      let first: MembershipMatch | undefined;
      for (const ref of refs) {
        const m = this.importContains(ref, container, system, version, code, excluding, result);
        if (!m) return undefined;
        first ??= m;
      }
      return first;
    }
    if (inc.system !== system) return undefined;

    const check: IncludeCheck = {
      path: this.stack.length > 1 ? `${vsKey}#${path}` : path,
      valueSet: vsKey,
      exclude: excluding,
      system,
      includeVersion: inc.version,
      matches: false,
      versionMismatch: false,
    };
    result.checks.push(check);
    const rs = this.resolveSystem(inc.system, inc.version);
    if (rs instanceof Error) {
      check.error = rs;
      check.requestedVersion = this.rules.forces.get(system) ?? inc.version ?? this.rules.defaults.get(system);
      if (rs.outcome.issue?.[0]?.code === 'not-found') {
        const label = check.requestedVersion !== undefined ? `${system}|${check.requestedVersion}` : system;
        if (!result.unknownSystems.includes(label)) result.unknownSystems.push(label);
      }
      return undefined;
    }
    check.resolved = rs;
    check.requestedVersion = rs.requested;
    check.versionSource = rs.source;
    const concept = rs.index.find(code);
    check.concept = concept;
    if (!concept) return undefined;
    let ok = true;
    if (inc.concept) ok = inc.concept.some((cc) => cc.code === concept.code || cc.code === code);
    let vsConcept = inc.concept?.find((cc) => cc.code === concept.code || cc.code === code);
    if (ok && inc.filter?.length) {
      const predicates = this.compileFilters(rs, inc, path);
      ok = predicates.every((p) => p(concept));
      vsConcept = undefined;
    }
    if (ok) {
      for (const ref of refs) {
        if (!this.importContains(ref, container, system, version, concept.code, excluding, result)) {
          ok = false;
          break;
        }
      }
    }
    check.matches = ok;
    if (!ok) return undefined;
    if (version !== undefined && rs.version !== version && !versionMatches(version, rs.version)) {
      check.versionMismatch = true;
      return undefined;
    }
    this.noteUsed(rs);
    return {
      system: rs.url,
      version: rs.version,
      code: concept.code,
      concept,
      resolved: rs,
      vsConcept,
      inactive: rs.index.isInactive(concept, this.ctx.date),
      abstract: rs.index.isAbstract(concept),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Entry points

/** Cache of compose results for stored value sets, per value set object and options. */
const resultCache = new WeakMap<ValueSet, Map<string, { size: number; result: ComposeResult }>>();
const RESULT_CACHE_PER_VS = 16;

function rulesKey(rules: VersionRules | undefined): string {
  if (!rules) return '';
  const m = (map: Map<string, string>): string => [...map].map(([k, v]) => `${k}=${v}`).join(',');
  return `${m(rules.defaults)};${m(rules.checks)};${m(rules.forces)}`;
}

/**
 * Evaluates a value set's compose (see the module comment). Results for value sets evaluated
 * without a request overlay are cached by value set identity, day, options and store size, so
 * repeated expansions of a large value set (text search, paging) do not redo the work.
 */
export function evaluateCompose(ctx: TxContext, valueSet: ValueSet, options: ComposeOptions = {}): ComposeResult {
  const cacheable = ctx.overlayResources.length === 0;
  // inactive codes depend on the day (the request's date, else today: validity.ts)
  const day = ctx.date ?? today();
  const key = `${day}|${rulesKey(options.rules)}|${options.activeOnly === true}|${(options.supplements ?? []).join(',')}`;
  if (cacheable) {
    const hit = resultCache.get(valueSet)?.get(key);
    if (hit && hit.size === ctx.store.size) return hit.result;
  }
  const evaluator = new ComposeEvaluator(ctx, options, valueSetSupplements(valueSet));
  const result = evaluator.evaluateRoot(valueSet);
  evaluator.checkSupplementsUsed();
  if (cacheable) {
    let perVs = resultCache.get(valueSet);
    if (!perVs) {
      perVs = new Map();
      resultCache.set(valueSet, perVs);
    }
    if (perVs.size >= RESULT_CACHE_PER_VS) perVs.delete(perVs.keys().next().value as string);
    perVs.set(key, { size: ctx.store.size, result });
  }
  return result;
}

/**
 * Whether `code` of `system` (optionally `version`, the version the caller's coding states) is
 * in `valueSet`. See the module comment for what is reported and what is thrown.
 */
export function valueSetContains(
  ctx: TxContext,
  valueSet: ValueSet,
  system: string,
  version: string | undefined,
  code: string,
  options: ComposeOptions = {},
): MembershipResult {
  const evaluator = new ComposeEvaluator(ctx, options, valueSetSupplements(valueSet));
  const result: MembershipResult = {
    found: false,
    checks: [],
    unknownSystems: [],
    unknownValueSets: [],
    excluded: false,
    missingSupplements: [],
  };
  const match = evaluator.containsRoot(valueSet, system, version, code, result);
  if (match) {
    result.found = true;
    result.match = match;
  }
  return result;
}
