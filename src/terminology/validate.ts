/**
 * $validate-code for value sets and code systems:
 * http://hl7.org/fhir/R4/valueset-operation-validate-code.html,
 * http://hl7.org/fhir/R4/codesystem-operation-validate-code.html, with the additions of the HL7
 * terminology ecosystem IG: `issues` with tx-issue-type codes, expressions and message ids,
 * `x-unknown-system` / `x-caused-by-unknown-system`, `normalized-code`,
 * `lenient-display-validation`, `valueset-membership-only`, version rules, status checks.
 *
 * One algorithm serves both operations: a CodeSystem is validated against the implicit value set
 * of all its codes. Membership is the core's (valueset-core.ts), asked through the checks of
 * validate-check.ts; a coding that is not a member is then looked up in its code system on its
 * own, so the report says *why* it failed. Knows nothing of HTTP: the operations turn the result
 * into Parameters.
 */
import type { CodeableConcept, CodeSystem, Coding, OperationOutcomeIssue, ValueSet } from '@medplum/fhirtypes';
import { type IssueCode, makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { canonicalSystem, hasUsableContent, isCodeSystemProblem, type ResolvedSystem, vurl } from './code-systems.ts';
import { valueSetSupplements } from './compose.ts';
import type { TxContext } from './context.ts';
import { implicitValueSet, resolveImplicitValueSet } from './implicit-valueset.ts';
import { valueSetExpansionParameters } from './language.ts';
import { MSGID } from './message-ids.ts';
import { type CodingState, type ValidationMode, type ValidationOptions, Validator } from './validate-check.ts';
import {
  checkDisplayOfMember,
  checkDisplayOfNonMember,
  type DisplayCheck,
  DisplayList,
  type LanguagePrefs,
  languagePrefs,
  NO_LANGUAGES,
} from './validate-displays.ts';
import { addToPath, type Finding, toIssue } from './validate-findings.ts';
import { presentCoding, VMSG } from './validate-messages.ts';
import { ImportNotFoundError, type PreparedValueSet, pinValueSetReference, ValueSetCore } from './valueset-core.ts';
import { NO_VERSION_RULES, type VersionRules } from './version-rules.ts';
import { splitCanonical } from './versions.ts';

export type { ValidationMode, ValidationOptions };

/** What to validate: a code (+system, version, display), a Coding, or a CodeableConcept. */
export interface ValidationInput {
  mode: ValidationMode;
  /** the codings to check, in order: one for `code` and `coding` */
  codings: Coding[];
  /** the CodeableConcept as given, echoed in the result */
  codeableConcept?: CodeableConcept;
}

export interface ValueSetValidationOptions extends ValidationOptions {
  /** system-version / check-system-version / force-system-version */
  versionRules?: VersionRules;
  /** default-valueset-version / check-valueset-version / force-valueset-version, for imports */
  valueSetVersionRules?: VersionRules;
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

function isAbsoluteUri(s: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s);
}

function fail(status: number, code: IssueCode, txIssueType: string, text: string, expression?: string, id?: string) {
  return new OperationOutcomeError(status, [makeIssue({ code, text, txIssueType, expression, messageId: id })]);
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

/** A value set validation: the checks of validate-check.ts plus the walk over the input's codings. */
class Validation extends Validator {
  private readonly display: DisplayCheck;
  /** the implicit value set of a CodeSystem $validate-code */
  private readonly internal: boolean;

  constructor(core: ValueSetCore, opts: ValidationOptions, langs: LanguagePrefs, internal: boolean) {
    super(core, opts, langs);
    this.internal = internal;
    this.display = { findings: this.findings, langs, lenient: opts.lenientDisplay === true };
  }

  /** Before any code is checked: every include's filters can be evaluated (a broken filter is a 400). */
  preflight(pvs: PreparedValueSet, seen = new Set<PreparedValueSet>()): void {
    if (seen.has(pvs)) return;
    seen.add(pvs);
    for (const set of [...pvs.includes, ...pvs.excludes]) {
      if (set.system) {
        const rs = this.core.resolve(set.system, set.version);
        const usable = isCodeSystemProblem(rs) ? (rs.kind === 'version-check' ? rs.resolved : undefined) : rs;
        if (usable && set.hasFilters) set.predicates(usable);
      }
      for (const imp of set.imports) this.preflight(imp, seen);
    }
  }

  checkSupplementsUsed(): void {
    const missing = this.core.missingSupplements();
    if (missing.length > 0) {
      throw fail(422, 'not-found', 'not-found', VMSG.supplementMissing(missing), undefined, MSGID.supplementMissing);
    }
  }

  /**
   * A coding that is not in the value set is looked up in its own code system, so the outcome
   * says why: unknown system or version, unknown code, wrong display.
   */
  private lookUpNonMember(
    pvs: PreparedValueSet,
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
      this.findings.add({
        severity: 'error',
        code: 'invalid',
        txType: 'invalid-data',
        text: VMSG.systemRelative(),
        expression: where,
        messageId: MSGID.systemRelative,
      });
    }
    const lookupVersion = coding.version || this.pinnedVersion(pvs, system);
    const found = this.findCodeSystem(system, lookupVersion);
    const rs: ResolvedSystem | undefined = isCodeSystemProblem(found)
      ? found.kind === 'version-check'
        ? found.resolved
        : undefined
      : found;
    if (!rs) {
      if (this.ctx.valueSet(system)) {
        this.findings.add({
          severity: 'error',
          code: 'invalid',
          txType: 'invalid-data',
          text: VMSG.systemIsValueSet(system),
          expression: addToPath(path, 'system'),
          messageId: MSGID.systemIsValueSet,
        });
        return;
      }
      if (isCodeSystemProblem(found) && found.kind === 'is-supplement') {
        this.findings.add({
          severity: 'error',
          code: 'invalid',
          txType: 'invalid-data',
          text: VMSG.systemIsSupplement(found.supplement ?? system),
          expression: addToPath(path, 'system'),
          messageId: MSGID.systemIsSupplement,
        });
        return;
      }
      if (!lookupVersion && this.reportMissAtDate(path, system)) return;
      const latest = this.findCodeSystem(system, undefined);
      const latestVersion = isCodeSystemProblem(latest) ? undefined : latest.version;
      out.defaultVersion ??= latestVersion;
      if (isCodeSystemProblem(latest) && !lookupVersion) {
        if (this.unknownSystems.has(system)) return;
        this.unknownSystems.add(system);
        // the value set does not depend on this system: it is named as given
        const text = isAbsoluteUri(system) ? VMSG.unknownSystemOutsideValueSet(system) : VMSG.unknownSystem(system);
        this.findings.add({
          severity: 'error',
          code: 'not-found',
          txType: 'not-found',
          text,
          expression: addToPath(path, 'system'),
          messageId: MSGID.unknownSystem,
          unknownSystem: system,
        });
        return;
      }
      this.reportUnknownSystem(path, system, lookupVersion);
      return;
    }
    this.statusOfCodeSystem(rs, pvs.vs);
    const concept = rs.index.find(coding.code ?? '');
    state.seenVersion ??= rs.version;
    if (!concept) {
      this.reportUnknownCode(path, rs, coding.code ?? '');
      return;
    }
    const list = new DisplayList();
    list.addConcept(rs.codeSystem, concept, rs.supplements);
    if (!this.opts.membershipOnly && rs.index.isInactive(concept, this.ctx.date)) {
      this.noteStatus(path, coding.code ?? '', rs.index, concept);
    }
    out.display = list.preferred(this.langs.tags) ?? out.display;
    if (coding.display && list.size > 0) {
      checkDisplayOfNonMember(this.display, path, system, coding, list, rs.codeSystem.language);
    }
    if (rs.version && mode !== 'codeableConcept') out.version = rs.version;
  }

  // --- the whole input ------------------------------------------------------------------------

  validate(pvs: PreparedValueSet, input: ValidationInput): ValidationResult {
    const mode = input.mode;
    const issuePath = mode === 'code' ? '' : mode === 'coding' ? 'Coding' : 'CodeableConcept';
    // the status of the value set itself (deprecated, withdrawn, retired)
    if (!this.internal) this.statusOfValueSet(pvs.vs);
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
      this.ctx.budget.spend();
      const path = mode === 'codeableConcept' ? `${issuePath}.coding[${i}]` : issuePath;
      if (!coding.code) {
        // one message for a coding with neither system nor code, rather than one for each
        const nothing = !coding.system && !this.opts.inferSystem;
        this.findings.add({
          severity: 'warning',
          code: 'invalid',
          txType: 'invalid-data',
          text: nothing ? VMSG.codingHasNothing() : VMSG.codingHasNoCode(coding.system),
          expression: path || undefined,
          ...(nothing ? { messageId: MSGID.codingNothing } : {}),
          inMessage: true,
        });
        noCode = true;
        break;
      }
      const state: CodingState = { displays: new DisplayList() };
      const v = this.check(pvs, path, coding, state);
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
      if (v === false && !this.internal && mode === 'codeableConcept') {
        this.findings.add({
          severity: 'information',
          code: 'code-invalid',
          txType: 'this-code-not-in-vs',
          text: VMSG.notInValueSet([entry], pvs.vurl),
          expression: `${issuePath}.coding[${i}].code`,
          messageId: MSGID.notInValueSet,
        });
      }
      if (ok !== true && v !== false) ok = v;
      if (v === true) {
        if (coding.display && state.displays.size > 0) {
          checkDisplayOfMember(this.display, path, coding, state.displays, state.defLang);
        }
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
        this.lookUpNonMember(pvs, input, issuePath, i, path, ws, coding, state, outside);
      }
    }

    // A CodeableConcept is valid when any coding is: an unknown system elsewhere does not veto it
    if (mode === 'codeableConcept' && matched.size > 0) {
      for (const [j, coding] of input.codings.entries()) {
        if (matched.has(j)) continue;
        const sysPath = `${issuePath}.coding[${j}].system`;
        for (const f of this.findings.list) {
          if (f.severity === 'error' && f.unknownSystem && f.expression === sysPath) {
            f.severity = 'warning';
            f.messageId = MSGID.unknownSystemNotChecked;
            f.text = VMSG.unknownSystemNotChecked(
              coding.version ? `${coding.system}|${coding.version}` : (coding.system ?? ''),
            );
          }
        }
      }
    }

    const noCodeSummary = noCode && (mode !== 'codeableConcept' || this.internal);
    if (ok === false && !noCodeSummary && (!this.internal || !this.findings.hasErrors())) {
      if (mode === 'codeableConcept') {
        this.findings.add({
          severity: 'error',
          code: 'code-invalid',
          txType: 'not-in-vs',
          text: VMSG.noValidCoding(pvs.vurl),
          messageId: MSGID.noValidCoding,
        });
      } else {
        this.findings.add({
          severity: 'error',
          code: 'code-invalid',
          txType: 'not-in-vs',
          text: VMSG.notInValueSet(codelist, pvs.vurl),
          expression: addToPath(issuePath, 'code'),
          messageId: MSGID.notInValueSet,
        });
      }
    }

    const valid = ok === true && !this.findings.hasErrors();
    const result: ValidationResult = { result: valid, issues: [], unknownSystems: [], causedByUnknownSystems: [] };
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
        this.findings.add({
          severity: 'warning',
          code: 'business-rule',
          txType: 'code-comment',
          text: VMSG.inactiveConcept(st.code, st.status ?? 'inactive'),
          expression: st.path || 'code',
          messageId: MSGID.inactiveConcept,
          inMessage: true,
        });
      }
    } else if (st?.status?.toLowerCase() === 'deprecated') {
      result.status = 'deprecated';
      this.findings.add({
        severity: 'warning',
        code: 'business-rule',
        txType: 'code-comment',
        text: VMSG.deprecatedConcept(st.code),
        expression: issuePath || undefined,
        messageId: MSGID.deprecatedConcept,
        inMessage: true,
      });
    }

    result.message = this.findings.summary();
    if (mode === 'codeableConcept') result.codeableConcept = input.codeableConcept ?? { coding: input.codings };
    result.issues = this.findings.issues();
    return result;
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
      const latest = this.findCodeSystem(coding.system, undefined);
      result.version = coding.version ?? (isCodeSystemProblem(latest) ? undefined : latest.version);
    }
    if (coding?.code) result.code = coding.code;
    return result;
  }
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/**
 * The value set's own parameters (valueset-expansion-parameter extensions), which apply unless
 * the request gives them (tx-ecosystem IG: the request wins).
 */
function applyValueSetParameters(
  vs: ValueSet,
  opts: ValueSetValidationOptions,
): { opts: ValueSetValidationOptions; displayLanguage?: string } {
  const own = valueSetExpansionParameters(vs);
  if (own.size === 0) return { opts };
  const merged: ValueSetValidationOptions = { ...opts };
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
    const url = canonicalSystem(ctx, c.system);
    return url === c.system ? c : { ...c, system: url };
  };
  if (!input.codings.some((c) => c.system && canon(c) !== c)) return input;
  return { ...input, codings: input.codings.map(canon) };
}

/** Prepares a value set for validation; an import that cannot be found is a PrepareFailure. */
function prepareForValidation(validation: Validation, core: ValueSetCore, valueSet: ValueSet): PreparedValueSet {
  let pvs: PreparedValueSet;
  try {
    pvs = core.prepare(valueSet);
  } catch (e) {
    if (e instanceof ImportNotFoundError) {
      throw new PrepareFailure({
        severity: 'error',
        code: 'not-found',
        txType: 'not-found',
        text: VMSG.valueSetNotFound(e.reference),
        messageId: MSGID.unknownValueSet,
        inMessage: true,
      });
    }
    throw e;
  }
  validation.preflight(pvs);
  validation.checkSupplementsUsed();
  return pvs;
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
  for (const s of valueSetSupplements(valueSet)) if (!required.includes(s)) required.push(s);
  const core = new ValueSetCore(ctx, {
    ...(opts.versionRules ? { rules: opts.versionRules } : {}),
    ...(opts.valueSetVersionRules ? { valueSetRules: opts.valueSetVersionRules } : {}),
    activeOnly: opts.activeOnly === true,
    supplements: required,
  });
  const validation = new Validation(core, input.mode === 'code' ? opts : { ...opts, inferSystem: false }, langs, false);
  let pvs: PreparedValueSet;
  try {
    pvs = prepareForValidation(validation, core, valueSet);
  } catch (e) {
    if (e instanceof PrepareFailure) return validation.prepareFailure(e, input);
    throw e;
  }
  return validation.validate(pvs, input);
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
  const pinned = splitCanonical(
    pinValueSetReference(rules, (version ?? split.version) ? `${split.url}|${version ?? split.version}` : split.url),
  );
  const wanted = pinned.version;
  const vs = ctx.valueSet(split.url, wanted) ?? resolveImplicitValueSet(ctx, split.url, wanted);
  const miss = vs || wanted !== undefined ? undefined : ctx.missAtDate('ValueSet', split.url);
  if (miss) {
    throw fail(422, 'not-found', 'not-found', VMSG.noVersionOnDate('ValueSet', miss.url, miss.date, miss.versions));
  }
  if (!vs) {
    const canonical = wanted ? `${split.url}|${wanted}` : split.url;
    throw fail(422, 'not-found', 'not-found', VMSG.valueSetNotFound(canonical), undefined, MSGID.unknownValueSet);
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
  options: ValueSetValidationOptions = {},
): ValidationResult {
  const input = withCanonicalSystems(ctx, givenInput);
  const target = givenTarget.url ? { ...givenTarget, url: canonicalSystem(ctx, givenTarget.url) } : givenTarget;
  const opts: ValueSetValidationOptions = { ...options, inferSystem: false };
  const langs = languagePrefs(opts.displayLanguage) ?? languagePrefs(opts.acceptLanguage) ?? NO_LANGUAGES;
  // a CodeSystem given as a resource resolves by its url for this request, whatever is stored
  const given = target.codeSystem;
  const scoped = given?.url && ctx.codeSystem(given.url, given.version) !== given ? ctx.withResources([given]) : ctx;
  const core = new ValueSetCore(scoped, {
    ...(opts.versionRules ? { rules: opts.versionRules } : {}),
    activeOnly: opts.activeOnly === true,
    supplements: [...(opts.useSupplements ?? [])],
  });
  const validation = new Validation(core, opts, langs, true);
  const systemPath =
    input.mode === 'code' ? 'system' : input.mode === 'coding' ? 'Coding.system' : 'CodeableConcept.coding[0].system';
  const failure = (
    text: string,
    code: IssueCode,
    txType: string,
    messageId?: string,
    unknownSystem?: string,
  ): ValidationResult =>
    validation.prepareFailure(
      new PrepareFailure(
        { severity: 'error', code, txType, text, expression: systemPath, inMessage: true, messageId },
        unknownSystem,
      ),
      input,
    );

  let cs = given;
  if (!cs) {
    const url = target.url;
    if (!url) {
      if (input.codings[0]?.code === undefined) throw fail(400, 'invalid', 'invalid-data', VMSG.noCodeSystem());
      return validation.prepareFailure(
        new PrepareFailure({
          severity: 'warning',
          code: 'invalid',
          txType: 'invalid-data',
          text: VMSG.codingHasNoSystem(),
          expression:
            input.mode === 'code' ? undefined : input.mode === 'coding' ? 'Coding' : 'CodeableConcept.coding[0]',
          messageId: MSGID.codingNoSystem,
          inMessage: true,
        }),
        input,
      );
    }
    const found = core.resolve(url, target.version);
    if (isCodeSystemProblem(found)) {
      switch (found.kind) {
        case 'is-supplement':
          return failure(
            VMSG.systemIsSupplement(found.supplement ?? url),
            'invalid',
            'invalid-data',
            MSGID.systemIsSupplement,
          );
        case 'no-version-on-date':
          return failure(
            VMSG.noVersionOnDate('CodeSystem', found.system, found.miss?.date ?? '', found.miss?.versions ?? []),
            'not-found',
            'not-found',
          );
        case 'version-check':
          cs = found.resolved?.codeSystem;
          break;
        default: {
          if (ctx.valueSet(url))
            return failure(VMSG.systemIsValueSet(url), 'invalid', 'invalid-data', MSGID.systemIsValueSet);
          const version = found.version;
          if (version) {
            const known = found.known;
            return failure(
              VMSG.unknownSystemVersion(url, version, known),
              'not-found',
              'not-found',
              known.length === 0 ? MSGID.unknownSystemVersionNone : MSGID.unknownSystemVersion,
              known.length === 0 ? url : `${url}|${version}`,
            );
          }
          return failure(VMSG.unknownSystem(url), 'not-found', 'not-found', MSGID.unknownSystem, url);
        }
      }
    } else {
      cs = found.codeSystem;
    }
  }
  if (!cs) return failure(VMSG.unknownSystem(target.url ?? ''), 'not-found', 'not-found', MSGID.unknownSystem);
  if (cs.content === 'supplement') {
    throw fail(400, 'invalid', 'invalid-data', VMSG.systemIsSupplement(vurl(cs)), systemPath, MSGID.systemIsSupplement);
  }
  if (!cs.url) throw fail(400, 'invalid', 'invalid-data', VMSG.noCodeSystem());
  if (!hasUsableContent(cs)) {
    return failure(VMSG.unknownSystem(cs.url), 'not-found', 'not-found', MSGID.unknownSystem, vurl(cs));
  }
  const system = cs.url;
  // the code system's implicit value set of all its codes (CodeSystem.valueSet, or {url}?vs); as
  // the reference servers build it, it is active, so a draft or experimental code system is reported
  const { experimental: _experimental, ...allCodes } = implicitValueSet(cs);
  const implicit: ValueSet = { ...allCodes, status: 'active' };
  // a code (or coding) without a system is one of this code system's (instance call, codeSystem parameter)
  const codings = input.codings.map((c) => (c.system || input.mode === 'codeableConcept' ? c : { ...c, system }));
  let pvs: PreparedValueSet;
  try {
    pvs = prepareForValidation(validation, core, implicit);
  } catch (e) {
    if (e instanceof PrepareFailure) return validation.prepareFailure(e, input);
    throw e;
  }
  return validation.validate(pvs, { ...input, codings });
}
