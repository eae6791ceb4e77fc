/**
 * The codes of a value set, for `$expand`: `evaluateCompose(ctx, valueSet, options)` enumerates
 * the membership core (valueset-core.ts) into an ordered, de-duplicated list of codes, and
 * records what the expansion used (`used-codesystem`, `used-valueset`, `used-supplement`), the
 * version parameters that took effect, and the status warnings the tx-ecosystem IG asks for
 * (`warning-draft`, `warning-experimental`, `warning-retired`, `warning-deprecated`,
 * `warning-withdrawn`: a resource the expansion depends on whose status differs from the value
 * set's own).
 *
 * Errors are thrown as OperationOutcomeError: an unknown code system, version or imported value
 * set, a broken filter, a circular import, a failed version check, a missing supplement.
 */

import type {
  CodeSystem,
  Extension,
  ValueSet,
  ValueSetComposeIncludeConcept,
  ValueSetExpansionContains,
} from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { designationSources, expandProblemError, isCodeSystemProblem, type ResolvedSystem } from './code-systems.ts';
import { type IndexedConcept, standardsStatus } from './codesystem-index.ts';
import { CompactCodeSystemIndex, compactDataOf } from './compact-codesystem.ts';
import type { TxContext } from './context.ts';
import { OUT_OF_DATE_PARAMETER, outOfDate, outOfDateText } from './currency.ts';
import { flatString } from './fast-json.ts';
import { MSGID } from './message-ids.ts';
import type { TerminologyStore } from './store.ts';
import { today } from './validity.ts';
import { type CoreOptions, type PreparedSet, type PreparedValueSet, ValueSetCore } from './valueset-core.ts';
import { ImportNotFoundError, resolveValueSetReference, valueSetCanonical } from './valueset-references.ts';
import type { VersionRules } from './version-rules.ts';
import { splitCanonical } from './versions.ts';

export { resolveValueSetReference, valueSetCanonical };

export const EXPAND_MSG = {
  /** VS_EXP_IMPORT_UNK */
  importUnknown: (url: string): string => `Unable to find included value set '${url}'`,
  /** VS_EXP_IMPORT_UNK_PINNED */
  importPinned: (url: string, version: string): string =>
    `Unable to find included value set '${url}' version '${version}'`,
  /** VS_EXP_IMPORT_UNK / Unable_to_resolve_value_Set_ */
  unknownValueSet: (canonical: string): string => `A definition for the value Set '${canonical}' could not be found`,
  /** VALUESET_SUPPLEMENT_MISSING */
  supplementMissing: (canonicals: readonly string[]): string =>
    canonicals.length === 1
      ? `Required supplement not found: ${canonicals[0]}`
      : `Required supplements not found: ${canonicals.join(',')}`,
  /** VALUESET_TOO_COSTLY */
  tooCostly: (valueSet: string, limit: number): string =>
    `The value set '${valueSet}' expansion has too many codes to produce (>${limit})`,
};

/** The error for a value set that cannot be found (the value set to expand, or an import). */
export function unknownValueSetError(canonical: string, status = 404): OperationOutcomeError {
  return new OperationOutcomeError(status, [
    makeIssue({
      code: 'not-found',
      text: EXPAND_MSG.unknownValueSet(canonical),
      txIssueType: 'not-found',
      messageId: MSGID.unknownValueSet,
    }),
  ]);
}

export interface ComposeOptions {
  /** system-version / check-system-version / force-system-version */
  rules?: VersionRules;
  /** default-valueset-version / check-valueset-version / force-valueset-version */
  valueSetRules?: VersionRules;
  /** leave out inactive codes ($expand activeOnly) */
  activeOnly?: boolean;
  /** canonicals (`url` or `url|version`) of supplements the request requires (`useSupplement`) */
  supplements?: readonly string[];
  /**
   * The words of $expand's `filter`, when the value set includes a large code system held in the
   * compact layout: a whole-system include of it then yields only the concepts its word index finds
   * (the entries the text search would keep), instead of every concept to be searched afterwards.
   */
  textFilter?: readonly string[];
}

/** One code of an expansion. */
export interface ExpansionEntry {
  system: string;
  version?: string;
  code: string;
  /** the code system concept (absent for codes taken over from a stored expansion) */
  concept?: IndexedConcept;
  /** the code system version it came from (absent for codes taken over from a stored expansion) */
  source?: ResolvedSystem;
  /** the `include.concept` element that enumerated it (display, designations, extensions) */
  vsConcept?: ValueSetComposeIncludeConcept;
  /** the value set whose include enumerated it (its language applies to vsConcept displays) */
  valueSet?: ValueSet;
  /** the `expansion.contains` element, for codes taken over from a stored expansion */
  contains?: ValueSetExpansionContains;
  abstract: boolean;
  inactive: boolean;
}

export interface ComposeResult {
  /** every code, in compose order, without duplicates */
  entries: ExpansionEntry[];
  /** expansion parameters the evaluation produced, in order: [name, valueUri] (used-*, warnings, version rules) */
  parameters: [string, string][];
  /** extensions for the expansion (valueset-unclosed for fragments) */
  extensions: Extension[];
  /** no concept lists, value set imports, multi-filter includes or duplicates: a hierarchy can be shown */
  hierarchyAllowed: boolean;
  /** some include takes a whole code system (no concept list, no filter) */
  wholeSystemInclude: boolean;
  /** the same system is included with different versions: codes carry their version */
  multiVersion: boolean;
  /** exclusions ignore versions (echoed as the `versionsMatch` parameter) */
  versionsMatch: boolean;
}

const UNCLOSED = 'http://hl7.org/fhir/StructureDefinition/valueset-unclosed';
const UNCLOSED_REASON = 'http://hl7.org/fhir/StructureDefinition/valueset-unclosed-reason';

interface StatusOf {
  status?: string;
  standards?: string;
  experimental?: boolean;
}

function statusOf(r: { status?: string; experimental?: boolean; extension?: Extension[] } | undefined): StatusOf {
  if (!r) return {};
  const standards = standardsStatus(r.extension);
  return {
    ...(r.status ? { status: r.status } : {}),
    ...(standards ? { standards } : {}),
    ...(r.experimental === true ? { experimental: true } : {}),
  };
}

/**
 * The status warning an expansion carries for a resource it depends on (tx-ecosystem IG,
 * "warning-*" expansion parameters): only where the resource's status differs from the status of
 * the value set that uses it (a draft value set may use draft code systems without comment).
 */
export function statusWarning(resource: StatusOf, source: StatusOf): string | undefined {
  if (resource.standards === 'deprecated') return source.standards !== 'deprecated' ? 'warning-deprecated' : undefined;
  if (resource.standards === 'withdrawn') return source.standards !== 'withdrawn' ? 'warning-withdrawn' : undefined;
  if (resource.status === 'retired') return source.status !== 'retired' ? 'warning-retired' : undefined;
  if (resource.experimental) return source.experimental ? undefined : 'warning-experimental';
  if (resource.status === 'draft' || resource.standards === 'draft') {
    return source.status === 'draft' || source.standards === 'draft' ? undefined : 'warning-draft';
  }
  return undefined;
}

/**
 * The status warning for the value set expanded itself: deprecated, withdrawn or retired (a draft
 * or experimental one is worth a word only beside a user of another status, as statusWarning says).
 */
function ownStatusWarning(vs: ValueSet): string | undefined {
  const warning = statusWarning(statusOf(vs), {});
  return warning === 'warning-draft' || warning === 'warning-experimental' ? undefined : warning;
}

/** The parameters and flags of one value set's evaluation. */
class Accumulator {
  readonly parameters: [string, string][] = [];
  readonly extensions: Extension[] = [];
  add(name: string, value: string): void {
    // flat: the values go into every expansion made from this (cached) result (fast-json.ts)
    if (!this.parameters.some(([n, v]) => n === name && v === value)) this.parameters.push([name, flatString(value)]);
  }
  addAll(other: readonly [string, string][]): void {
    for (const [n, v] of other) this.add(n, v);
  }
  /** The expansion cannot list every code (a fragment of a code system): valueset-unclosed, and why. */
  unclosed(reason: string): void {
    if (!this.extensions.some((e) => e.url === UNCLOSED)) this.extensions.push({ url: UNCLOSED, valueBoolean: true });
    if (!this.extensions.some((e) => e.url === UNCLOSED_REASON && e.valueString === reason)) {
      this.extensions.push({ url: UNCLOSED_REASON, valueString: reason });
    }
  }
}

class Enumerator {
  private readonly core: ValueSetCore;
  private readonly results = new Map<PreparedValueSet, ComposeResult>();
  /** the filter words and the value set they narrow (the one expanded, not its imports) */
  private readonly narrow?: { words: readonly string[]; vs: ValueSet };

  constructor(core: ValueSetCore, narrow?: { words: readonly string[]; vs: ValueSet }) {
    this.core = core;
    if (narrow) this.narrow = narrow;
  }

  /**
   * The concepts of an include, in order: those the include selects, or, for a whole large code
   * system under a text filter, those whose words the filter words begin (compact-codesystem.ts).
   * The supplements and language packs of the system add words of their own: then no shortcut.
   */
  private selections(
    pvs: PreparedValueSet,
    inc: PreparedSet,
    rs: ResolvedSystem,
  ): Iterable<{
    concept: IndexedConcept;
    vsConcept?: ValueSetComposeIncludeConcept;
  }> {
    const narrow = this.narrow;
    const index = rs.index;
    if (
      narrow === undefined ||
      narrow.vs !== pvs.vs ||
      pvs.includes.length !== 1 ||
      !inc.wholeSystem ||
      designationSources(rs).length > 0 ||
      !(index instanceof CompactCodeSystemIndex)
    ) {
      return inc.enumerate(rs);
    }
    const found = index.searchWords(narrow.words);
    const budget = this.core.ctx.budget;
    return (function* () {
      for (const i of found) {
        budget.spend();
        yield { concept: index.at(i) };
      }
    })();
  }

  private resolvedOrThrow(set: PreparedSet): ResolvedSystem {
    const rs = set.resolved();
    if (isCodeSystemProblem(rs)) throw expandProblemError(rs);
    return rs;
  }

  /** Records a code system version used by `pvs` (used-codesystem, status warning, version rule). */
  private noteSystem(acc: Accumulator, pvs: PreparedValueSet, rs: ResolvedSystem): void {
    acc.add('used-codesystem', rs.version !== undefined ? `${rs.url}|${rs.version}` : rs.url);
    const warning = statusWarning(statusOf(rs.codeSystem), statusOf(pvs.vs));
    if (warning) acc.add(warning, rs.version !== undefined ? `${rs.url}|${rs.version}` : rs.url);
    // the newest data ended before the day asked (currency.ts): said with the end date
    const stale = outOfDate(this.core.ctx, rs.codeSystem);
    if (stale) acc.add(OUT_OF_DATE_PARAMETER, outOfDateText(stale));
    if (rs.codeSystem.content === 'fragment') {
      // a fragment does not hold every code: the expansion says it may be incomplete
      acc.add('used-fragment', rs.version !== undefined ? `${rs.url}|${rs.version}` : rs.url);
      acc.unclosed(`This extension is based on a fragment of the code system ${rs.url}`);
    }
    const rules = this.core.rules;
    const echo = (name: string, value: string | undefined): void => {
      if (value !== undefined) acc.add(name, `${rs.url}|${value}`);
    };
    if (rs.source === 'force') echo('force-system-version', rules.forces.get(rs.url));
    if (rs.source === 'default') echo('system-version', rules.defaults.get(rs.url));
    if (rs.source === 'check') echo('check-system-version', rules.checks.get(rs.url));
    for (const sup of rs.supplements) {
      if (sup.url) acc.add('used-supplement', sup.version ? `${sup.url}|${sup.version}` : sup.url);
    }
  }

  /** Records an imported value set (used-valueset unless contained, status warning). */
  private noteImport(acc: Accumulator, pvs: PreparedValueSet, imported: PreparedValueSet): void {
    if (!imported.contained && imported.vs.url) acc.add('used-valueset', valueSetCanonical(imported.vs));
    const warning = statusWarning(statusOf(imported.vs), statusOf(pvs.vs));
    if (warning) acc.add(warning, valueSetCanonical(imported.vs));
  }

  evaluate(pvs: PreparedValueSet): ComposeResult {
    const memo = this.results.get(pvs);
    if (memo) return memo;
    const result = pvs.expansionOnly ? this.fromExpansion(pvs) : this.fromCompose(pvs);
    this.results.set(pvs, result);
    return result;
  }

  private fromCompose(pvs: PreparedValueSet): ComposeResult {
    const acc = new Accumulator();
    const budget = this.core.ctx.budget;
    let hierarchyAllowed = true;
    let wholeSystemInclude = false;
    // codes of several included versions stay apart even where excludes apply by code (versionsMatch)
    const keyed = pvs.multiVersion && (!pvs.versionsMatch || pvs.includesSeveralVersions);
    const keyOf = (system: string, version: string | undefined, code: string): string =>
      keyed ? `${system}|${version ?? ''}#${code}` : `${system}#${code}`;

    for (const exc of pvs.excludes) {
      if (exc.imports.length > 0 || exc.hasConcepts || (exc.element.filter?.length ?? 0) > 1) hierarchyAllowed = false;
      if (exc.system) {
        const rs = this.resolvedOrThrow(exc);
        this.noteSystem(acc, pvs, rs);
        if (exc.hasFilters) exc.predicates(rs);
      }
      for (const imp of exc.imports) {
        this.evaluate(imp);
        this.noteImport(acc, pvs, imp);
      }
    }

    const entries: ExpansionEntry[] = [];
    const seen = new Set<string>();
    const push = (e: ExpansionEntry): void => {
      const key = keyOf(e.system, e.version, e.code);
      if (seen.has(key)) {
        hierarchyAllowed = false;
        return;
      }
      seen.add(key);
      entries.push(e);
    };

    for (const inc of pvs.orderedIncludes()) {
      if (inc.imports.length > 0 || inc.hasConcepts || (inc.element.filter?.length ?? 0) > 1) hierarchyAllowed = false;
      if (!inc.system) {
        // only value sets: the codes of the first that are in all the others
        const first = this.evaluate(inc.imports[0]);
        for (const imp of inc.imports) {
          const sub = this.evaluate(imp);
          this.noteImport(acc, pvs, imp);
          acc.addAll(sub.parameters);
        }
        for (const e of first.entries) {
          budget.spend();
          if (!inc.importsContain(e.system, e.code, 1)) continue;
          if (pvs.excludeInactive && e.inactive) continue;
          if (pvs.isExcluded(e.system, e.version, e.code)) continue;
          push(e);
        }
        continue;
      }
      const rs = this.resolvedOrThrow(inc);
      this.noteSystem(acc, pvs, rs);
      for (const imp of inc.imports) {
        this.evaluate(imp);
        this.noteImport(acc, pvs, imp);
      }
      if (inc.wholeSystem) wholeSystemInclude = true;
      const at = this.core.ctx.date;
      for (const sel of this.selections(pvs, inc, rs)) {
        const { concept } = sel;
        const inactive = rs.index.isInactive(concept, at);
        if (pvs.excludeInactive && inactive) continue;
        if (inc.imports.length > 0 && !inc.importsContain(rs.url, concept.code)) continue;
        if (pvs.excludes.length > 0 && pvs.isExcluded(rs.url, rs.version, concept.code)) continue;
        push({
          system: rs.url,
          ...(rs.version !== undefined ? { version: rs.version } : {}),
          code: concept.code,
          concept,
          source: rs,
          ...(sel.vsConcept ? { vsConcept: sel.vsConcept } : {}),
          valueSet: pvs.vs,
          abstract: rs.index.isAbstract(concept),
          inactive,
        });
      }
    }
    if (pvs.versionsMatch) acc.add('versionsMatch', 'true');
    return {
      entries,
      parameters: acc.parameters,
      extensions: acc.extensions,
      hierarchyAllowed,
      wholeSystemInclude,
      multiVersion: pvs.multiVersion,
      versionsMatch: pvs.versionsMatch,
    };
  }

  /** A value set given as a stored expansion (no compose): its codes as they are. */
  private fromExpansion(pvs: PreparedValueSet): ComposeResult {
    const entries: ExpansionEntry[] = [];
    const budget = this.core.ctx.budget;
    const stack: ValueSetExpansionContains[] = [...(pvs.vs.expansion?.contains ?? [])].reverse();
    while (stack.length > 0) {
      const c = stack.pop() as ValueSetExpansionContains;
      budget.spend();
      if (typeof c?.system === 'string' && typeof c.code === 'string' && !(this.core.activeOnly && c.inactive)) {
        entries.push({
          system: c.system,
          ...(c.version ? { version: c.version } : {}),
          code: c.code,
          contains: c,
          abstract: c.abstract === true,
          inactive: c.inactive === true,
        });
      }
      const children = c?.contains ?? [];
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    }
    const acc = new Accumulator();
    for (const p of pvs.vs.expansion?.parameter ?? []) {
      if ((p.name === 'used-codesystem' || p.name === 'used-valueset') && p.valueUri) acc.add(p.name, p.valueUri);
    }
    return {
      entries,
      parameters: acc.parameters,
      extensions: [],
      hierarchyAllowed: false,
      wholeSystemInclude: false,
      multiVersion: false,
      versionsMatch: false,
    };
  }
}

/** Whether a value set includes (directly) a code system of the store held in the compact layout. */
function includesCompact(store: TerminologyStore, valueSet: ValueSet): boolean {
  for (const inc of valueSet.compose?.include ?? []) {
    if (typeof inc?.system !== 'string') continue;
    const url = store.canonicalUrl('CodeSystem', inc.system);
    if (store.versions('CodeSystem', url).some((cs) => compactDataOf(cs) !== undefined)) return true;
  }
  return false;
}

/** The error $expand gives for an import that cannot be found (VS_EXP_IMPORT_UNK / _PINNED). */
export function importNotFoundError(err: ImportNotFoundError): OperationOutcomeError {
  return new OperationOutcomeError(422, [
    makeIssue({
      code: 'not-found',
      text:
        err.version !== undefined ? EXPAND_MSG.importPinned(err.url, err.version) : EXPAND_MSG.importUnknown(err.url),
      txIssueType: 'not-found',
      messageId: err.version !== undefined ? MSGID.importUnknownPinned : MSGID.importUnknown,
    }),
  ]);
}

/** Cache of compose results for stored value sets, per store, value set object and options. */
const resultCache = new WeakMap<
  TerminologyStore,
  WeakMap<ValueSet, Map<string, { gen: number; result: ComposeResult }>>
>();
const RESULT_CACHE_PER_VS = 16;

function rulesKey(rules: VersionRules | undefined): string {
  if (!rules || (rules.defaults.size === 0 && rules.checks.size === 0 && rules.forces.size === 0)) return '';
  const m = (map: Map<string, string>): string => [...map].map(([k, v]) => `${k}=${v}`).join(',');
  return `${m(rules.defaults)};${m(rules.checks)};${m(rules.forces)}`;
}

/**
 * Evaluates a value set's compose (see the module comment). Results for value sets evaluated
 * without a request overlay are cached by store, value set identity, day, options and the store's
 * generation, so
 * repeated expansions of a large value set (text search, paging) do not redo the work.
 */
export function evaluateCompose(ctx: TxContext, valueSet: ValueSet, options: ComposeOptions = {}): ComposeResult {
  const narrow =
    options.textFilter !== undefined && options.textFilter.length > 0 && includesCompact(ctx.store, valueSet)
      ? { words: options.textFilter, vs: valueSet }
      : undefined;
  // a narrowed result holds the codes of one filter: cheap to make, not worth keeping
  const cacheable = ctx.overlayResources.length === 0 && narrow === undefined;
  // inactive codes depend on the day (the request's date, else today: validity.ts)
  const day = ctx.date ?? today();
  const key = `${day}|${rulesKey(options.rules)}|${rulesKey(options.valueSetRules)}|${options.activeOnly === true}|${(options.supplements ?? []).join(',')}`;
  if (cacheable) {
    const hit = resultCache.get(ctx.store)?.get(valueSet)?.get(key);
    if (hit && hit.gen === ctx.store.generation) return hit.result;
  }
  const coreOptions: CoreOptions = {
    ...(options.rules ? { rules: options.rules } : {}),
    ...(options.valueSetRules ? { valueSetRules: options.valueSetRules } : {}),
    activeOnly: options.activeOnly === true,
    supplements: [...(options.supplements ?? []), ...valueSetSupplements(valueSet)],
  };
  const core = new ValueSetCore(ctx, coreOptions);
  let result: ComposeResult;
  try {
    result = new Enumerator(core, narrow).evaluate(core.prepare(valueSet));
    // the value set expanded is itself deprecated, withdrawn or retired: said as for what it uses
    const own = ownStatusWarning(valueSet);
    const canonical = valueSetCanonical(valueSet);
    if (own && valueSet.url && !result.parameters.some(([n, v]) => n === own && v === canonical)) {
      result = { ...result, parameters: [...result.parameters, [own, flatString(canonical)]] };
    }
  } catch (err) {
    if (err instanceof ImportNotFoundError) throw importNotFoundError(err);
    throw err;
  }
  const missing = core.missingSupplements();
  if (missing.length > 0) {
    throw new OperationOutcomeError(422, [
      makeIssue({
        code: 'not-found',
        text: EXPAND_MSG.supplementMissing(missing),
        txIssueType: 'not-found',
        messageId: MSGID.supplementMissing,
      }),
    ]);
  }
  if (cacheable) {
    let perStore = resultCache.get(ctx.store);
    if (!perStore) {
      perStore = new WeakMap();
      resultCache.set(ctx.store, perStore);
    }
    let perVs = perStore.get(valueSet);
    if (!perVs) {
      perVs = new Map();
      perStore.set(valueSet, perVs);
    }
    if (perVs.size >= RESULT_CACHE_PER_VS) perVs.delete(perVs.keys().next().value as string);
    perVs.set(key, { gen: ctx.store.generation, result });
  }
  return result;
}

const SUPPLEMENT_EXT = 'http://hl7.org/fhir/StructureDefinition/valueset-supplement';

/** Supplement canonicals required by a value set's `valueset-supplement` extensions. */
export function valueSetSupplements(vs: ValueSet): string[] {
  const out: string[] = [];
  for (const ext of Array.isArray(vs.extension) ? vs.extension : []) {
    if (ext?.url !== SUPPLEMENT_EXT) continue;
    const v = ext.valueCanonical ?? ext.valueUri ?? ext.valueString;
    if (v) out.push(v);
  }
  return out;
}

/** Whether a supplement canonical names `cs` (url or url|version). */
export function namesSupplement(canonical: string, cs: CodeSystem): boolean {
  const { url, version } = splitCanonical(canonical);
  return url === cs.url && (version === undefined || version === cs.version);
}
