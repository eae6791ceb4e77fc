/**
 * One $validate-code run: the walk over the codings of the input (a code, a Coding or a
 * CodeableConcept), the report on codings that are not members (looked up in their own code
 * system so the outcome says why), and the assembled result. The membership checks are
 * validate-check.ts's, on the core of valueset-core.ts.
 */
import type { Coding } from '@medplum/fhirtypes';
import { type IssueCode, makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { designationSources, isCodeSystemProblem, type ResolvedSystem } from './code-systems.ts';
import { MSGID } from './message-ids.ts';
import type { ValidationInput, ValidationResult } from './validate.ts';
import { Validator } from './validate-check.ts';
import {
  checkDisplayOfMember,
  checkDisplayOfNonMember,
  type DisplayCheck,
  DisplayList,
  type LanguagePrefs,
} from './validate-displays.ts';
import { addToPath, type Finding, toIssue } from './validate-findings.ts';
import { presentCoding, VMSG } from './validate-messages.ts';
import type { CodingState, ValidationOptions } from './validate-status.ts';
import type { PreparedValueSet, ValueSetCore } from './valueset-core.ts';

function isAbsoluteUri(s: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s);
}

export function fail(
  status: number,
  code: IssueCode,
  txIssueType: string,
  text: string,
  expression?: string,
  id?: string,
) {
  return new OperationOutcomeError(status, [makeIssue({ code, text, txIssueType, expression, messageId: id })]);
}

/** A failure while preparing the value set that is reported as a `result = false` outcome, not an HTTP error. */
export class PrepareFailure extends Error {
  readonly finding: Finding;
  readonly unknownSystem?: string;
  constructor(finding: Finding, unknownSystem?: string) {
    super(finding.text);
    this.finding = finding;
    this.unknownSystem = unknownSystem;
  }
}

/** A value set validation: the checks of validate-check.ts plus the walk over the input's codings. */
export class Validation extends Validator {
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
          text: VMSG.systemIsSupplement(system),
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
    if (!concept) {
      this.reportUnknownCode(path, rs, coding.code ?? '');
      return;
    }
    state.seenVersion ??= rs.version;
    const list = new DisplayList();
    list.addConcept(rs.codeSystem, concept, designationSources(rs));
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
        // membership only (valueset-membership-only, valueSetMode CHECK_MEMBERSHIP_ONLY): the display
        // is the code system's business, which the caller has checked or will check
        if (coding.display && state.displays.size > 0 && !this.opts.membershipOnly) {
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
    // a CodeableConcept of one known code, not in the value set: the version it was found in (with
    // several codings, no one version speaks for the concept)
    else if (ok === false && input.codings.length === 1 && seenVersion !== undefined)
      result.version = tver ?? seenVersion;
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
        // a bare code is named by its parameter, as the inactive-concept warning names it
        expression: issuePath || 'code',
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
