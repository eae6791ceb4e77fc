/**
 * Message texts of $validate-code and $batch-validate-code, in one place.
 *
 * The HL7 terminology ecosystem tests compare these texts exactly, so the wording is that of the
 * expected response files (and, for the `$external$` ones, of tx.fhir.org, whose texts come from
 * the FHIR validator's message bundle). The comment on each template names the message id the
 * reference servers use for it, so a reader can find the same message in their logs.
 */
import { type DaySpan, presentSpan } from './validity.ts';

/** `a`, `a or b`, `a, b and c`: how the reference servers list known versions. */
export function presentVersionList(versions: readonly string[]): string {
  if (versions.length <= 1) return versions[0] ?? '';
  if (versions.length === 2) return `${versions[0]} or ${versions[1]}`;
  return `${versions.slice(0, -1).join(', ')} and ${versions[versions.length - 1]}`;
}

/** `'a' (en)`, `'a' (en) or 'b' (de)`, `'a' (en), 'b' (de) or 'c' (fr)`: valid displays in a message. */
export function presentDisplays(displays: readonly { value: string; language?: string }[]): string {
  const items = displays.map((d) => (d.language ? `'${d.value}' (${d.language})` : `'${d.value}'`));
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** A coding as the not-in-value-set messages show it: `system|version#code ('display')`. */
export function presentCoding(system: string | undefined, version: string | undefined, code: string, display?: string) {
  const head = `${system ?? ''}${version ? `|${version}` : ''}#${code}`;
  return display ? `${head} ('${display}')` : head;
}

/** `2019-07-01 through 2020-07-05`, `from 2023-07-01`, `through 2020-02-29`: a period in a list. */
function presentPeriod(span: DaySpan): string {
  if (span.start !== undefined && span.end !== undefined) return `${span.start} through ${span.end}`;
  return presentSpan(span);
}

export const VMSG = {
  // --- the value set -------------------------------------------------------------------------

  /** Unable_to_resolve_value_Set_ */
  valueSetNotFound: (canonical: string): string => `A definition for the value Set '${canonical}' could not be found`,

  /** VALUESET_CIRCULAR_REFERENCE */
  valueSetCircular: (canonical: string, pathway: readonly string[]): string =>
    `Found a circularity pointing to ${canonical} processing ValueSet with pathway [${pathway.join(', ')}]`,

  /** UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE */
  filterWithoutValue: (system: string, property: string, op: string): string =>
    `The system ${system} filter with property = ${property}, op = ${op} has no value`,

  /** FILTER_NOT_UNDERSTOOD */
  filterNotUnderstood: (property: string, op: string, value: string): string =>
    `The filter "${property} ${op} ${value}" is not understood or supported`,

  /** VALUESET_SUPPLEMENT_MISSING (_one / _other) */
  supplementMissing: (canonicals: readonly string[]): string =>
    canonicals.length === 1
      ? `Required supplement not found: ${canonicals[0]}`
      : `Required supplements not found: ${canonicals.join(',')}`,

  noValueSet: (): string => 'No ValueSet specified - provide url parameter or valueSet resource',

  noCodeToValidate: (): string =>
    'Unable to find code to validate (looked for coding | codeableConcept | code+system | code+inferSystem in parameters',

  noCodeSystem: (): string => 'No CodeSystem specified - provide url parameter or codeSystem resource',

  /** not-in-value-set summary for a code or Coding (None_of_the_provided_codes_are_in_the_value_set_one) */
  notInValueSet: (codings: readonly string[], valueSet: string): string =>
    codings.length === 1
      ? `The provided code '${codings[0]}' was not found in the value set '${valueSet}'`
      : `None of the provided codes [${codings.map((c) => `'${c}'`).join(', ')}] are in the value set '${valueSet}'`,

  /** not-in-value-set summary for a CodeableConcept (TX_GENERAL_CC_ERROR_MESSAGE) */
  noValidCoding: (valueSet: string): string => `No valid coding was found for the value set '${valueSet}'`,

  // --- the system ----------------------------------------------------------------------------

  /** Coding_has_no_system__cannot_validate */
  codingHasNoSystem: (): string =>
    'Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided',

  /** Coding_has_no_system_or_code__cannot_validate */
  codingHasNothing: (): string =>
    'Coding has neither a system nor a code, so it cannot be validated. A system and a code should be provided',

  /** CodeSystem.compositional, grammar unknown (tx-ecosystem IG, requirements) */
  compositionalNotChecked: (system: string): string =>
    `The code system '${system}' is compositional (codes may be expressions of other codes), but this server does not know its grammar: only the codes the code system lists are recognised`,

  /** CodeSystem.versionNeeded (tx-ecosystem IG, requirements: "check that version is populated") */
  versionNeeded: (system: string): string =>
    `The code system '${system}' says that a version is needed to interpret its codes (versionNeeded), but the coding has no version`,

  codingHasNoCode: (system: string | undefined): string =>
    system
      ? `Coding has no code for system ${system} and cannot be validated`
      : 'Coding has no code and cannot be validated',

  /** UNABLE_TO_INFER_CODESYSTEM */
  cannotInferSystem: (code: string, valueSet: string): string =>
    `The System URI could not be determined for the code '${code}' in the ValueSet '${valueSet}'`,

  /** Unable_to_resolve_system__value_set_has_multiple_matches (the systems as a bracketed list) */
  cannotInferSystemMultiple: (code: string, valueSet: string, systems: readonly string[]): string =>
    `The System URI could not be determined for the code '${code}' in the ValueSet '${valueSet}': value set expansion has multiple matches: [${systems.join(', ')}]`,

  /** Terminology_TX_System_Relative */
  systemRelative: (): string => 'Coding.system must be an absolute reference, not a local reference',

  /** Terminology_TX_System_ValueSet2 */
  systemIsValueSet: (system: string): string => `The Coding references a value set, not a code system ('${system}')`,

  /** CODESYSTEM_CS_NO_SUPPLEMENT: the system as the coding gives it */
  systemIsSupplement: (system: string): string =>
    `CodeSystem ${system} is a supplement, so can't be used as a value in Coding.system`,

  /**
   * UNKNOWN_CODESYSTEM. The system is quoted when the value set depends on it, and named bare when
   * a code from a system outside the value set is looked up for the report (as the tx-ecosystem
   * tests of this release have it: errors-unknown-system2, validation-simple-coding-bad-system).
   */
  unknownSystem: (system: string): string =>
    `A definition for CodeSystem '${system}' could not be found, so the code cannot be validated`,
  unknownSystemOutsideValueSet: (system: string): string =>
    `A definition for CodeSystem ${system} could not be found, so the code cannot be validated`,

  /** UNKNOWN_CODESYSTEM_VERSION / UNKNOWN_CODESYSTEM_VERSION_NONE */
  unknownSystemVersion: (system: string, version: string, known: readonly string[]): string =>
    known.length > 0
      ? `A definition for CodeSystem '${system}' version '${version}' could not be found, so the code cannot be validated. Valid versions: ${presentVersionList(known)}`
      : `A definition for CodeSystem '${system}' version '${version}' could not be found, so the code cannot be validated. No versions of this code system are known`,

  /** UNKNOWN_CODESYSTEM_CODING_NOT_CHECKED */
  unknownSystemNotChecked: (canonical: string): string =>
    `A definition for the code system '${canonical}' could not be found, so this coding was not checked. The CodeableConcept is still valid: another coding is in the value set`,

  // --- dates (the `date` parameter; validity.ts) ----------------------------------------------

  /** no reference server message: the versions of a canonical state effective periods, none covering the date */
  noVersionOnDate: (
    type: string,
    url: string,
    date: string,
    versions: readonly { version?: string; period: DaySpan }[],
  ): string =>
    `No version of the ${type} '${url}' is in effect on ${date}; its versions are in effect ${presentVersionList(
      versions.map((v) => `${presentPeriod(v.period)} (version ${v.version ?? '(none)'})`),
    )}`,

  /** no reference server message: the concept's validity properties exclude the date */
  notValidOnDate: (code: string, validity: DaySpan, date: string): string =>
    `The concept '${code}' is valid ${presentSpan(validity)}, not on ${date}`,

  // --- versions ------------------------------------------------------------------------------

  /** VALUESET_VALUE_MISMATCH */
  versionMismatch: (system: string, vsVersion: string, codingVersion: string): string =>
    `The code system '${system}' version '${vsVersion}' in the ValueSet include is different to the one in the value ('${codingVersion}')`,

  /** VALUESET_VALUE_MISMATCH_CHANGED */
  versionMismatchChanged: (system: string, used: string, vsVersion: string, codingVersion: string): string =>
    `The code system '${system}' version '${used}' resulting from the version '${vsVersion}' in the ValueSet include is different to the one in the value ('${codingVersion}')`,

  /** VALUESET_VALUE_MISMATCH_DEFAULT */
  versionMismatchDefault: (system: string, used: string, codingVersion: string): string =>
    `The code system '${system}' version '${used}' for the versionless include in the ValueSet include is different to the one in the value ('${codingVersion}')`,

  /** VALUESET_VERSION_CHECK */
  versionCheckFailed: (system: string, version: string, required: string): string =>
    `The version '${version}' is not allowed for system '${system}': required to be '${required}' by a version-check parameter`,

  // --- the code ------------------------------------------------------------------------------

  /** Unknown_Code_in_Version / Unknown_Code_in */
  unknownCode: (code: string, system: string, version: string | undefined): string =>
    version
      ? `Unknown code '${code}' in the CodeSystem '${system}' version '${version}'`
      : `Unknown code '${code}' in the CodeSystem '${system}'`,

  /** UNKNOWN_CODE_IN_FRAGMENT */
  unknownCodeInFragment: (code: string, system: string, version: string | undefined): string =>
    `Unknown Code '${code}' in the CodeSystem '${system}' version '${version ?? ''}' - note that the code system is labeled as a fragment, so the code may be valid in some other fragment`,

  /** ABSTRACT_CODE_NOT_ALLOWED */
  abstractNotAllowed: (system: string, code: string): string =>
    `Code '${system}#${code}' is abstract, and not allowed in this context`,

  /** STATUS_CODE_WARNING_CODE */
  notActive: (code: string): string => `The concept '${code}' is valid but is not active`,

  /** INACTIVE_CONCEPT_FOUND / INACTIVE_CONCEPT_FOUND_ADD */
  inactiveConcept: (code: string, status: string): string =>
    status === 'inactive'
      ? `The concept '${code}' has a status of inactive and its use should be reviewed`
      : `The concept '${code}' has a status of ${status} and inactive and its use should be reviewed`,

  /** DEPRECATED_CONCEPT_FOUND */
  deprecatedConcept: (code: string): string => `The concept '${code}' is deprecated and its use should be reviewed`,

  /** CONCEPT_DEPRECATED_IN_VALUESET */
  deprecatedInValueSet: (system: string, code: string, status: string, valueSet: string): string =>
    `The presence of the concept '${code}' in the system '${system}' in the value set ${valueSet} is marked with a status of ${status} and its use should be reviewed`,

  /** CODE_CASE_DIFFERENCE */
  caseDifference: (code: string, correct: string, system: string): string =>
    `The code '${code}' differs from the correct code '${correct}' by case. Although the code system '${system}' is case insensitive, implementers are strongly encouraged to use the correct case anyway`,

  // --- the display ---------------------------------------------------------------------------

  /** Display_Name_for__should_be_one_of__instead_of (_one / _other), and the _WS_ variant */
  wrongDisplay: (
    display: string,
    system: string,
    code: string,
    valid: readonly { value: string; language?: string }[],
    languages: string,
    whitespaceOnly: boolean,
  ): string => {
    const head = whitespaceOnly ? 'Wrong whitespace in Display Name' : 'Wrong Display Name';
    const choices =
      valid.length === 1
        ? `Valid display is ${presentDisplays(valid)}`
        : `Valid display is one of ${valid.length} choices: ${presentDisplays(valid)}`;
    return `${head} '${display}' for ${system}#${code}. ${choices} (for the language(s) '${languages}')`;
  },

  /** NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK */
  displayOkForDefaultLanguage: (
    display: string,
    system: string,
    code: string,
    languages: string,
    isDefaultDisplay: boolean,
  ): string =>
    `There are no valid display names found for the code ${system}#${code} for language(s) '${languages}'. The display is '${display}' which ${isDefaultDisplay ? 'is the default language display' : 'is a valid display for the default language'}`,

  /** NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR */
  wrongDisplayNoneForLanguage: (
    display: string,
    system: string,
    code: string,
    languages: string,
    defaultDisplay: string,
  ): string =>
    `Wrong Display Name '${display}' for ${system}#${code}. There are no valid display names found for language(s) '${languages}'. Default display is '${defaultDisplay}'`,

  /** INACTIVE_DISPLAY_FOUND */
  inactiveDisplay: (display: string, code: string, current: readonly string[], status: string): string =>
    `'${display}' is no longer considered a correct display for code '${code}' (status = ${status}).${current.length > 0 ? ` The correct display is one of ${current.map((d) => `"${d}"`).join(', ')}.` : ''}`,

  // --- the status of what the answer depends on ----------------------------------------------

  /** MSG_DEPRECATED / MSG_WITHDRAWN / MSG_RETIRED / MSG_EXPERIMENTAL / MSG_DRAFT */
  statusReference: (status: string, type: string, canonical: string): string =>
    `Reference to ${status} ${type} ${canonical}`,

  /** NO_VALID_DISPLAY_AT_ALL */
  noDisplayKnown: (display: string, system: string, code: string, languages: string): string =>
    `Cannot validate display '${display}' for ${system}#${code} in language ${languages}: No displays are known`,
};
