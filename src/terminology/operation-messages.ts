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

  notAHierarchy: (system: string, meaning: string): string =>
    `Subsumption cannot be tested in the CodeSystem '${system}': its hierarchy means '${meaning}', not 'is-a'`,

  unknownConceptMap: (url: string, version: string | undefined): string =>
    version === undefined
      ? `A definition for the ConceptMap '${url}' could not be found`
      : `A definition for the ConceptMap '${url}' version '${version}' could not be found`,

  translateMissingInput: (): string =>
    'Unable to translate: provide sourceCode and system, sourceCoding, sourceCodeableConcept, ' +
    'targetCode and targetSystem, targetCoding or targetCodeableConcept (R4: code and system, coding or codeableConcept)',

  translateTooManyInputs: (names: readonly string[]): string =>
    `Unable to translate: only one of ${names.join(', ')} may be given`,

  translateNoMaps: (system: string, code: string): string =>
    `No ConceptMap is known that maps the code '${system}#${code}'`,

  translateNoMatch: (system: string, code: string): string => `No translation found for the code '${system}#${code}'`,

  translateOnlyNegative: (system: string, code: string): string =>
    `The code '${system}#${code}' is mapped, but only to say that it has no equivalent`,
} as const;
