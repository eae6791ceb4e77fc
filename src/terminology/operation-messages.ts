/**
 * Message texts of $lookup, $subsumes and $translate, in one place. The wording follows the
 * texts the HL7 terminology ecosystem tests expect (and tx.fhir.org gives) where a test shows
 * one; the others are written in the same style.
 */

function quoteList(values: readonly string[]): string {
  return values.join(' or ');
}

export const MSG = {
  /** tx-ecosystem parameters/parameters-lookup-supplement-bad-response.json (VALUESET_SUPPLEMENT_MISSING) */
  supplementMissing: (canonicals: readonly string[]): string =>
    `Required supplement not found: ${canonicals.join(',')}`,

  supplementWrongTarget: (supplement: string, system: string): string =>
    `The supplement ${supplement} does not apply to the CodeSystem ${system}`,

  /** as validation/*-response files word an unknown code system version */
  unknownCodeSystem: (system: string, version: string | undefined, known: readonly string[]): string => {
    const head =
      version === undefined
        ? `A definition for CodeSystem '${system}' could not be found`
        : `A definition for CodeSystem '${system}' version '${version}' could not be found`;
    return known.length > 0 ? `${head}. Valid versions: ${quoteList(known)}` : head;
  },

  /** validation/simple-code-bad-code-response-parameters.json */
  unknownCode: (code: string, system: string, version: string | undefined): string =>
    version === undefined
      ? `Unknown code '${code}' in the CodeSystem '${system}'`
      : `Unknown code '${code}' in the CodeSystem '${system}' version '${version}'`,

  supplementAsSystem: (system: string): string =>
    `CodeSystem ${system} is a supplement, so it cannot be used as a code system`,

  missingCode: (operation: string, alternatives: string): string =>
    `Unable to perform ${operation}: no code given (provide ${alternatives})`,

  missingSystem: (operation: string): string => `Unable to perform ${operation}: no system given`,

  codingWithoutCode: (param: string): string => `The Coding in parameter '${param}' has no code`,

  systemMismatch: (param: string, found: string, expected: string): string =>
    `The system '${found}' in parameter '${param}' does not match the system '${expected}'`,

  versionMismatch: (param: string, found: string, expected: string): string =>
    `The version '${found}' in parameter '${param}' does not match the version '${expected}'`,

  // $subsumes: the texts of the SUBSUMPTION_* message ids of the FHIR validator's message bundle,
  // which tx.fhir.org shares (HealthIntersections/FHIRsmith translations/Messages.properties)

  /** SUBSUMPTION_NO_SYSTEM */
  subsumptionNoSystem: (param: string): string =>
    `No code system is provided for ${param}, so subsumption cannot be tested`,

  /** SUBSUMPTION_NO_CODE */
  subsumptionNoCode: (param: string): string => `No code is provided for ${param}, so subsumption cannot be tested`,

  /** SUBSUMPTION_NO_CODING */
  subsumptionNoCoding: (param: string): string => `No value is provided for ${param}, so subsumption cannot be tested`,

  /** SUBSUMPTION_SYSTEM_MISMATCH */
  subsumptionSystemMismatch: (a: string, b: string): string =>
    `Subsumption can only be tested between two codes in the same code system, but the code systems are '${a}' and '${b}'`,

  /** SUBSUMPTION_VERSION_MISMATCH */
  subsumptionVersionMismatch: (system: string, a: string, b: string): string =>
    `Subsumption can only be tested between two codes in the same version of '${system}', but the versions are '${a}' and '${b}'`,

  /** SUBSUMPTION_CS_NOT_FOUND, SUBSUMPTION_CS_NOT_FOUND_VERSION */
  subsumptionSystemNotFound: (system: string, version: string | undefined): string =>
    version === undefined
      ? `A definition for the CodeSystem '${system}' could not be found, so subsumption cannot be tested`
      : `A definition for the CodeSystem '${system}' version '${version}' could not be found, so subsumption cannot be tested`,

  /** SUBSUMPTION_CS_NOT_COMPLETE */
  subsumptionNotComplete: (system: string, content: string): string =>
    `The CodeSystem '${system}' has content = ${content}, so subsumption cannot be tested (subsumption can only be tested against a code system with content = complete)`,

  /** SUBSUMPTION_CS_HIERARCHY_MEANING */
  subsumptionHierarchyMeaning: (system: string, meaning: string): string =>
    `The CodeSystem '${system}' has hierarchyMeaning = ${meaning}, so its hierarchy does not describe subsumption, and subsumption cannot be tested`,

  /** UNKNOWN_CODE_IN_FRAGMENT */
  unknownCodeInFragment: (code: string, system: string, version: string | undefined): string =>
    `Unknown Code '${code}' in the CodeSystem '${system}' version '${version ?? ''}' - note that the code system is labeled as a fragment, so the code may be valid in some other fragment`,

  // $lookup: the texts tx.fhir.org gives for a request it cannot perform (FHIRsmith tx/workers/lookup.js)

  lookupNoInput: (): string => 'Must provide either coding parameter, or system and code parameters',

  lookupNoInstanceCode: (): string => 'Must provide code parameter or coding parameter with code',

  lookupCodingWithoutSystem: (): string => 'Coding parameter must include a system',

  lookupCodingWithoutCode: (): string => 'Coding parameter must include a code',

  // $translate: the texts tx.fhir.org gives (FHIRsmith tx/workers/translate.js)

  conceptMapNotFound: (url: string, version: string | undefined): string =>
    version === undefined ? `ConceptMap not found: ${url}` : `ConceptMap not found: ${url} version ${version}`,

  translateMissingInput: (): string =>
    'Must provide sourceCode+(source)system, sourceCoding, or sourceCodeableConcept, or targetCode+targetSystem), ' +
    'targetCoding, or targetCodeableConcept',

  translateMissingSystem: (): string => 'system parameter is required when using code/sourceCode',

  translateMissingTargetSystem: (): string => 'targetSystem parameter is required when using targetCode',

  translateEmptyCodeableConcept: (param: string): string => `${param} must contain at least one coding`,

  translateReverseWithTarget: (): string =>
    "The 'reverse' parameter cannot be combined with targetCode, targetCoding or targetCodeableConcept",

  translateNothingFound: (): string => 'No translations found',

  translateNoMap: (from: string, to: string): string =>
    `No ConceptMap is available to translate from '${from}' to '${to}'`,

  translateNoMapInScope: (from: string, to: string, coding: string): string =>
    `No ConceptMap that translates from '${from}' to '${to}' has '${coding}' in scope`,

  translateNotInScope: (coding: string, valueSet: string): string =>
    `'${coding}' is not in the value set '${valueSet}', so no ConceptMap can translate it`,

  translateScopeNotFound: (valueSet: string, why: string): string =>
    `The value set '${valueSet}', which is the ${why}, could not be found, so the scope of the translation cannot be determined`,

  translateOtherMapNotFound: (otherMap: string): string =>
    `The ConceptMap ${otherMap} named in group.unmapped.otherMap was not found`,

  translateCircularOtherMap: (map: string, other: string, writtenAs: string): string =>
    `ConceptMap ${map} has a circular group.unmapped.otherMap reference to ${other}` +
    (writtenAs === other ? '' : ` (referenced as ${writtenAs})`),

  translateUnmappedValueSet: (map: string): string =>
    `ConceptMap ${map} uses group.unmapped.valueSet, which this server does not support`,

  translateUnknownUnmappedMode: (map: string, mode: string): string =>
    `ConceptMap ${map} uses an unknown group.unmapped.mode '${mode}'`,
} as const;
