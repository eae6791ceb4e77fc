import type { CodeSystem } from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { type CodeSystemIndex, type IndexedConcept, indexCodeSystem } from './codesystem-index.ts';
import type { TxContext } from './context.ts';
import { MSG } from './operation-messages.ts';

/**
 * CodeSystem $subsumes (http://hl7.org/fhir/R4/codesystem-operation-subsumes.html): how codeA
 * relates to codeB in the code system's is-a hierarchy, stated by nesting or by properties with
 * the `http://hl7.org/fhir/concept-properties#parent` / `#child` URIs (THO's `subsumedBy`), where a
 * concept may have several parents.
 *
 * The operation has no outcome for "unknown", so where the server cannot determine the
 * relationship (a hierarchy that does not mean is-a, a code system that is not complete) it
 * answers with an error whose tx-issue-type is `cannot-determine` rather than claim
 * `not-subsumed` (tx-ecosystem IG history, 1.9.4). Request errors are 400 `invalid` with
 * tx-issue-type `invalid-data` and the SUBSUMPTION_* message ids (1.9.5).
 */
export type SubsumptionOutcome = 'equivalent' | 'subsumes' | 'subsumed-by' | 'not-subsumed';

export interface SubsumesInput {
  codeA: string;
  codeB: string;
  system?: string;
  version?: string;
  /** the resource addressed by an instance-level call */
  codeSystem?: CodeSystem;
  /** the parameters the two codes came from (`codeA`/`codeB` or `codingA`/`codingB`), for messages */
  paths?: { a: string; b: string };
}

export interface SubsumesResult {
  outcome: SubsumptionOutcome;
  system: string;
  version?: string;
}

const TX_CANNOT_DETERMINE = 'cannot-determine';

/** A request error: 400 `invalid`, tx-issue-type `invalid-data`, with its SUBSUMPTION_* message id. */
export function subsumptionRequestError(text: string, messageId: string, expression: string): OperationOutcomeError {
  return new OperationOutcomeError(400, [
    makeIssue({ code: 'invalid', text, txIssueType: 'invalid-data', messageId, expression }),
  ]);
}

function cannotDetermine(text: string, messageId: string): OperationOutcomeError {
  return new OperationOutcomeError(422, [
    makeIssue({ code: 'not-supported', text, txIssueType: TX_CANNOT_DETERMINE, messageId }),
  ]);
}

function vurl(cs: CodeSystem): string {
  return cs.version ? `${cs.url}|${cs.version}` : (cs.url ?? '');
}

/** The code system to test in: the instance, else the one `system` (and `version`) names. */
function subsumptionCodeSystem(ctx: TxContext, input: SubsumesInput): CodeSystem {
  if (input.codeSystem) return input.codeSystem;
  const pathA = input.paths?.a ?? 'codeA';
  if (!input.system) throw subsumptionRequestError(MSG.subsumptionNoSystem(pathA), 'SUBSUMPTION_NO_SYSTEM', pathA);
  const cs = ctx.codeSystem(input.system, input.version);
  if (!cs) {
    throw new OperationOutcomeError(404, [
      makeIssue({
        code: 'not-found',
        text: MSG.subsumptionSystemNotFound(input.system, input.version),
        txIssueType: 'not-found',
        messageId: input.version === undefined ? 'SUBSUMPTION_CS_NOT_FOUND' : 'SUBSUMPTION_CS_NOT_FOUND_VERSION',
      }),
    ]);
  }
  if (cs.content === 'supplement') {
    throw new OperationOutcomeError(400, [
      makeIssue({
        code: 'invalid',
        text: MSG.supplementAsSystem(vurl(cs)),
        txIssueType: 'invalid-data',
        messageId: 'CODESYSTEM_CS_NO_SUPPLEMENT',
      }),
    ]);
  }
  return cs;
}

/** The concept for a code (case-insensitively where the code system says so), or the 404 for an unknown code. */
function subsumptionConcept(idx: CodeSystemIndex, code: string, path: string): IndexedConcept {
  const concept = idx.find(code);
  if (concept) return concept;
  const fragment = idx.resource.content === 'fragment';
  const text = fragment
    ? MSG.unknownCodeInFragment(code, idx.url ?? '', idx.version)
    : MSG.unknownCode(code, idx.url ?? '', idx.version);
  const messageId = fragment
    ? 'UNKNOWN_CODE_IN_FRAGMENT'
    : idx.version === undefined
      ? 'Unknown_Code_in'
      : 'Unknown_Code_in_Version';
  throw new OperationOutcomeError(404, [
    makeIssue({ code: 'code-invalid', text, txIssueType: 'invalid-code', messageId, expression: path }),
  ]);
}

/**
 * Hierarchies that express subsumption. `hierarchyMeaning` absent is read as is-a, as the
 * reference servers do; part-of, grouped-by and classified-with nesting is not subsumption
 * (http://hl7.org/fhir/R4/valueset-codesystem-hierarchy-meaning.html).
 */
function hierarchyIsSubsumption(cs: CodeSystem): boolean {
  return cs.hierarchyMeaning === undefined || cs.hierarchyMeaning === 'is-a';
}

export function subsumes(ctx: TxContext, input: SubsumesInput): SubsumesResult {
  const paths = input.paths ?? { a: 'codeA', b: 'codeB' };
  const cs = subsumptionCodeSystem(ctx, input);
  const base = { system: cs.url ?? '', ...(cs.version !== undefined ? { version: cs.version } : {}) };
  const content = cs.content ?? 'complete';
  // a code system without its concepts cannot tell anything about them
  if (content === 'not-present') {
    throw cannotDetermine(MSG.subsumptionNotComplete(vurl(cs), content), 'SUBSUMPTION_CS_NOT_COMPLETE');
  }
  const idx = indexCodeSystem(cs);
  const a = subsumptionConcept(idx, input.codeA, paths.a);
  const b = subsumptionConcept(idx, input.codeB, paths.b);
  if (a.code === b.code) return { outcome: 'equivalent', ...base };
  if (!hierarchyIsSubsumption(cs)) {
    throw cannotDetermine(
      MSG.subsumptionHierarchyMeaning(vurl(cs), cs.hierarchyMeaning ?? ''),
      'SUBSUMPTION_CS_HIERARCHY_MEANING',
    );
  }
  if (idx.ancestors(b.code).includes(a.code)) return { outcome: 'subsumes', ...base };
  if (idx.ancestors(a.code).includes(b.code)) return { outcome: 'subsumed-by', ...base };
  // a fragment or an example may leave out the concepts that relate the two: "not subsumed"
  // would be a guess (a wrong answer is worse than no answer)
  if (content !== 'complete') {
    throw cannotDetermine(MSG.subsumptionNotComplete(vurl(cs), content), 'SUBSUMPTION_CS_NOT_COMPLETE');
  }
  return { outcome: 'not-subsumed', ...base };
}
