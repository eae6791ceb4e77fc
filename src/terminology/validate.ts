import type {
  CodeableConcept,
  CodeSystem,
  CodeSystemConceptDesignation,
  Coding,
  OperationOutcomeIssue,
  ValueSet,
  ValueSetComposeInclude,
  ValueSetComposeIncludeConcept,
  ValueSetExpansionContains,
} from '@medplum/fhirtypes';
import { type IssueCode, makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import type { CodeSystemIndex, IndexedConcept } from './codesystem-index.ts';
import { indexCodeSystem } from './codesystem-index.ts';
import { resolveValueSetReference } from './compose.ts';
import type { TxContext } from './context.ts';
import { type ConceptPredicate, compileFilter, FilterError } from './filters.ts';
import { implicitValueSet, resolveImplicitValueSet } from './implicit-valueset.ts';
import { languageMatchQuality, parseLanguagePreferences, valueSetExpansionParameters } from './language.ts';
import { presentCoding, VMSG } from './validate-messages.ts';
import { failedVersionCheck, NO_VERSION_RULES, pickVersion, type VersionRules } from './version-rules.ts';
import { compareVersions, splitCanonical, versionMatches } from './versions.ts';

/**
 * $validate-code for value sets and code systems:
 * http://hl7.org/fhir/R4/valueset-operation-validate-code.html,
 * http://hl7.org/fhir/R4/codesystem-operation-validate-code.html, with the additions of the HL7
 * terminology ecosystem IG (https://build.fhir.org/ig/HL7/fhir-tx-ecosystem-ig/): `issues` with
 * tx-issue-type codes and expressions, `x-unknown-system` / `x-caused-by-unknown-system`,
 * `normalized-code`, `lenient-display-validation`, `valueset-membership-only`, version rules.
 *
 * One algorithm serves both operations: a CodeSystem is validated against the implicit value set
 * of all its codes. Each coding is first checked for membership (include by include, following
 * the version the value set pins and the version rules of the request), and a coding that is not
 * a member is then looked up in its code system on its own, so the report says *why* it failed
 * (unknown system, unknown version, unknown code, wrong display...). The outcome mirrors what the
 * reference servers (tx.fhir.org, Ontoserver) answer, so clients such as the FHIR validator read
 * it the same way. Knows nothing of HTTP: the operations turn the result into Parameters.
 */

export type ValidationMode = 'code' | 'coding' | 'codeableConcept';

/** What to validate: a code (+system, version, display), a Coding, or a CodeableConcept. */
export interface ValidationInput {
  mode: ValidationMode;
  /** the codings to check, in order: one for `code` and `coding` */
  codings: Coding[];
  /** the CodeableConcept as given, echoed in the result */
  codeableConcept?: CodeableConcept;
}

export interface ValidationOptions {
  /** infer the system of a bare code from the value set (`inferSystem`, code mode only) */
  inferSystem?: boolean;
  /** whether abstract (notSelectable) codes are acceptable (`abstract`, default true) */
  abstractOk?: boolean;
  /** inactive codes are not members (`activeOnly`) */
  activeOnly?: boolean;
  /** a wrong display is a warning, not an error (`lenient-display-validation`) */
  lenientDisplay?: boolean;
  /** only value set membership counts; code system findings are not reported (`valueset-membership-only`) */
  membershipOnly?: boolean;
  /** the `displayLanguage` parameter, as given */
  displayLanguage?: string;
  /** the HTTP Accept-Language header, as given */
  acceptLanguage?: string;
  /** system-version / check-system-version / force-system-version */
  versionRules?: VersionRules;
  /** `useSupplement` canonicals: supplements that must be used (an unknown one is an error) */
  useSupplements?: readonly string[];
}

export interface ValidationResult {
  result: boolean;
  code?: string;
  system?: string;
  version?: string;
  display?: string;
  message?: string;
  issues: OperationOutcomeIssue[];
  inactive?: boolean;
  status?: string;
  /** the code as the (case-insensitive) code system spells it, when the input differs */
  normalizedCode?: string;
  /** systems (url or url|version) that could not be found and made the coding unverifiable */
  unknownSystems: string[];
  /** systems that could not be found although another part of the input was valid */
  causedByUnknownSystems: string[];
  /** the CodeableConcept as given (codeableConcept mode) */
  codeableConcept?: CodeableConcept;
}

type Severity = 'error' | 'warning' | 'information';

interface Finding {
  severity: Severity;
  code: IssueCode;
  /** tx-issue-type code (http://hl7.org/fhir/tools/CodeSystem/tx-issue-type) */
  txType: string;
  text: string;
  expression?: string;
  /** part of the summary `message` (errors always are) */
  inMessage: boolean;
  /** an unknown code system, which a valid CodeableConcept downgrades to a warning */
  unknownSystem?: string;
}

/** The standard `use` codes that mark a designation as a display (designation-usage, SNOMED CT FSN/synonym). */
const DISPLAY_USES = new Set(['display', 'preferredForLanguage', '900000000000003001', '900000000000013009']);

const VALUESET_SUPPLEMENT = 'http://hl7.org/fhir/StructureDefinition/valueset-supplement';
const STANDARDS_STATUS = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status';
const VALUESET_DEPRECATED = 'http://hl7.org/fhir/StructureDefinition/valueset-deprecated';

// ---------------------------------------------------------------------------------------------
// Languages and displays
// ---------------------------------------------------------------------------------------------

/** The languages displays are checked in, and how the messages name them. */
interface LanguagePrefs {
  tags: string[];
  /** as given (the messages quote the parameter or header), `--` when none */
  summary: string;
}

const NO_LANGUAGES: LanguagePrefs = { tags: [], summary: '--' };

function languagePrefs(source: string | undefined): LanguagePrefs | undefined {
  if (!source?.trim()) return undefined;
  const tags = parseLanguagePreferences(source)
    .filter((p) => p.q > 0)
    .map((p) => p.range);
  return { tags, summary: source };
}

/** A display in `actual` serves a request for `wanted` when the primary language agrees (`de` ~ `de-CH`). */
function languageMatches(wanted: string, actual: string | undefined): boolean {
  return wanted === '*' || languageMatchQuality(wanted, actual) >= 1;
}

interface Designation {
  value: string;
  /** the designation's language, the code system's for the concept display */
  language?: string;
  /** a display given by the value set without a language: valid in any language */
  anyLanguage?: boolean;
  isDisplay: boolean;
}

/** The displays and designations a code has: from its code system, supplements and the value set. */
class DisplayList {
  readonly items: Designation[] = [];

  add(d: Designation): void {
    if (this.items.some((x) => x.value === d.value && x.language === d.language)) return;
    this.items.push(d);
  }

  get size(): number {
    return this.items.length;
  }

  private displays(langs: readonly string[], defLang?: string): Designation[] {
    return this.items.filter(
      (d) =>
        d.isDisplay &&
        (langs.length === 0 ||
          d.anyLanguage ||
          langs.some((l) => languageMatches(l, d.language)) ||
          // the default language check takes displays of unstated language as the code system's own
          (defLang !== undefined && (d.language === undefined || languageMatches(defLang, d.language)))),
    );
  }

  /** Whether `display` is a valid display in the languages (or the default language when given). */
  has(langs: readonly string[], defLang: string | undefined, display: string): { found: boolean; whitespace: boolean } {
    const candidates = this.displays(langs, defLang);
    const lower = display.toLowerCase();
    // displays compare case-insensitively, as the reference servers do
    if (candidates.some((d) => d.value === display || d.value.toLowerCase() === lower)) {
      return { found: true, whitespace: false };
    }
    const squash = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();
    const normalized = squash(display);
    return { found: false, whitespace: candidates.some((d) => squash(d.value) === normalized) };
  }

  valid(langs: readonly string[]): { value: string; language?: string }[] {
    return this.displays(langs).map((d) => ({ value: d.value, language: d.language }));
  }

  /** The display to return: the first in the most preferred language, else the code system display. */
  preferred(langs: readonly string[]): string | undefined {
    for (const lang of langs) {
      const d = this.items.find((x) => x.isDisplay && !x.anyLanguage && languageMatches(lang, x.language));
      if (d) return d.value;
    }
    return this.items.find((x) => x.isDisplay)?.value ?? this.items[0]?.value;
  }
}

// ---------------------------------------------------------------------------------------------
// The value set, prepared
// ---------------------------------------------------------------------------------------------

/** A value set with its imports resolved, checked once before any code is. */
interface PreparedValueSet {
  vs: ValueSet;
  /** `url|version` as the messages name it */
  vurl: string;
  /** the implicit value set of a CodeSystem $validate-code */
  internal: boolean;
  imports: Map<string, PreparedValueSet>;
}

/** A failure while preparing the value set that is reported as a `result = false` outcome, not an HTTP error. */
class PrepareFailure extends Error {
  readonly finding: Finding;
  readonly unknownSystem?: string;
  constructor(finding: Finding, unknownSystem?: string) {
    super(finding.text);
    this.finding = finding;
    this.unknownSystem = unknownSystem;
  }
}

function vurlOf(vs: { url?: string; version?: string }): string {
  if (!vs.url) return '(unidentified)';
  return vs.version ? `${vs.url}|${vs.version}` : vs.url;
}

function isAbsoluteUri(s: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s);
}

/** Whether a code listed in a value set is `code` of the code system (ignoring case where the system does). */
function sameCode(idx: CodeSystemIndex, listed: string | undefined, code: string): boolean {
  if (listed === undefined) return false;
  return listed === code || (!idx.caseSensitive && listed.toLowerCase() === code.toLowerCase());
}

function addToPath(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function fail(status: number, code: IssueCode, txIssueType: string, text: string, expression?: string) {
  return new OperationOutcomeError(status, [makeIssue({ code, text, txIssueType, expression })]);
}

/** Compiled filters, per include, code system and `date` (stored value sets are immutable). */
const filterCache = new WeakMap<ValueSetComposeInclude, WeakMap<CodeSystem, Map<string, ConceptPredicate[]>>>();

// ---------------------------------------------------------------------------------------------
// The validator
// ---------------------------------------------------------------------------------------------

interface CodingState {
  displays: DisplayList;
  /** version of the code system the code was found in (a member) */
  version?: string;
  /** version of the code system the code was looked up in, member or not */
  seenVersion?: string;
  /** the code system's language: the language of its displays */
  defLang?: string;
}

interface ConceptStatus {
  path: string;
  code: string;
  status?: string;
  inactive: boolean;
}

class Validator {
  private readonly ctx: TxContext;
  private readonly opts: ValidationOptions;
  private readonly rules: VersionRules;
  private readonly langs: LanguagePrefs;
  private readonly findings: Finding[] = [];
  private readonly unknownSystems = new Set<string>();
  private readonly requiredSupplements: string[];
  private readonly usedSupplements = new Set<string>();
  private conceptStatus?: ConceptStatus;
  /** a concept was reported as not valid on the request's date (which says it is not active) */
  private notValidOnDate = false;
  private normalForm?: string;
  private impliedSystem?: string;
  /** the system a bare code is reported against when no system could be inferred */
  private reportSystem?: string;

  constructor(ctx: TxContext, opts: ValidationOptions, langs: LanguagePrefs, requiredSupplements: string[]) {
    this.ctx = ctx;
    this.opts = opts;
    this.rules = opts.versionRules ?? NO_VERSION_RULES;
    this.langs = langs;
    this.requiredSupplements = requiredSupplements;
  }

  // --- findings -------------------------------------------------------------------------------

  private add(f: Omit<Finding, 'inMessage'> & { inMessage?: boolean }): void {
    const finding: Finding = { ...f, inMessage: f.inMessage ?? f.severity === 'error' };
    const same = this.findings.some(
      (x) =>
        x.severity === finding.severity &&
        x.code === finding.code &&
        x.expression === finding.expression &&
        x.text === finding.text,
    );
    if (!same) this.findings.push(finding);
  }

  private hasErrors(): boolean {
    return this.findings.some((f) => f.severity === 'error');
  }

  // --- versions and code systems --------------------------------------------------------------

  /** The version to use: force-system-version, else the one given, else system-version, else the check pattern. */
  private effectiveVersion(system: string, version: string | undefined): string | undefined {
    return pickVersion(this.rules, system, version || undefined).version ?? this.rules.checks.get(system);
  }

  /** A code system usable for validation (not a supplement), the version rules applied. */
  private findCodeSystem(system: string, version: string | undefined): CodeSystem | undefined {
    return this.resolveExact(system, this.effectiveVersion(system, version));
  }

  private resolveExact(system: string, version: string | undefined): CodeSystem | undefined {
    const cs = this.ctx.codeSystem(system, version || undefined);
    return cs && cs.content !== 'supplement' ? cs : undefined;
  }

  private knownVersions(system: string): string[] {
    return this.ctx
      .versions('CodeSystem', system)
      .filter((cs) => cs.content !== 'supplement')
      .map((cs) => cs.version)
      .filter((v): v is string => typeof v === 'string')
      .sort();
  }

  /** Records that the request's required supplements apply to `cs`. */
  private noteSupplements(cs: CodeSystem): void {
    if (this.requiredSupplements.length === 0 || !cs.url) return;
    for (const s of this.supplementsOf(cs)) {
      for (const r of this.requiredSupplements)
        if (r === s.url || r === `${s.url}|${s.version}`) this.usedSupplements.add(r);
    }
  }

  /** The required supplements that target `cs`. */
  private supplementsOf(cs: CodeSystem): CodeSystem[] {
    if (this.requiredSupplements.length === 0 || !cs.url) return [];
    return this.ctx
      .supplementsFor(cs.url, cs.version)
      .filter((s) => this.requiredSupplements.some((r) => r === s.url || r === `${s.url}|${s.version}`));
  }

  checkSupplementsUsed(): void {
    const unused = this.requiredSupplements.filter((s) => !this.usedSupplements.has(s));
    if (unused.length > 0) throw fail(422, 'not-found', 'not-found', VMSG.supplementMissing(unused));
  }

  /**
   * The version of `system` to validate against, given the version the value set pins
   * (`versionVS`) and the one the coding carries (`versionCoding`); reports the mismatches.
   */
  private determineVersion(
    path: string,
    system: string,
    versionVS: string | undefined,
    versionCoding: string | undefined,
  ): string | undefined {
    let result = this.effectiveVersion(system, versionVS);
    if (!versionCoding) return result;
    // a pattern (1.x) is satisfied by the more detailed version the coding gives
    if (result && versionCoding !== result && versionMatches(result, versionCoding)) result = versionCoding;
    if (!result) {
      const known = this.knownVersions(system);
      if (known.some((v) => v === versionCoding || versionMatches(versionCoding, v))) result = versionCoding;
    }
    const cs = this.findCodeSystem(system, result);
    if (cs && cs.version !== versionCoding && !versionMatches(versionCoding, cs.version)) {
      let text: string;
      let severity: Severity = 'error';
      if (!result) {
        // the value set does not say, so the latest was used: the coding's version is simply another one
        severity = 'warning';
        text = VMSG.versionMismatchDefault(system, cs.version ?? '', versionCoding);
      } else if (result !== versionVS) {
        text = VMSG.versionMismatchChanged(system, result, versionVS ?? '', versionCoding);
      } else {
        text = VMSG.versionMismatch(system, versionVS, versionCoding);
      }
      this.add({ severity, code: 'invalid', txType: 'vs-invalid', text, expression: addToPath(path, 'version') });
      if (!this.resolveExact(system, versionCoding)) {
        this.unknownSystems.add(`${system}|${versionCoding}`);
        this.add({
          severity: 'error',
          code: 'not-found',
          txType: 'not-found',
          text: VMSG.unknownSystemVersion(system, versionCoding, this.knownVersions(system)),
          expression: addToPath(path, 'system'),
          unknownSystem: `${system}|${versionCoding}`,
        });
      }
    } else if (!cs && result !== versionCoding) {
      this.add({
        severity: 'error',
        code: 'invalid',
        txType: 'vs-invalid',
        text: VMSG.versionMismatch(system, result ?? '', versionCoding),
        expression: addToPath(path, 'version'),
      });
    }
    return result;
  }

  /**
   * Reports that no version of `system` is in effect on the request's `date` (its versions state
   * effective periods, none covering it); false when that is not why it was not found.
   */
  private reportMissAtDate(path: string, system: string): boolean {
    const miss = this.ctx.missAtDate('CodeSystem', system);
    if (!miss) return false;
    this.add({
      severity: 'error',
      code: 'not-found',
      txType: 'not-found',
      text: VMSG.noVersionOnDate('CodeSystem', miss.url, miss.date, miss.versions),
      expression: addToPath(path, 'system'),
    });
    return true;
  }

  /** Reports an unknown code system (or version) the value set depends on. */
  private reportUnknownSystem(path: string, system: string, version: string | undefined): void {
    if (!version && this.reportMissAtDate(path, system)) return;
    if (!version) {
      this.unknownSystems.add(system);
      this.add({
        severity: 'error',
        code: 'not-found',
        txType: 'not-found',
        text: VMSG.unknownSystem(system),
        expression: addToPath(path, 'system'),
        unknownSystem: system,
      });
      return;
    }
    const known = this.knownVersions(system);
    const key = known.length === 0 ? system : `${system}|${version}`;
    if (this.unknownSystems.has(key)) return;
    this.unknownSystems.add(key);
    this.add({
      severity: 'error',
      code: 'not-found',
      txType: 'not-found',
      text: VMSG.unknownSystemVersion(system, version, known),
      expression: addToPath(path, 'system'),
      unknownSystem: key,
    });
  }

  // --- concepts -------------------------------------------------------------------------------

  private listDisplays(list: DisplayList, cs: CodeSystem, concept: IndexedConcept): void {
    const csLang = cs.language;
    if (concept.display !== undefined) list.add({ value: concept.display, language: csLang, isDisplay: true });
    const addDesignation = (d: CodeSystemConceptDesignation, fallbackLang: string | undefined) => {
      if (typeof d.value !== 'string') return;
      const isDisplay = d.use === undefined || DISPLAY_USES.has(d.use.code ?? '');
      list.add({ value: d.value, language: d.language ?? fallbackLang, isDisplay });
    };
    for (const d of concept.designation) addDesignation(d, csLang);
    for (const s of this.supplementsOf(cs)) {
      const sc = indexCodeSystem(s).get(concept.code);
      if (!sc) continue;
      if (sc.display !== undefined) list.add({ value: sc.display, language: s.language ?? csLang, isDisplay: true });
      for (const d of sc.designation) addDesignation(d, s.language ?? csLang);
    }
  }

  private listIncludeConceptDisplays(list: DisplayList, c: ValueSetComposeIncludeConcept, vs: ValueSet): void {
    if (c.display)
      list.add({ value: c.display.trim(), language: vs.language, anyLanguage: !vs.language, isDisplay: true });
    for (const d of c.designation ?? []) {
      if (typeof d.value !== 'string') continue;
      const isDisplay = d.use === undefined || DISPLAY_USES.has(d.use.code ?? '');
      list.add({ value: d.value, language: d.language, isDisplay });
    }
  }

  private noteStatus(path: string, code: string, idx: CodeSystemIndex, concept: IndexedConcept): void {
    if (this.conceptStatus) return;
    const at = this.ctx.date;
    const inactive = idx.isInactive(concept, at);
    const status =
      idx.status(concept, at) ?? (inactive ? 'inactive' : idx.isDeprecated(concept, at) ? 'deprecated' : undefined);
    this.conceptStatus = { path, code, status, inactive };
  }

  private excludesInactive(node: PreparedValueSet): boolean {
    return node.vs.compose?.inactive === false;
  }

  /** Found `code` (spelled `given`) in `cs`: the rules that can still make it fail (abstract, inactive). */
  private acceptConcept(
    node: PreparedValueSet,
    path: string,
    cs: CodeSystem,
    idx: CodeSystemIndex,
    concept: IndexedConcept,
    given: string,
  ): boolean {
    if (concept.code !== given) {
      // case-insensitive code systems: the code is valid, the case is not the normal form
      this.normalForm = concept.code;
      this.add({
        severity: 'information',
        code: 'business-rule',
        txType: 'code-rule',
        text: VMSG.caseDifference(given, concept.code, cs.version ? `${cs.url}|${cs.version}` : (cs.url ?? '')),
        expression: addToPath(path, 'code'),
      });
    }
    if (this.opts.abstractOk === false && idx.isAbstract(concept)) {
      if (!this.opts.membershipOnly) {
        this.add({
          severity: 'error',
          code: 'business-rule',
          txType: 'code-rule',
          text: VMSG.abstractNotAllowed(cs.url ?? '', given),
          expression: addToPath(path, 'code'),
        });
      }
      return false;
    }
    // the `date` asked about lies outside the concept's validity: not a valid code on that day
    const at = this.ctx.date;
    if (at !== undefined && concept.validity && idx.validityAt(concept, at) !== 'within') {
      if (!this.opts.membershipOnly) {
        this.add({
          severity: 'error',
          code: 'business-rule',
          txType: 'code-rule',
          text: VMSG.notValidOnDate(concept.code, concept.validity, at),
          expression: addToPath(path, 'code'),
        });
        this.notValidOnDate = true;
      }
      return false;
    }
    if ((this.excludesInactive(node) || this.opts.activeOnly) && idx.isInactive(concept, at)) {
      this.add({
        severity: 'error',
        code: 'business-rule',
        txType: 'code-rule',
        text: VMSG.notActive(given),
        expression: addToPath(path, 'code'),
      });
      if (!this.opts.membershipOnly) this.noteStatus(path, given, idx, concept);
      return false;
    }
    this.noteStatus(path, given, idx, concept);
    return true;
  }

  private filtersFor(inc: ValueSetComposeInclude, cs: CodeSystem, idx: CodeSystemIndex): ConceptPredicate[] {
    let byCs = filterCache.get(inc);
    if (!byCs) {
      byCs = new WeakMap();
      filterCache.set(inc, byCs);
    }
    let byDate = byCs.get(cs);
    if (!byDate) {
      byDate = new Map();
      byCs.set(cs, byDate);
    }
    const at = this.ctx.date;
    let preds = byDate.get(at ?? '');
    if (!preds) {
      preds = (inc.filter ?? []).map((f) => {
        try {
          return compileFilter(idx, f, at);
        } catch (e) {
          if (e instanceof FilterError) {
            throw fail(
              400,
              'not-supported',
              'vs-invalid',
              VMSG.filterNotUnderstood(f.property ?? '', f.op ?? '', f.value ?? ''),
            );
          }
          throw e;
        }
      });
      byDate.set(at ?? '', preds);
    }
    return preds;
  }

  /** Before any code is checked: the include's code system is known and its filters can be evaluated. */
  prepareInclude(inc: ValueSetComposeInclude, where: string): void {
    const cs = this.findCodeSystem(inc.system as string, inc.version);
    if (!cs) return;
    this.noteSupplements(cs);
    for (const [j, f] of (inc.filter ?? []).entries()) {
      if (!f.value) throw this.filterWithoutValue(cs, f.property, f.op, where, j);
    }
    if ((inc.filter?.length ?? 0) > 0) this.filtersFor(inc, cs, indexCodeSystem(cs));
  }

  /** Whether `code` is in one include (or exclude) of `cs`, reporting what is wrong with it. */
  private checkConceptSet(
    node: PreparedValueSet,
    path: string,
    cs: CodeSystem,
    inc: ValueSetComposeInclude,
    code: string,
    state: CodingState,
  ): boolean {
    const idx = indexCodeSystem(cs);
    const hasConcepts = (inc.concept?.length ?? 0) > 0;
    const hasFilters = (inc.filter?.length ?? 0) > 0;
    state.seenVersion = cs.version;
    if (!hasConcepts && !hasFilters) {
      const concept = idx.find(code);
      if (!concept) {
        if (!this.opts.membershipOnly) {
          if (cs.content === 'fragment' || cs.content === 'example') {
            this.add({
              severity: 'warning',
              code: 'code-invalid',
              txType: 'invalid-code',
              text: VMSG.unknownCodeInFragment(code, cs.url ?? '', cs.version),
              expression: addToPath(path, 'code'),
              inMessage: false,
            });
            return true;
          }
          this.add({
            severity: 'error',
            code: 'code-invalid',
            txType: 'invalid-code',
            text: VMSG.unknownCode(code, cs.url ?? '', cs.version),
            expression: addToPath(path, 'code'),
          });
        }
        return false;
      }
      this.listDisplays(state.displays, cs, concept);
      return this.acceptConcept(node, path, cs, idx, concept, code);
    }
    if (hasConcepts) {
      const concept = idx.find(code);
      const listed = concept && inc.concept?.find((c) => sameCode(idx, c.code, concept.code));
      if (concept && listed) {
        this.listDisplays(state.displays, cs, concept);
        this.listIncludeConceptDisplays(state.displays, listed, node.vs);
        if (this.acceptConcept(node, path, cs, idx, concept, code)) {
          const standards = listed.extension?.find((e) => e.url === STANDARDS_STATUS)?.valueCode;
          const deprecated =
            standards === 'withdrawn' || standards === 'deprecated'
              ? standards
              : listed.extension?.some((e) => e.url === VALUESET_DEPRECATED && e.valueBoolean !== false)
                ? 'deprecated'
                : undefined;
          if (deprecated) {
            this.add({
              severity: 'warning',
              code: 'business-rule',
              txType: 'code-comment',
              text: VMSG.deprecatedInValueSet(cs.url ?? '', code, deprecated, node.vurl),
              expression: addToPath(path, 'code'),
              inMessage: false,
            });
          }
          return true;
        }
        return false;
      }
    }
    if (hasFilters) {
      for (const [i, f] of (inc.filter ?? []).entries()) {
        if (!f.value) throw this.filterWithoutValue(cs, f.property, f.op, undefined, i);
      }
      const concept = idx.find(code);
      if (concept && this.filtersFor(inc, cs, idx).every((p) => p(concept))) {
        this.listDisplays(state.displays, cs, concept);
        return this.acceptConcept(node, path, cs, idx, concept, code);
      }
    }
    return false;
  }

  private filterWithoutValue(
    cs: CodeSystem,
    property: string | undefined,
    op: string | undefined,
    where: string | undefined,
    index: number,
  ): OperationOutcomeError {
    return fail(
      400,
      'invalid',
      'vs-invalid',
      VMSG.filterWithoutValue(cs.url ?? '', property ?? '', op ?? ''),
      where ? `${where}.filter[${index}]` : undefined,
    );
  }

  /** Quiet membership (no findings): for excludes and for inferring a system. */
  private contains(node: PreparedValueSet, system: string, code: string): boolean {
    const compose = node.vs.compose;
    if (!compose) return this.expansionContains(node.vs.expansion?.contains, system, code) !== undefined;
    const member = (inc: ValueSetComposeInclude): boolean => {
      let ok = true;
      if (inc.system) {
        if (inc.system !== system) return false;
        const cs = this.findCodeSystem(inc.system, inc.version);
        ok = cs !== undefined && this.quietConceptSet(cs, inc, code);
      }
      for (const u of inc.valueSet ?? []) {
        const other = node.imports.get(u);
        ok = ok && other !== undefined && this.contains(other, system, code);
      }
      return ok;
    };
    if (!(compose.include ?? []).some(member)) return false;
    return !(compose.exclude ?? []).some(member);
  }

  private quietConceptSet(cs: CodeSystem, inc: ValueSetComposeInclude, code: string): boolean {
    const idx = indexCodeSystem(cs);
    const concept = idx.find(code);
    if (!concept) return false;
    if ((inc.concept?.length ?? 0) > 0 && !inc.concept?.some((c) => sameCode(idx, c.code, concept.code))) return false;
    if ((inc.filter?.length ?? 0) > 0) {
      if (inc.filter?.some((f) => !f.value)) return false;
      return this.filtersFor(inc, cs, idx).every((p) => p(concept));
    }
    return true;
  }

  private expansionContains(
    list: ValueSetExpansionContains[] | undefined,
    system: string,
    code: string,
  ): ValueSetExpansionContains | undefined {
    for (const c of list ?? []) {
      if (c.system === system && c.code === code) return c;
      const inner = this.expansionContains(c.contains, system, code);
      if (inner) return inner;
    }
    return undefined;
  }

  /** The code systems a value set draws on (for inferring the system of a bare code). */
  private systemsOf(node: PreparedValueSet, out: Set<string>): void {
    for (const inc of node.vs.compose?.include ?? []) {
      if (inc.system) out.add(inc.system);
      for (const u of inc.valueSet ?? []) {
        const other = node.imports.get(u);
        if (other) this.systemsOf(other, out);
      }
    }
    if (!node.vs.compose) for (const c of node.vs.expansion?.contains ?? []) if (c.system) out.add(c.system);
  }

  private inferSystem(node: PreparedValueSet, code: string): string | undefined {
    const systems = new Set<string>();
    this.systemsOf(node, systems);
    const matches = [...systems].filter((s) => this.contains(node, s, code));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) {
      this.add({
        severity: 'error',
        code: 'not-found',
        txType: 'cannot-infer',
        text: VMSG.cannotInferSystemMultiple(code, node.vurl, matches),
        expression: 'code',
      });
      return undefined;
    }
    // the code is in no include: when the value set draws on a single code system, that is the
    // system the code would have had to come from, and the code is reported against it
    if (systems.size === 1) {
      this.reportSystem = [...systems][0];
      return undefined;
    }
    this.add({
      severity: 'error',
      code: 'not-found',
      txType: 'cannot-infer',
      text: VMSG.cannotInferSystem(code, node.vurl),
      expression: 'code',
    });
    return undefined;
  }

  /** When a coding has no version and the value set includes several versions: the one the code (and display) is in. */
  private pickApplicableVersion(
    versions: string[],
    system: string,
    code: string,
    display?: string,
  ): string | undefined {
    const found = versions.filter((v) => {
      const cs = this.resolveExact(system, v);
      const concept = cs && indexCodeSystem(cs).find(code);
      if (!concept) return false;
      if (!display) return true;
      return concept.display === display || concept.designation.some((d) => d.value === display);
    });
    if (found.length === versions.length) return undefined;
    const newest = (list: string[]) => [...list].sort((a, b) => compareVersions(b, a))[0];
    return found.length > 0 ? newest(found) : newest(versions);
  }

  /**
   * Whether one coding is in the value set: true, false, or null when that cannot be known
   * (a code system or version the value set depends on is unknown).
   */
  check(node: PreparedValueSet, path: string, coding: Coding, state: CodingState): boolean | null {
    const code = coding.code ?? '';
    let system = coding.system;
    const version = coding.version;
    if (!system) {
      if (!this.opts.inferSystem) {
        this.add({
          severity: 'warning',
          code: 'invalid',
          txType: 'invalid-data',
          text: VMSG.codingHasNoSystem(),
          expression: path || undefined,
          inMessage: true,
        });
        return false;
      }
      system = this.inferSystem(node, code);
      if (!system) return false;
      this.impliedSystem = system;
    }
    const compose = node.vs.compose;
    if (!compose) return this.checkExpansion(node, path, system, version, code, state);

    const includes = compose.include ?? [];
    let determined: string | undefined;
    if (!version) {
      const pinned = [
        ...new Set(includes.filter((i) => i.system === system && i.version).map((i) => i.version as string)),
      ];
      if (pinned.length > 1) determined = this.pickApplicableVersion(pinned, system, code, coding.display);
    }
    // newest pinned version of a system first
    const ordered = [...includes].sort((a, b) =>
      a.system === b.system && a.version && b.version ? compareVersions(b.version, a.version) : 0,
    );
    let result: boolean | null = false;
    for (const inc of ordered) {
      if (!inc.system) {
        result = true;
      } else if (
        inc.system === system &&
        (!determined || inc.version === determined) &&
        (!version || inc.version === version || !includes.some((i) => i.version === version))
      ) {
        const v = this.determineVersion(path, inc.system, inc.version, version);
        const cs = this.findCodeSystem(system, v);
        if (!cs) {
          if (this.opts.membershipOnly) return false;
          this.reportUnknownSystem(path, system, v);
          return null;
        }
        state.defLang = cs.language;
        const required = failedVersionCheck(this.rules, system, cs.version);
        if (required !== undefined) {
          this.add({
            severity: 'error',
            code: 'exception',
            txType: 'version-error',
            text: VMSG.versionCheckFailed(system, cs.version ?? '', required),
            expression: addToPath(path, 'version'),
          });
        }
        this.noteSupplements(cs);
        result = this.checkConceptSet(node, path, cs, inc, code, state);
        if (result) state.version = cs.version;
      } else {
        result = false;
      }
      for (const u of inc.valueSet ?? []) {
        const other = node.imports.get(u);
        if (result === true) result = other ? this.check(other, path, { ...coding, system }, state) : false;
      }
      if (result === true) break;
    }
    if (result === true) {
      for (const exc of compose.exclude ?? []) {
        let excluded = true;
        if (exc.system) {
          const cs = this.findCodeSystem(exc.system, exc.version);
          excluded = cs !== undefined && exc.system === system && this.quietConceptSet(cs, exc, code);
        }
        for (const u of exc.valueSet ?? []) {
          const other = node.imports.get(u);
          excluded = excluded && other !== undefined && this.contains(other, system, code);
        }
        if (excluded) return false;
      }
    }
    return result;
  }

  private checkExpansion(
    node: PreparedValueSet,
    path: string,
    system: string,
    version: string | undefined,
    code: string,
    state: CodingState,
  ): boolean | null {
    const entry = this.expansionContains(node.vs.expansion?.contains, system, code);
    if (!entry) return false;
    const cs = this.findCodeSystem(system, entry.version ?? version);
    if (!cs) {
      if (this.opts.membershipOnly) return false;
      this.reportUnknownSystem(path, system, entry.version ?? version);
      return null;
    }
    state.defLang = cs.language;
    const idx = indexCodeSystem(cs);
    const concept = idx.find(code);
    state.seenVersion = cs.version;
    if (!concept) {
      if (!this.opts.membershipOnly) {
        this.add({
          severity: 'error',
          code: 'code-invalid',
          txType: 'invalid-code',
          text: VMSG.unknownCode(code, cs.url ?? '', cs.version),
          expression: addToPath(path, 'code'),
        });
      }
      return false;
    }
    this.listDisplays(state.displays, cs, concept);
    const ok = this.acceptConcept(node, path, cs, idx, concept, code);
    if (ok) state.version = cs.version;
    return ok;
  }

  // --- displays -------------------------------------------------------------------------------

  /** The display of a member code: valid in the requested languages, or at least in the default one. */
  private checkDisplayOfMember(path: string, coding: Coding, state: CodingState): void {
    const display = coding.display as string;
    const list = state.displays;
    const langs = this.langs.tags;
    const hd = list.has(langs, undefined, display);
    if (hd.found) return;
    let severity: Severity = this.opts.lenientDisplay ? 'warning' : 'error';
    const valid = list.valid(langs);
    let text: string;
    if (valid.length === 0) {
      const fallback = list.preferred([]);
      if (!fallback) {
        severity = 'warning';
        text = VMSG.noDisplayKnown(display, coding.system ?? '', coding.code ?? '', this.langs.summary);
      } else if (list.has(langs, state.defLang ?? 'en', display).found) {
        severity = 'information';
        text = VMSG.displayOkForDefaultLanguage(display, coding.system ?? '', coding.code ?? '', this.langs.summary);
      } else {
        text = VMSG.wrongDisplayNoneForLanguage(
          display,
          coding.system ?? '',
          coding.code ?? '',
          this.langs.summary,
          fallback,
        );
      }
    } else {
      text = VMSG.wrongDisplay(
        display,
        coding.system ?? '',
        coding.code ?? '',
        valid,
        this.langs.summary,
        hd.whitespace,
      );
    }
    this.add({
      severity,
      code: 'invalid',
      txType: 'invalid-display',
      text,
      expression: addToPath(path, 'display'),
      inMessage: true,
    });
  }

  /** The display of a code that is not a member, looked up in its code system for the report. */
  private checkDisplayOfNonMember(path: string, system: string, coding: Coding, state: CodingState): void {
    const display = coding.display as string;
    const list = state.displays;
    const langs = this.langs.tags;
    const hd = list.has(langs, state.defLang ?? 'en', display);
    if (hd.found) return;
    let severity: Severity = this.opts.lenientDisplay ? 'warning' : 'error';
    const valid = list.valid(langs);
    let text: string;
    if (valid.length === 0) {
      severity = 'warning';
      text = VMSG.noDisplayKnown(display, system, coding.code ?? '', this.langs.summary);
    } else {
      text = VMSG.wrongDisplay(display, system, coding.code ?? '', valid, this.langs.summary, hd.whitespace);
    }
    this.add({
      severity,
      code: 'invalid',
      txType: 'invalid-display',
      text,
      expression: addToPath(path, 'display'),
      inMessage: true,
    });
  }

  // --- codings that are not members ------------------------------------------------------------

  /** The newest version of `system` the value set pins, used to look up a non-member code. */
  private pinnedVersion(node: PreparedValueSet, system: string): string | undefined {
    const versions = (node.vs.compose?.include ?? [])
      .filter((i) => i.system === system && i.version)
      .map((i) => i.version as string);
    return versions.sort((a, b) => compareVersions(b, a))[0];
  }

  /**
   * A coding that is not in the value set is looked up in its own code system, so the outcome
   * says why: unknown system or version, unknown code, wrong display.
   */
  private lookUpNonMember(
    node: PreparedValueSet,
    input: ValidationInput,
    issuePath: string,
    index: number,
    path: string,
    system: string,
    coding: Coding,
    state: CodingState,
    out: { version?: string; display?: string; defaultVersion?: string },
  ): void {
    const mode = input.mode;
    if (!isAbsoluteUri(system)) {
      const where =
        mode === 'coding'
          ? `${issuePath}.system`
          : mode === 'codeableConcept'
            ? `${issuePath}.coding[${index}].system`
            : undefined;
      this.add({
        severity: 'error',
        code: 'invalid',
        txType: 'invalid-data',
        text: VMSG.systemRelative(),
        expression: where,
      });
    }
    const lookupVersion = coding.version || this.pinnedVersion(node, system);
    const cs = this.findCodeSystem(system, lookupVersion);
    if (!cs) {
      if (this.ctx.valueSet(system)) {
        this.add({
          severity: 'error',
          code: 'invalid',
          txType: 'invalid-data',
          text: VMSG.systemIsValueSet(system),
          expression: addToPath(path, 'system'),
        });
        return;
      }
      const supplement = this.ctx.codeSystem(system, lookupVersion);
      if (supplement?.content === 'supplement') {
        this.add({
          severity: 'error',
          code: 'invalid',
          txType: 'invalid-data',
          text: VMSG.systemIsSupplement(vurlOf(supplement)),
          expression: addToPath(path, 'system'),
        });
        return;
      }
      if (!lookupVersion && this.reportMissAtDate(path, system)) return;
      const latest = this.findCodeSystem(system, undefined);
      out.defaultVersion ??= latest?.version;
      if (!latest && !lookupVersion) {
        if (this.unknownSystems.has(system)) return;
        this.unknownSystems.add(system);
        // the value set does not depend on this system: it is named as given
        const text = isAbsoluteUri(system) ? VMSG.unknownSystemOutsideValueSet(system) : VMSG.unknownSystem(system);
        this.add({
          severity: 'error',
          code: 'not-found',
          txType: 'not-found',
          text,
          expression: addToPath(path, 'system'),
          unknownSystem: system,
        });
        return;
      }
      this.reportUnknownSystem(path, system, lookupVersion);
      return;
    }
    const idx = indexCodeSystem(cs);
    const concept = idx.find(coding.code ?? '');
    state.seenVersion ??= cs.version;
    if (!concept) {
      if (cs.content === 'fragment' || cs.content === 'example') {
        this.add({
          severity: 'warning',
          code: 'code-invalid',
          txType: 'invalid-code',
          text: VMSG.unknownCodeInFragment(coding.code ?? '', system, cs.version),
          expression: addToPath(path, 'code'),
          inMessage: false,
        });
      } else {
        this.add({
          severity: 'error',
          code: 'code-invalid',
          txType: 'invalid-code',
          text: VMSG.unknownCode(coding.code ?? '', system, cs.version),
          expression: addToPath(path, 'code'),
        });
      }
      return;
    }
    const list = new DisplayList();
    this.listDisplays(list, cs, concept);
    if (!this.opts.membershipOnly && idx.isInactive(concept, this.ctx.date)) {
      this.noteStatus(path, coding.code ?? '', idx, concept);
    }
    out.display = list.preferred(this.langs.tags) ?? out.display;
    if (coding.display && list.size > 0) {
      this.checkDisplayOfNonMember(path, system, coding, { ...state, displays: list, defLang: cs.language });
    }
    if (cs.version && mode !== 'codeableConcept') out.version = cs.version;
  }

  // --- the whole input ------------------------------------------------------------------------

  validate(node: PreparedValueSet, input: ValidationInput): ValidationResult {
    const mode = input.mode;
    const issuePath = mode === 'code' ? '' : mode === 'coding' ? 'Coding' : 'CodeableConcept';
    let ok: boolean | null = false;
    let noCode = false;
    const matched = new Set<number>();
    const codelist: string[] = [];
    let first: { system?: string; code: string; version?: string; display?: string; path: string } | undefined;
    let tsys: string | undefined;
    let tcode: string | undefined;
    let tver: string | undefined;
    const outside: { version?: string; display?: string; defaultVersion?: string } = {};
    let seenVersion: string | undefined;

    for (const [i, coding] of input.codings.entries()) {
      const path = mode === 'codeableConcept' ? `${issuePath}.coding[${i}]` : issuePath;
      if (!coding.code) {
        // one message for a coding with neither system nor code, rather than one for each
        const text =
          coding.system || this.opts.inferSystem ? VMSG.codingHasNoCode(coding.system) : VMSG.codingHasNothing();
        this.add({
          severity: 'warning',
          code: 'invalid',
          txType: 'invalid-data',
          text,
          expression: path || undefined,
          inMessage: true,
        });
        noCode = true;
        break;
      }
      const state: CodingState = { displays: new DisplayList() };
      const v = this.check(node, path, coding, state);
      if (v === true) matched.add(i);
      const ws = this.impliedSystem ?? coding.system;
      if (!tcode || v === true) {
        tsys = coding.system;
        tcode = coding.code;
        tver = coding.version;
      }
      if (!tver && state.version) tver = state.version;
      seenVersion ??= state.seenVersion;
      const entry = presentCoding(ws ?? this.reportSystem, coding.version, coding.code, coding.display);
      codelist.push(entry);
      if (v === false && !node.internal && mode === 'codeableConcept') {
        this.add({
          severity: 'information',
          code: 'code-invalid',
          txType: 'this-code-not-in-vs',
          text: VMSG.notInValueSet([entry], node.vurl),
          expression: `${issuePath}.coding[${i}].code`,
        });
      }
      if (ok !== true && v !== false) ok = v;
      if (v === true) {
        if (coding.display && state.displays.size > 0) this.checkDisplayOfMember(path, coding, state);
        if (first === undefined) {
          first = {
            system: coding.system,
            code: coding.code,
            version: state.version,
            display: state.displays.preferred(this.langs.tags),
            path,
          };
        }
      } else if (!this.opts.membershipOnly && ws) {
        this.lookUpNonMember(node, input, issuePath, i, path, ws, coding, state, outside);
      }
    }

    // A CodeableConcept is valid when any coding is: an unknown system elsewhere does not veto it
    if (mode === 'codeableConcept' && matched.size > 0) {
      for (const [j, coding] of input.codings.entries()) {
        if (matched.has(j)) continue;
        const sysPath = `${issuePath}.coding[${j}].system`;
        for (const f of this.findings) {
          if (f.severity === 'error' && f.unknownSystem && f.expression === sysPath) {
            f.severity = 'warning';
            f.text = VMSG.unknownSystemNotChecked(
              coding.version ? `${coding.system}|${coding.version}` : (coding.system ?? ''),
            );
          }
        }
      }
    }

    const noCodeSummary = noCode && (mode !== 'codeableConcept' || node.internal);
    if (ok === false && !noCodeSummary && (!node.internal || !this.hasErrors())) {
      if (mode === 'codeableConcept') {
        this.add({ severity: 'error', code: 'code-invalid', txType: 'not-in-vs', text: VMSG.noValidCoding(node.vurl) });
      } else {
        this.add({
          severity: 'error',
          code: 'code-invalid',
          txType: 'not-in-vs',
          text: VMSG.notInValueSet(codelist, node.vurl),
          expression: addToPath(issuePath, 'code'),
        });
      }
    }

    const valid = ok === true && !this.hasErrors();
    const result: ValidationResult = {
      result: valid,
      issues: [],
      unknownSystems: [],
      causedByUnknownSystems: [],
    };
    if (first?.system) result.system = first.system;
    else if (ok === true && this.impliedSystem) result.system = this.impliedSystem;
    else if (tsys && mode !== 'codeableConcept') result.system = tsys;
    for (const s of this.unknownSystems) {
      if (ok === false) result.unknownSystems.push(s);
      else if (!valid) result.causedByUnknownSystems.push(s);
    }
    if (this.normalForm) result.normalizedCode = this.normalForm;
    if (first) result.code = first.code;
    else if (tcode && mode !== 'codeableConcept') result.code = tcode;
    if (first) result.version = first.version;
    else if (mode !== 'codeableConcept')
      result.version = tver ?? seenVersion ?? outside.version ?? outside.defaultVersion;
    // a CodeableConcept whose system (version) could not be found: the version it would have been checked in
    else if (ok === null) result.version = tver ?? seenVersion ?? outside.defaultVersion;
    const display = first ? first.display : mode !== 'codeableConcept' ? outside.display : undefined;
    if (display !== undefined && (first || (tcode && mode !== 'codeableConcept'))) result.display = display;

    const st = this.conceptStatus;
    if (st?.inactive) {
      if (mode !== 'codeableConcept' || (first && st.path === first.path)) {
        result.inactive = true;
        if (st.status && st.status !== 'inactive') result.status = st.status;
      }
      // the error naming the concept's validity already says it is not active on that day
      if (!this.notValidOnDate) {
        this.add({
          severity: 'warning',
          code: 'business-rule',
          txType: 'code-comment',
          text: VMSG.inactiveConcept(st.code, st.status ?? 'inactive'),
          expression: st.path || 'code',
          inMessage: true,
        });
      }
    } else if (st?.status?.toLowerCase() === 'deprecated') {
      result.status = 'deprecated';
      this.add({
        severity: 'warning',
        code: 'business-rule',
        txType: 'code-comment',
        text: VMSG.deprecatedConcept(st.code),
        expression: issuePath || undefined,
        inMessage: true,
      });
    }

    result.message = this.summary();
    if (mode === 'codeableConcept') result.codeableConcept = input.codeableConcept ?? { coding: input.codings };
    result.issues = this.findings.map(toIssue);
    return result;
  }

  /** The summary message: every error and every finding that belongs in it, sorted, `; `-joined. */
  summary(): string | undefined {
    const texts: string[] = [];
    for (const f of this.findings) if (f.inMessage && !texts.includes(f.text)) texts.push(f.text);
    if (texts.length === 0) return undefined;
    return texts.sort().join('; ');
  }

  /** The outcome of a failure while preparing the value set (an import that cannot be found...). */
  prepareFailure(failure: PrepareFailure, input: ValidationInput): ValidationResult {
    const result: ValidationResult = {
      result: false,
      issues: [toIssue(failure.finding)],
      message: failure.finding.text,
      unknownSystems: [],
      causedByUnknownSystems: failure.unknownSystem ? [failure.unknownSystem] : [],
    };
    if (input.mode === 'codeableConcept') {
      result.codeableConcept = input.codeableConcept ?? { coding: input.codings };
      return result;
    }
    const coding = input.codings[0];
    if (coding?.system) {
      result.system = coding.system;
      result.version = coding.version ?? this.findCodeSystem(coding.system, undefined)?.version;
    }
    if (coding?.code) result.code = coding.code;
    return result;
  }
}

function toIssue(f: Finding): OperationOutcomeIssue {
  return makeIssue({
    severity: f.severity,
    code: f.code,
    text: f.text,
    txIssueType: f.txType,
    expression: f.expression,
  });
}

// ---------------------------------------------------------------------------------------------
// Preparing value sets
// ---------------------------------------------------------------------------------------------

interface PrepareContext {
  ctx: TxContext;
  validator: Validator;
  valueSetRules: VersionRules;
  /** canonicals of the value sets being prepared, outermost first (circularity) */
  chain: string[];
}

/** An imported value set: contained (`#id`), stored or sent, or the implicit value set of a code system. */
function resolveImport(pc: PrepareContext, root: ValueSet, canonical: string): ValueSet | undefined {
  if (canonical.startsWith('#')) return resolveValueSetReference(pc.ctx, canonical, root);
  const { url, version } = splitCanonical(canonical);
  const v = pickVersion(pc.valueSetRules, url, version).version ?? pc.valueSetRules.checks.get(url);
  return resolveValueSetReference(pc.ctx, v ? `${url}|${v}` : url, root);
}

function prepare(pc: PrepareContext, vs: ValueSet, root: ValueSet, internal: boolean): PreparedValueSet {
  const vurl = vurlOf(vs);
  const node: PreparedValueSet = { vs, vurl, internal, imports: new Map() };
  const key = vs.url ? vurl : undefined;
  if (key && pc.chain.includes(key)) {
    throw fail(400, 'processing', 'vs-invalid', VMSG.valueSetCircular(key, [...pc.chain]));
  }
  if (key) pc.chain.push(key);
  try {
    const sections: [string, ValueSetComposeInclude[]][] = [
      ['include', vs.compose?.include ?? []],
      ['exclude', vs.compose?.exclude ?? []],
    ];
    for (const [kind, list] of sections) {
      for (const [i, inc] of list.entries()) {
        for (const u of inc.valueSet ?? []) {
          if (node.imports.has(u)) continue;
          const other = resolveImport(pc, root, u);
          if (!other) {
            throw new PrepareFailure({
              severity: 'error',
              code: 'not-found',
              txType: 'not-found',
              text: VMSG.valueSetNotFound(u),
              inMessage: true,
            });
          }
          node.imports.set(u, prepare(pc, other, u.startsWith('#') ? root : other, false));
        }
        if (inc.system) pc.validator.prepareInclude(inc, `ValueSet.compose.${kind}[${i}]`);
      }
    }
  } finally {
    if (key) pc.chain.pop();
  }
  return node;
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

export interface ValueSetValidationOptions extends ValidationOptions {
  /** default-valueset-version / check-valueset-version / force-valueset-version, for imports */
  valueSetVersionRules?: VersionRules;
}

/**
 * The value set's own parameters (valueset-expansion-parameter extensions), which apply unless
 * the request gives them (tx-ecosystem IG: the request wins).
 */
function applyValueSetParameters(
  vs: ValueSet,
  opts: ValidationOptions,
): { opts: ValidationOptions; displayLanguage?: string } {
  const own = valueSetExpansionParameters(vs);
  if (own.size === 0) return { opts };
  const merged: ValidationOptions = { ...opts };
  const bool = (name: string): boolean | undefined => {
    const v = own.get(name);
    return v === 'true' ? true : v === 'false' ? false : undefined;
  };
  merged.activeOnly ??= bool('activeOnly');
  merged.lenientDisplay ??= bool('lenient-display-validation');
  merged.membershipOnly ??= bool('valueset-membership-only');
  merged.abstractOk ??= bool('abstract');
  const names: [string, keyof VersionRules][] = [
    ['system-version', 'defaults'],
    ['check-system-version', 'checks'],
    ['force-system-version', 'forces'],
  ];
  if (names.some(([n]) => own.has(n))) {
    const base = opts.versionRules ?? NO_VERSION_RULES;
    const rules: VersionRules = {
      defaults: new Map(base.defaults),
      checks: new Map(base.checks),
      forces: new Map(base.forces),
    };
    for (const [n, kind] of names) {
      const { url, version } = splitCanonical(own.get(n) ?? '');
      if (version !== undefined && !rules[kind].has(url)) rules[kind].set(url, version);
    }
    merged.versionRules = rules;
  }
  return { opts: merged, displayLanguage: own.get('displayLanguage') };
}

/**
 * The input with every coding's system replaced by the canonical URL it is an alias of (e.g. the
 * web URLs of NLK stand for its OID), so that value set includes match whichever name was used.
 */
function withCanonicalSystems(ctx: TxContext, input: ValidationInput): ValidationInput {
  const canon = (c: Coding): Coding => {
    if (!c.system) return c;
    const url = ctx.store.canonicalUrl('CodeSystem', c.system);
    return url === c.system ? c : { ...c, system: url };
  };
  if (!input.codings.some((c) => c.system && canon(c) !== c)) return input;
  return { ...input, codings: input.codings.map(canon) };
}

/**
 * ValueSet $validate-code: whether the code / Coding / CodeableConcept is in `valueSet`.
 * Throws OperationOutcomeError for a value set that cannot be evaluated (broken filter,
 * circular imports, missing required supplement).
 */
export function validateCodeInValueSet(
  ctx: TxContext,
  valueSet: ValueSet,
  given: ValidationInput,
  options: ValueSetValidationOptions = {},
): ValidationResult {
  const input = withCanonicalSystems(ctx, given);
  const { opts, displayLanguage: vsDisplayLanguage } = applyValueSetParameters(valueSet, options);
  // displayLanguage > the value set's expansion parameter > Accept-Language > ValueSet.language
  const langs =
    languagePrefs(opts.displayLanguage) ??
    languagePrefs(vsDisplayLanguage) ??
    languagePrefs(opts.acceptLanguage) ??
    languagePrefs(valueSet.language) ??
    NO_LANGUAGES;
  const required = [...(opts.useSupplements ?? [])];
  for (const ext of valueSet.extension ?? []) {
    const v = ext.url === VALUESET_SUPPLEMENT ? (ext.valueCanonical ?? ext.valueUri ?? ext.valueString) : undefined;
    if (v && !required.includes(v)) required.push(v);
  }
  const validator = new Validator(ctx, input.mode === 'code' ? opts : { ...opts, inferSystem: false }, langs, required);
  let node: PreparedValueSet;
  try {
    node = prepare(
      { ctx, validator, valueSetRules: options.valueSetVersionRules ?? NO_VERSION_RULES, chain: [] },
      valueSet,
      valueSet,
      false,
    );
  } catch (e) {
    if (e instanceof PrepareFailure) return validator.prepareFailure(e, input);
    throw e;
  }
  validator.checkSupplementsUsed();
  return validator.validate(node, input);
}

/**
 * The value set a request names (`url` + `valueSetVersion`, the value set version rules applied).
 * Throws a 4xx OperationOutcomeError when it is not known.
 */
export function resolveValueSet(
  ctx: TxContext,
  url: string,
  version: string | undefined,
  rules: VersionRules = NO_VERSION_RULES,
): ValueSet {
  const split = splitCanonical(url);
  const wanted = pickVersion(rules, split.url, version ?? split.version).version ?? rules.checks.get(split.url);
  const vs = ctx.valueSet(split.url, wanted) ?? resolveImplicitValueSet(ctx, split.url, wanted);
  const miss = vs || wanted !== undefined ? undefined : ctx.missAtDate('ValueSet', split.url);
  if (miss) {
    throw fail(422, 'not-found', 'not-found', VMSG.noVersionOnDate('ValueSet', miss.url, miss.date, miss.versions));
  }
  if (!vs) {
    throw fail(422, 'not-found', 'not-found', VMSG.valueSetNotFound(wanted ? `${split.url}|${wanted}` : split.url));
  }
  return vs;
}

export interface CodeSystemTarget {
  /** the code system resource (instance call or `codeSystem` parameter) */
  codeSystem?: CodeSystem;
  /** its canonical (`url` parameter, else the coding's system) */
  url?: string;
  /** `version` parameter, else the coding's version */
  version?: string;
}

/**
 * CodeSystem $validate-code: whether the code / Coding / CodeableConcept is valid in the code
 * system, i.e. a member of its implicit value set (all its codes). An unknown code system is
 * a `result = false` outcome, as in the reference servers.
 */
export function validateCodeInCodeSystem(
  ctx: TxContext,
  givenTarget: CodeSystemTarget,
  givenInput: ValidationInput,
  options: ValidationOptions = {},
): ValidationResult {
  const input = withCanonicalSystems(ctx, givenInput);
  const target = givenTarget.url
    ? { ...givenTarget, url: ctx.store.canonicalUrl('CodeSystem', givenTarget.url) }
    : givenTarget;
  const opts: ValidationOptions = { ...options, inferSystem: false };
  const langs = languagePrefs(opts.displayLanguage) ?? languagePrefs(opts.acceptLanguage) ?? NO_LANGUAGES;
  // a CodeSystem given as a resource resolves by its url for this request, whatever is stored
  const given = target.codeSystem;
  const scoped = given?.url && ctx.codeSystem(given.url, given.version) !== given ? ctx.withResources([given]) : ctx;
  const validator = new Validator(scoped, opts, langs, [...(opts.useSupplements ?? [])]);
  const systemPath =
    input.mode === 'code' ? 'system' : input.mode === 'coding' ? 'Coding.system' : 'CodeableConcept.coding[0].system';
  const failure = (text: string, code: IssueCode, txType: string, unknownSystem?: string): ValidationResult =>
    validator.prepareFailure(
      new PrepareFailure(
        { severity: 'error', code, txType, text, expression: systemPath, inMessage: true },
        unknownSystem,
      ),
      input,
    );

  let cs = given;
  if (!cs) {
    const url = target.url;
    if (!url) {
      if (input.codings[0]?.code === undefined) throw fail(400, 'invalid', 'invalid-data', VMSG.noCodeSystem());
      return validator.prepareFailure(
        new PrepareFailure({
          severity: 'warning',
          code: 'invalid',
          txType: 'invalid-data',
          text: VMSG.codingHasNoSystem(),
          expression:
            input.mode === 'code' ? undefined : input.mode === 'coding' ? 'Coding' : 'CodeableConcept.coding[0]',
          inMessage: true,
        }),
        input,
      );
    }
    const rules = opts.versionRules ?? NO_VERSION_RULES;
    const version = pickVersion(rules, url, target.version).version ?? rules.checks.get(url);
    const found = ctx.codeSystem(url, version);
    if (found?.content === 'supplement')
      return failure(VMSG.systemIsSupplement(vurlOf(found)), 'invalid', 'invalid-data');
    if (!found) {
      const miss = version ? undefined : ctx.missAtDate('CodeSystem', url);
      if (miss) {
        return failure(
          VMSG.noVersionOnDate('CodeSystem', miss.url, miss.date, miss.versions),
          'not-found',
          'not-found',
        );
      }
      if (ctx.valueSet(url)) return failure(VMSG.systemIsValueSet(url), 'invalid', 'invalid-data');
      const known = ctx
        .versions('CodeSystem', url)
        .map((c) => c.version)
        .filter((v): v is string => typeof v === 'string')
        .sort();
      return version
        ? failure(VMSG.unknownSystemVersion(url, version, known), 'not-found', 'not-found', `${url}|${version}`)
        : failure(VMSG.unknownSystem(url), 'not-found', 'not-found', url);
    }
    cs = found;
  }
  if (cs.content === 'supplement') {
    throw fail(400, 'invalid', 'invalid-data', VMSG.systemIsSupplement(vurlOf(cs)), systemPath);
  }
  if (!cs.url) throw fail(400, 'invalid', 'invalid-data', VMSG.noCodeSystem());
  const system = cs.url;
  // the code system's implicit value set of all its codes (CodeSystem.valueSet, or {url}?vs)
  const implicit = implicitValueSet(cs);
  const node: PreparedValueSet = { vs: implicit, vurl: vurlOf(implicit), internal: true, imports: new Map() };
  // a code (or coding) without a system is one of this code system's (instance call, codeSystem parameter)
  const codings = input.codings.map((c) => (c.system || input.mode === 'codeableConcept' ? c : { ...c, system }));
  validator.prepareInclude(implicit.compose?.include?.[0] as ValueSetComposeInclude, 'ValueSet.compose.include[0]');
  validator.checkSupplementsUsed();
  return validator.validate(node, { ...input, codings });
}
