/**
 * Whether one coding is in a value set, and what to report about it: the $validate-code checks
 * on top of the membership core (valueset-core.ts). The core decides membership (which include
 * names the system, which version it resolves to, whether the code is listed, passes the
 * filters, is in the imported value sets, is excluded); this module walks the same includes to
 * say *why* a coding failed (unknown system or version, unknown code, abstract, inactive, version
 * mismatch...) in the words the reference servers use, so clients such as the FHIR validator read
 * the outcome the same way.
 */

import type { Coding } from '@medplum/fhirtypes';
import {
  type CodeSystemProblem,
  designationSources,
  findCodeSystem,
  isCodeSystemProblem,
  knownVersions,
  pickSystemVersion,
  type ResolvedSystem,
  vurl,
} from './code-systems.ts';
import { type CodeSystemIndex, type IndexedConcept, standardsStatus } from './codesystem-index.ts';
import { MSGID } from './message-ids.ts';
import { addToPath } from './validate-findings.ts';
import { VMSG } from './validate-messages.ts';
import { type CodingState, type ConceptStatus, VALUESET_DEPRECATED, ValidatorBase } from './validate-status.ts';
import type { PreparedSet, PreparedValueSet } from './valueset-core.ts';
import { compareVersions, versionMatches } from './versions.ts';

export class Validator extends ValidatorBase {
  conceptStatus?: ConceptStatus;
  /** a concept was reported as not valid on the request's date (which says it is not active) */
  notValidOnDate = false;
  normalForm?: string;
  impliedSystem?: string;
  /** the system a bare code is reported against when no system could be inferred */
  reportSystem?: string;
  /** an unknown code was accepted because its code system is a fragment */
  private fragmentAccepted = false;

  // --- versions and code systems --------------------------------------------------------------

  /** A code system usable for validation, the version rules applied to the version given. */
  findCodeSystem(system: string, version: string | undefined): ResolvedSystem | CodeSystemProblem {
    return this.core.resolve(system, version);
  }

  knownVersions(system: string): string[] {
    return knownVersions(this.ctx, system);
  }

  /** The resolved code system, also when only the version check failed (its error is reported separately). */
  private usable(r: ResolvedSystem | CodeSystemProblem): ResolvedSystem | undefined {
    if (!isCodeSystemProblem(r)) return r;
    return r.kind === 'version-check' ? r.resolved : undefined;
  }

  /**
   * The version of `set`'s system to validate against, given the version the coding carries;
   * reports the mismatches (VALUESET_VALUE_MISMATCH*).
   */
  determineVersion(path: string, set: PreparedSet, versionCoding: string | undefined): string | undefined {
    const system = set.system as string;
    const versionVS = set.version;
    const result = set.versionFor(versionCoding);
    if (!versionCoding) return result;
    const cs = this.usable(this.findCodeSystem(system, result));
    if (cs && cs.version !== versionCoding && !versionMatches(versionCoding, cs.version)) {
      let text: string;
      let messageId: string;
      let severity: 'error' | 'warning' = 'error';
      if (!result) {
        // the value set does not say, so the latest was used: the coding's version is simply another one
        if (!cs.codeSystem.versionNeeded) severity = 'warning';
        text = VMSG.versionMismatchDefault(system, cs.version ?? '', versionCoding);
        messageId = MSGID.versionMismatchDefault;
      } else if (result !== versionVS) {
        text = VMSG.versionMismatchChanged(system, result, versionVS ?? '', versionCoding);
        messageId = MSGID.versionMismatchChanged;
      } else {
        text = VMSG.versionMismatch(system, versionVS, versionCoding);
        messageId = MSGID.versionMismatch;
      }
      this.findings.add({
        severity,
        code: 'invalid',
        txType: 'vs-invalid',
        text,
        expression: addToPath(path, 'version'),
        messageId,
      });
      if (!findCodeSystem(this.ctx, system, versionCoding)) {
        const known = this.knownVersions(system);
        const key = known.length === 0 ? system : `${system}|${versionCoding}`;
        this.unknownSystems.add(key);
        this.findings.add({
          severity: 'error',
          code: 'not-found',
          txType: 'not-found',
          text: VMSG.unknownSystemVersion(system, versionCoding, known),
          expression: addToPath(path, 'system'),
          messageId: known.length === 0 ? MSGID.unknownSystemVersionNone : MSGID.unknownSystemVersion,
          unknownSystem: key,
        });
      }
    } else if (!cs && result !== versionCoding) {
      this.findings.add({
        severity: 'error',
        code: 'invalid',
        txType: 'vs-invalid',
        text: VMSG.versionMismatch(system, result ?? '', versionCoding),
        expression: addToPath(path, 'version'),
        messageId: MSGID.versionMismatch,
      });
    }
    return result;
  }

  /**
   * Reports that no version of `system` is in effect on the request's `date` (its versions state
   * effective periods, none covering it); false when that is not why it was not found.
   */
  reportMissAtDate(path: string, system: string): boolean {
    const miss = this.ctx.missAtDate('CodeSystem', system);
    if (!miss) return false;
    this.findings.add({
      severity: 'error',
      code: 'not-found',
      txType: 'not-found',
      text: VMSG.noVersionOnDate('CodeSystem', miss.url, miss.date, miss.versions),
      expression: addToPath(path, 'system'),
    });
    return true;
  }

  /** Reports an unknown code system (or version) the value set depends on. */
  reportUnknownSystem(path: string, system: string, version: string | undefined): void {
    if (!version && this.reportMissAtDate(path, system)) return;
    if (!version) {
      this.unknownSystems.add(system);
      this.findings.add({
        severity: 'error',
        code: 'not-found',
        txType: 'not-found',
        text: VMSG.unknownSystem(system),
        expression: addToPath(path, 'system'),
        messageId: MSGID.unknownSystem,
        unknownSystem: system,
      });
      return;
    }
    const known = this.knownVersions(system);
    const key = known.length === 0 ? system : `${system}|${version}`;
    if (this.unknownSystems.has(key)) return;
    this.unknownSystems.add(key);
    this.findings.add({
      severity: 'error',
      code: 'not-found',
      txType: 'not-found',
      text: VMSG.unknownSystemVersion(system, version, known),
      expression: addToPath(path, 'system'),
      messageId: known.length === 0 ? MSGID.unknownSystemVersionNone : MSGID.unknownSystemVersion,
      unknownSystem: key,
    });
  }

  // --- concepts -------------------------------------------------------------------------------

  noteStatus(path: string, code: string, idx: CodeSystemIndex, concept: IndexedConcept): void {
    if (this.conceptStatus) return;
    const at = this.ctx.date;
    const inactive = idx.isInactive(concept, at);
    const status =
      idx.status(concept, at) ?? (inactive ? 'inactive' : idx.isDeprecated(concept, at) ? 'deprecated' : undefined);
    this.conceptStatus = { path, code, status, inactive };
  }

  /** Found `code` (spelled `given`) in `rs`: the rules that can still make it fail (abstract, inactive, date). */
  private acceptConcept(
    pvs: PreparedValueSet,
    path: string,
    rs: ResolvedSystem,
    concept: IndexedConcept,
    given: string,
  ): boolean {
    const idx = rs.index;
    if (concept.code !== given) {
      // case-insensitive code systems: the code is valid, the case is not the normal form
      this.normalForm = concept.code;
      this.findings.add({
        severity: 'information',
        code: 'business-rule',
        txType: 'code-rule',
        text: VMSG.caseDifference(given, concept.code, vurl(rs.codeSystem)),
        expression: addToPath(path, 'code'),
        messageId: MSGID.caseDifference,
      });
    }
    if (this.opts.abstractOk === false && idx.isAbstract(concept)) {
      if (!this.opts.membershipOnly) {
        this.findings.add({
          severity: 'error',
          code: 'business-rule',
          txType: 'code-rule',
          text: VMSG.abstractNotAllowed(rs.url, given),
          expression: addToPath(path, 'code'),
          messageId: MSGID.abstractNotAllowed,
        });
      }
      return false;
    }
    // the `date` asked about lies outside the concept's validity: not a valid code on that day
    const at = this.ctx.date;
    if (at !== undefined && concept.validity && idx.validityAt(concept, at) !== 'within') {
      if (!this.opts.membershipOnly) {
        this.findings.add({
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
    if (pvs.excludeInactive && idx.isInactive(concept, at)) {
      this.findings.add({
        severity: 'error',
        code: 'business-rule',
        txType: 'code-rule',
        text: VMSG.notActive(given),
        expression: addToPath(path, 'code'),
        messageId: MSGID.notActive,
      });
      if (!this.opts.membershipOnly) this.noteStatus(path, given, idx, concept);
      return false;
    }
    this.noteStatus(path, given, idx, concept);
    return true;
  }

  /** Whether `code` is in one include of `rs`'s system, reporting what is wrong with it. */
  checkConceptSet(
    pvs: PreparedValueSet,
    path: string,
    rs: ResolvedSystem,
    set: PreparedSet,
    code: string,
    state: CodingState,
  ): boolean {
    const idx = rs.index;
    const concept = idx.find(code);
    // the version a non-member was found in; an unknown code names none (tx-ecosystem permutations)
    if (concept) state.seenVersion = rs.version;
    if (!set.hasConcepts && !set.hasFilters) {
      if (!concept) {
        if (!this.opts.membershipOnly) this.reportUnknownCode(path, rs, code);
        // a fragment does not hold every code: an unknown code may be valid in another fragment
        if (rs.codeSystem.content !== 'fragment') return false;
        this.fragmentAccepted = true;
        return true;
      }
      state.displays.addConcept(rs.codeSystem, concept, designationSources(rs));
      return this.acceptConcept(pvs, path, rs, concept, code);
    }
    if (!concept) return false;
    // the core decides whether the concept list and the filters select the concept
    const selection = set.selects(rs, concept);
    if (!selection) return false;
    state.displays.addConcept(rs.codeSystem, concept, designationSources(rs));
    if (selection.vsConcept) state.displays.addIncludeConcept(selection.vsConcept, pvs.vs);
    if (!this.acceptConcept(pvs, path, rs, concept, code)) return false;
    const listed = selection.vsConcept;
    if (listed) {
      const standards = standardsStatus(listed.extension);
      const deprecated =
        standards === 'withdrawn' || standards === 'deprecated'
          ? standards
          : listed.extension?.some((e) => e?.url === VALUESET_DEPRECATED && e.valueBoolean !== false)
            ? 'deprecated'
            : undefined;
      if (deprecated) {
        this.findings.add({
          severity: 'warning',
          code: 'business-rule',
          txType: 'code-comment',
          text: VMSG.deprecatedInValueSet(rs.url, code, deprecated, pvs.vurl),
          expression: addToPath(path, 'code'),
          messageId: MSGID.deprecatedInValueSet,
          inMessage: false,
        });
      }
    }
    return true;
  }

  /** An unknown code: an error, or a warning in a fragment (the code may be in another fragment). */
  reportUnknownCode(path: string, rs: ResolvedSystem, code: string): void {
    if (rs.codeSystem.content === 'fragment') {
      this.findings.add({
        severity: 'warning',
        code: 'code-invalid',
        txType: 'invalid-code',
        text: VMSG.unknownCodeInFragment(code, rs.url, rs.version),
        expression: addToPath(path, 'code'),
        messageId: MSGID.unknownCodeInFragment,
        inMessage: false,
      });
      return;
    }
    this.findings.add({
      severity: 'error',
      code: 'code-invalid',
      txType: 'invalid-code',
      text: VMSG.unknownCode(code, rs.url, rs.version),
      expression: addToPath(path, 'code'),
      messageId: rs.version ? MSGID.unknownCodeInVersion : MSGID.unknownCode,
    });
    // a compositional code system (CodeSystem.compositional): the code may be an expression this
    // server cannot parse; the IG asks that validation errors say so. Expressions are never
    // accepted, compositional or not: only listed codes are.
    if (rs.codeSystem.compositional === true) {
      this.findings.add({
        severity: 'warning',
        code: 'not-supported',
        txType: 'processing-note',
        text: VMSG.compositionalNotChecked(rs.url),
        expression: addToPath(path, 'code'),
        inMessage: false,
      });
    }
  }

  // --- inferring the system -------------------------------------------------------------------

  /** The code systems a value set draws on (for inferring the system of a bare code). */
  private systemsOf(pvs: PreparedValueSet, out: Set<string>, seen = new Set<PreparedValueSet>()): void {
    if (seen.has(pvs)) return;
    seen.add(pvs);
    for (const set of pvs.includes) {
      if (set.system) out.add(set.system);
      for (const imp of set.imports) this.systemsOf(imp, out, seen);
    }
    if (pvs.expansionOnly) {
      for (const c of pvs.vs.expansion?.contains ?? []) if (typeof c?.system === 'string') out.add(c.system);
    }
  }

  inferSystem(pvs: PreparedValueSet, code: string): string | undefined {
    const systems = new Set<string>();
    this.systemsOf(pvs, systems);
    const matches = [...systems].filter((s) => pvs.contains(s, code));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) {
      this.findings.add({
        severity: 'error',
        code: 'not-found',
        txType: 'cannot-infer',
        text: VMSG.cannotInferSystemMultiple(code, pvs.vurl, matches),
        expression: 'code',
        messageId: MSGID.cannotInferMultiple,
      });
      return undefined;
    }
    // the code is in no include: when the value set draws on a single code system, that is the
    // system the code would have had to come from, and the code is reported against it
    if (systems.size === 1) {
      this.reportSystem = [...systems][0];
      return undefined;
    }
    this.findings.add({
      severity: 'error',
      code: 'not-found',
      txType: 'cannot-infer',
      text: VMSG.cannotInferSystem(code, pvs.vurl),
      expression: 'code',
      messageId: MSGID.cannotInfer,
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
      const rs = this.usable(this.findCodeSystem(system, v));
      const concept = rs?.index.find(code);
      if (!concept) return false;
      if (!display) return true;
      return concept.display === display || concept.designation.some((d) => d?.value === display);
    });
    if (found.length === versions.length) return undefined;
    const newest = (list: string[]) => [...list].sort((a, b) => compareVersions(b, a))[0];
    return found.length > 0 ? newest(found) : newest(versions);
  }

  // --- membership with findings ---------------------------------------------------------------

  /**
   * Whether one coding is in the value set: true, false, or null when that cannot be known
   * (a code system or version the value set depends on is unknown). The core decides; when the
   * coding is a member, its include is checked for what can still make the coding invalid
   * (abstract, a date outside its validity) and what to say (displays, status, case); when it
   * is not, the includes that name its system are walked to say why.
   */
  check(pvs: PreparedValueSet, path: string, coding: Coding, state: CodingState): boolean | null {
    const code = coding.code ?? '';
    let system = coding.system;
    const version = coding.version;
    if (!system) {
      if (!this.opts.inferSystem) {
        this.findings.add({
          severity: 'warning',
          code: 'invalid',
          txType: 'invalid-data',
          text: VMSG.codingHasNoSystem(),
          expression: path || undefined,
          messageId: MSGID.codingNoSystem,
          inMessage: true,
        });
        return false;
      }
      system = this.inferSystem(pvs, code);
      if (!system) return false;
      this.impliedSystem = system;
    }
    if (pvs.expansionOnly) return this.checkExpansion(pvs, path, system, version, code, state);

    let determined: string | undefined;
    if (!version) {
      const pinned = [
        ...new Set(pvs.includes.filter((i) => i.system === system && i.version).map((i) => i.version as string)),
      ];
      if (pinned.length > 1) determined = this.pickApplicableVersion(pinned, system, code, coding.display);
    }
    const hit = (determined ? pvs.member(system, code, determined) : undefined) ?? pvs.member(system, code, version);
    if (hit?.set) return this.reportMember(pvs, path, { ...coding, system }, hit.set, state);

    // not a member: say why, include by include; the answer stays the core's
    const errorsBefore = this.errorCount();
    this.fragmentAccepted = false;
    const walked = this.walkIncludes(pvs, path, coding, system, version, determined, state);
    // true from the walk only where an error already makes the answer false, or where a fragment
    // cannot rule the code out (it may be in another fragment: a warning, not an error)
    if (walked === true) return this.errorCount() > errorsBefore || this.fragmentAccepted;
    return walked;
  }

  private errorCount(): number {
    return this.findings.list.filter((f) => f.severity === 'error').length;
  }

  /** The checks and reports for a member found by the core through include `set`. */
  private reportMember(
    pvs: PreparedValueSet,
    path: string,
    coding: Coding,
    set: PreparedSet,
    state: CodingState,
  ): boolean | null {
    const system = coding.system as string;
    const code = coding.code ?? '';
    if (!set.system) {
      // only value sets: the imports say what there is to say
      for (const imp of set.imports) this.statusOfValueSet(imp.vs, pvs.vs);
      // the core found the code in the first import at the version the coding states (if any)
      return this.check(set.imports[0], path, coding, state);
    }
    const v = this.determineVersion(path, set, coding.version);
    const rs = this.usable(this.findCodeSystem(system, v));
    if (!rs) return false;
    state.defLang = rs.codeSystem.language;
    this.statusOfCodeSystem(rs, pvs.vs);
    this.checkVersionNeeded(path, rs, coding.version);
    let result: boolean | null = this.checkConceptSet(pvs, path, rs, set, code, state);
    if (result) state.version = rs.version;
    // the imports an include with a system intersects are asked about the code in any version (valueset-core.ts)
    const { version: _version, ...versionless } = coding;
    for (const imp of set.imports) {
      this.statusOfValueSet(imp.vs, pvs.vs);
      if (result === true) result = this.check(imp, path, versionless, state);
    }
    return result;
  }

  /** The includes that name the coding's system, checked one by one for the report (tx.fhir.org's order). */
  private walkIncludes(
    pvs: PreparedValueSet,
    path: string,
    coding: Coding,
    system: string,
    version: string | undefined,
    determined: string | undefined,
    state: CodingState,
  ): boolean | null {
    const code = coding.code ?? '';
    const includes = pvs.includes;
    let result: boolean | null = false;
    for (const set of pvs.orderedIncludes()) {
      if (!set.system) {
        result = true;
      } else if (
        set.system === system &&
        (!determined || set.version === determined) &&
        (!version || set.version === version || !includes.some((i) => i.version === version))
      ) {
        const v = this.determineVersion(path, set, version);
        const found = this.findCodeSystem(system, v);
        const rs = this.usable(found);
        if (!rs) {
          if (this.opts.membershipOnly) return false;
          this.reportUnknownSystem(path, system, v);
          return null;
        }
        state.defLang = rs.codeSystem.language;
        this.statusOfCodeSystem(rs, pvs.vs);
        this.checkVersionNeeded(path, rs, version);
        if (isCodeSystemProblem(found) && found.kind === 'version-check') {
          this.findings.add({
            severity: 'error',
            code: 'exception',
            txType: 'version-error',
            text: VMSG.versionCheckFailed(system, rs.version ?? '', found.required ?? ''),
            expression: addToPath(path, 'version'),
            messageId: MSGID.versionCheck,
          });
        }
        result = this.checkConceptSet(pvs, path, rs, set, code, state);
        if (result) state.version = rs.version;
      } else {
        result = false;
      }
      for (const imp of set.imports) {
        this.statusOfValueSet(imp.vs, pvs.vs);
        if (result === true) result = this.check(imp, path, { ...coding, system }, state);
      }
      if (result === true) break;
    }
    return result;
  }

  private checkExpansion(
    pvs: PreparedValueSet,
    path: string,
    system: string,
    version: string | undefined,
    code: string,
    state: CodingState,
  ): boolean | null {
    const hit = pvs.member(system, code, version);
    if (!hit?.contains) return false;
    const wanted = hit.expansionVersion ?? version;
    const rs = this.usable(this.findCodeSystem(system, wanted));
    if (!rs) {
      if (this.opts.membershipOnly) return false;
      this.reportUnknownSystem(path, system, wanted);
      return null;
    }
    state.defLang = rs.codeSystem.language;
    this.statusOfCodeSystem(rs, pvs.vs);
    this.checkVersionNeeded(path, rs, version);
    const concept = rs.index.find(code);
    if (!concept) {
      if (!this.opts.membershipOnly) this.reportUnknownCode(path, rs, code);
      return false;
    }
    state.seenVersion = rs.version;
    state.displays.addConcept(rs.codeSystem, concept, designationSources(rs));
    const ok = this.acceptConcept(pvs, path, rs, concept, code);
    if (ok) state.version = rs.version;
    return ok;
  }

  /** The newest version of `system` the value set pins, used to look up a non-member code. */
  pinnedVersion(pvs: PreparedValueSet, system: string): string | undefined {
    const versions = pvs.includes.filter((i) => i.system === system && i.version).map((i) => i.version as string);
    return versions.sort((a, b) => compareVersions(b, a))[0];
  }

  /** The version a versionless lookup of `system` uses (the version rules applied). */
  defaultVersionOf(system: string): string | undefined {
    return pickSystemVersion(this.ctx, this.core.rules, system, undefined).requested;
  }
}
