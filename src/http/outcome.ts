import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { flagValue } from '../config-readers.ts';
import { flatString } from '../terminology/fast-json.ts';

/** tx-issue-type codes used by the HL7 terminology ecosystem (http://hl7.org/fhir/tools/CodeSystem/tx-issue-type). */
export const TX_ISSUE_TYPE = 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type';

export type IssueSeverity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];

export interface IssueInit {
  severity?: IssueSeverity;
  code: IssueCode;
  text: string;
  /** tx-issue-type code, e.g. `invalid-code`, `not-found`, `vs-invalid`. */
  txIssueType?: string;
  expression?: string | string[];
  /** operationoutcome-message-id extension value. */
  messageId?: string;
}

/**
 * Whether issues also carry `location` beside `expression` (ISSUE_LOCATION, default false).
 * `location` is deprecated in R4 ("use expression instead"); the reference terminology server no
 * longer sends it, and issue 8 asks for `expression` alone. Clients (and the tx-ecosystem expected
 * files of that time) made against a server that still sent it can have it back with
 * ISSUE_LOCATION=true. Read once, when this module is first loaded, so that every answer and every
 * worker thread agree; src/config.ts checks the setting and stops start-up with a message when it
 * is not a flag, or when a value given only to loadConfig could not take effect.
 */
export const ISSUE_LOCATION = flagValue(process.env.ISSUE_LOCATION) === true;

/**
 * The tx-issue-type of an issue that names none, by its issue type. The tx-ecosystem IG requires a
 * tx-issue-type coding on every issue (requirements: "details.coding ... SHALL be taken from
 * tx-issue-type"; the tests since 1.9.4 expect one on too-costly and not-supported issues too), and
 * an explicit code is always better: this covers the rest. Issue types with no counterpart here
 * (transient, too-long, security, ...) are about the HTTP exchange, not the terminology, and an
 * internal error (exception) is about the server, not the data sent: they get none.
 */
const DEFAULT_TX_ISSUE_TYPE: Partial<Record<NonNullable<IssueCode>, string>> = {
  'not-found': 'not-found',
  'code-invalid': 'invalid-code',
  invalid: 'invalid-data',
  structure: 'invalid-data',
  required: 'invalid-data',
  value: 'invalid-data',
  processing: 'invalid-data',
  'business-rule': 'business-rule',
  'too-costly': 'too-costly',
  'not-supported': 'not-supported',
};

export function makeIssue(init: IssueInit): OperationOutcomeIssue {
  const txIssueType = init.txIssueType ?? DEFAULT_TX_ISSUE_TYPE[init.code];
  const issue: OperationOutcomeIssue = {
    severity: init.severity ?? 'error',
    code: init.code,
    details: {
      ...(txIssueType ? { coding: [{ system: TX_ISSUE_TYPE, code: txIssueType }] } : {}),
      text: fhirString(init.text),
    },
  };
  if (init.messageId) {
    issue.extension = [
      { url: 'http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id', valueString: init.messageId },
    ];
  }
  if (init.expression !== undefined) {
    const expr = (Array.isArray(init.expression) ? init.expression : [init.expression])
      .filter((e) => e.trim() !== '')
      .map(fhirString);
    if (expr.length > 0) {
      if (ISSUE_LOCATION) issue.location = expr;
      issue.expression = expr;
    }
  }
  return issue;
}

/**
 * `s` as a valid FHIR string (datatypes.html#string: no character points below 32 but tab, CR and
 * LF; Unicode, so no unpaired surrogate): such characters, which a message may quote from the
 * request (an id, a parameter name), are written as JSON escapes (`\u0000`).
 */
function fhirString(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to escape
  const clean = s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, escapeChar);
  return flatString(clean.isWellFormed() ? clean : clean.replace(/\p{Surrogate}/gu, escapeChar));
}

function escapeChar(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

export function outcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/**
 * An error that renders as an OperationOutcome with an HTTP status. Thrown anywhere below the
 * HTTP edge; rendered once by the error handler (STYLE.md, "Errors are OperationOutcomes").
 */
export class OperationOutcomeError extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    issues: OperationOutcomeIssue[] | OperationOutcome,
    headers: Record<string, string> = {},
  ) {
    const oo = Array.isArray(issues) ? outcome(issues) : issues;
    super(oo.issue?.[0]?.details?.text ?? `HTTP ${status}`);
    this.status = status;
    this.outcome = oo;
    this.headers = headers;
  }
}

export function badRequest(text: string, expression?: string, txIssueType?: string): OperationOutcomeError {
  return new OperationOutcomeError(400, [makeIssue({ code: 'invalid', text, expression, txIssueType })]);
}

export function notFound(text: string, txIssueType?: string): OperationOutcomeError {
  return new OperationOutcomeError(404, [makeIssue({ code: 'not-found', text, txIssueType })]);
}

export function unprocessable(
  text: string,
  code: IssueCode = 'processing',
  txIssueType?: string,
): OperationOutcomeError {
  return new OperationOutcomeError(422, [makeIssue({ code, text, txIssueType })]);
}
