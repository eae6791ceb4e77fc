/**
 * The ground of a validation (validate-check.ts builds on it): the options, the findings, and the
 * checks that concern what the answer depends on rather than the coding itself: the status of the
 * value sets and code systems used (deprecated, withdrawn, retired, experimental, draft, out of
 * date) and whether a code system that needs a version was given one.
 */

import type { ValueSet } from '@medplum/fhirtypes';
import { type ResolvedSystem, vurl } from './code-systems.ts';
import { standardsStatus } from './codesystem-index.ts';
import type { TxContext } from './context.ts';
import { outOfDate, outOfDateText } from './currency.ts';
import { MSGID } from './message-ids.ts';
import type { DisplayList, LanguagePrefs } from './validate-displays.ts';
import { addToPath, Findings } from './validate-findings.ts';
import { VMSG } from './validate-messages.ts';
import type { ValueSetCore } from './valueset-core.ts';
import { valueSetCanonical } from './valueset-references.ts';

export type ValidationMode = 'code' | 'coding' | 'codeableConcept';

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
}

/** What was found about one coding while checking it. */
export interface CodingState {
  displays: DisplayList;
  /** version of the code system the code was found in (a member) */
  version?: string;
  /** version of the code system the code was looked up in, member or not */
  seenVersion?: string;
  /** the code system's language: the language of its displays */
  defLang?: string;
}

export interface ConceptStatus {
  path: string;
  code: string;
  status?: string;
  inactive: boolean;
}

export const VALUESET_DEPRECATED = 'http://hl7.org/fhir/StructureDefinition/valueset-deprecated';

interface CanonicalStatus {
  status?: string;
  standards?: string;
  experimental?: boolean;
}

function canonicalStatus(r: ValueSet | ResolvedSystem['codeSystem']): CanonicalStatus {
  return { status: r.status, standards: standardsStatus(r.extension), experimental: r.experimental === true };
}

export class ValidatorBase {
  readonly ctx: TxContext;
  readonly core: ValueSetCore;
  readonly opts: ValidationOptions;
  readonly langs: LanguagePrefs;
  readonly findings = new Findings();
  readonly unknownSystems = new Set<string>();

  constructor(core: ValueSetCore, opts: ValidationOptions, langs: LanguagePrefs) {
    this.ctx = core.ctx;
    this.core = core;
    this.opts = opts;
    this.langs = langs;
  }

  // --- status of what the answer depends on -------------------------------------------------

  /**
   * Reports the status of a resource the answer depends on (tx-ecosystem IG: deprecated,
   * withdrawn or retired resources always; experimental and draft ones when the value set that
   * uses them is not experimental / draft itself). Information, not part of the message.
   */
  checkCanonicalStatus(type: string, canonical: string, resource: CanonicalStatus, source?: CanonicalStatus): void {
    let id: string | undefined;
    let what: string | undefined;
    if (resource.standards === 'deprecated') [id, what] = [MSGID.msgDeprecated, 'deprecated'];
    else if (resource.standards === 'withdrawn') [id, what] = [MSGID.msgWithdrawn, 'withdrawn'];
    else if (resource.status === 'retired') [id, what] = [MSGID.msgRetired, 'retired'];
    else if (source && resource.experimental && !source.experimental)
      [id, what] = [MSGID.msgExperimental, 'experimental'];
    else if (
      source &&
      (resource.status === 'draft' || resource.standards === 'draft') &&
      !(source.status === 'draft' || source.standards === 'draft')
    )
      [id, what] = [MSGID.msgDraft, 'draft'];
    if (!id || !what) return;
    this.findings.add({
      severity: 'information',
      code: 'business-rule',
      txType: 'status-check',
      text: VMSG.statusReference(what, type, canonical),
      messageId: id,
      inMessage: false,
    });
  }

  statusOfValueSet(vs: ValueSet, source?: ValueSet): void {
    this.checkCanonicalStatus(
      'ValueSet',
      valueSetCanonical(vs),
      canonicalStatus(vs),
      source ? canonicalStatus(source) : undefined,
    );
  }

  statusOfCodeSystem(rs: ResolvedSystem, source?: ValueSet): void {
    this.checkCanonicalStatus(
      'CodeSystem',
      vurl(rs.codeSystem),
      canonicalStatus(rs.codeSystem),
      source ? canonicalStatus(source) : undefined,
    );
    // the newest data ended before the day asked: the answer may be out of date (currency.ts)
    const stale = outOfDate(this.ctx, rs.codeSystem);
    if (stale) {
      this.findings.add({
        severity: 'warning',
        code: 'business-rule',
        txType: 'status-check',
        text: outOfDateText(stale),
        inMessage: true,
      });
    }
  }

  /**
   * CodeSystem.versionNeeded: a code system whose codes change meaning between versions must be
   * named with its version (R4: "a version must be specified when referencing this code system";
   * tx-ecosystem IG requirements: $validate-code "SHALL check that version is populated, and
   * return an error if it's not"). A version a value set pins does not count: the coding is the
   * reference, and it is read without the value set.
   */
  checkVersionNeeded(path: string, rs: ResolvedSystem, codingVersion: string | undefined): void {
    if (codingVersion || rs.codeSystem.versionNeeded !== true) return;
    this.findings.add({
      severity: 'error',
      code: 'required',
      txType: 'version-error',
      text: VMSG.versionNeeded(rs.codeSystem.url ?? ''),
      expression: addToPath(path, 'version'),
    });
  }
}
