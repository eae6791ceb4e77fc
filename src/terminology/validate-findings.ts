import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { type IssueCode, makeIssue } from '../http/outcome.ts';
import { flatString } from './fast-json.ts';

/**
 * What a $validate-code finds, as it finds it: each finding becomes an `issues` entry
 * (OperationOutcome.issue with a tx-issue-type coding, `expression` and a message id), and the
 * findings that belong in the summary `message` are joined into it (tx-ecosystem IG,
 * "$validate-code parameters": errors and warnings itemised with paths; a message when
 * result = false).
 */

export type Severity = 'error' | 'warning' | 'information';

export interface Finding {
  severity: Severity;
  code: IssueCode;
  /** tx-issue-type code (http://hl7.org/fhir/tools/CodeSystem/tx-issue-type) */
  txType: string;
  text: string;
  expression?: string;
  /** the operationoutcome-message-id (MSGID) */
  messageId?: string;
  /** part of the summary `message` (errors always are) */
  inMessage: boolean;
  /** an unknown code system, which a valid CodeableConcept downgrades to a warning */
  unknownSystem?: string;
}

export type FindingInit = Omit<Finding, 'inMessage'> & { inMessage?: boolean };

export class Findings {
  readonly list: Finding[] = [];

  /** Adds a finding unless the same one (severity, code, expression, text) is there already. */
  add(f: FindingInit): Finding {
    const finding: Finding = { ...f, inMessage: f.inMessage ?? f.severity === 'error' };
    const same = this.list.find(
      (x) =>
        x.severity === finding.severity &&
        x.code === finding.code &&
        x.expression === finding.expression &&
        x.text === finding.text,
    );
    if (same) return same;
    this.list.push(finding);
    return finding;
  }

  hasErrors(): boolean {
    return this.list.some((f) => f.severity === 'error');
  }

  /** The summary message: every error and every finding that belongs in it, sorted, `; `-joined. */
  summary(): string | undefined {
    const texts: string[] = [];
    for (const f of this.list)
      if ((f.inMessage || f.severity === 'error') && !texts.includes(f.text)) texts.push(f.text);
    if (texts.length === 0) return undefined;
    return flatString(texts.sort().join('; '));
  }

  issues(): OperationOutcomeIssue[] {
    return this.list.map(toIssue);
  }
}

export function toIssue(f: Finding): OperationOutcomeIssue {
  return makeIssue({
    severity: f.severity,
    code: f.code,
    text: f.text,
    txIssueType: f.txType,
    expression: f.expression,
    messageId: f.messageId,
  });
}

/** `path.name`, or `name` at the top. */
export function addToPath(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}
