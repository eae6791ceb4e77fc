import type { CodeSystem } from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { indexCodeSystem } from './codesystem-index.ts';
import type { TxContext } from './context.ts';
import { findConcept, targetCodeSystem } from './lookup.ts';
import { MSG } from './operation-messages.ts';

/**
 * CodeSystem $subsumes (http://hl7.org/fhir/R4/codesystem-operation-subsumes.html): how codeA
 * relates to codeB in the code system's is-a hierarchy.
 */
export type SubsumptionOutcome = 'equivalent' | 'subsumes' | 'subsumed-by' | 'not-subsumed';

export interface SubsumesInput {
  codeA: string;
  codeB: string;
  system?: string;
  version?: string;
  /** the resource addressed by an instance-level call */
  codeSystem?: CodeSystem;
}

export interface SubsumesResult {
  outcome: SubsumptionOutcome;
  system: string;
  version?: string;
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
  const cs = targetCodeSystem(ctx, input, '$subsumes');
  const idx = indexCodeSystem(cs);
  const a = findConcept(idx, input.codeA, 'codeA');
  const b = findConcept(idx, input.codeB, 'codeB');
  const base = { system: cs.url ?? '', ...(cs.version !== undefined ? { version: cs.version } : {}) };
  if (a.code === b.code) return { outcome: 'equivalent', ...base };
  if (!hierarchyIsSubsumption(cs)) {
    throw new OperationOutcomeError(422, [
      makeIssue({
        code: 'not-supported',
        text: MSG.notAHierarchy(cs.url ?? '', cs.hierarchyMeaning ?? ''),
        txIssueType: 'not-supported',
      }),
    ]);
  }
  if (idx.ancestors(b.code).includes(a.code)) return { outcome: 'subsumes', ...base };
  if (idx.ancestors(a.code).includes(b.code)) return { outcome: 'subsumed-by', ...base };
  return { outcome: 'not-subsumed', ...base };
}
