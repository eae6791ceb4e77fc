import type { CodeableConcept, Coding } from '@medplum/fhirtypes';
import { badRequest, makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import type { InputParams } from '../http/params.ts';
import { isLanguageList } from '../terminology/language.ts';
import { parseDateParameter } from '../terminology/validity.ts';
import type { OperationRequest } from './types.ts';

/**
 * Reading Coding and CodeableConcept parameters tolerantly, as clients (the HL7 validator
 * among them) send them: a Coding object in POST, or, in a GET query, the token form
 * `system|code` (system optional); and the `date` and `displayLanguage` parameters.
 */
export function codingParam(params: InputParams, name: string): Coding | undefined {
  const v = params.first(name);
  if (v === undefined || v.value === undefined) return undefined;
  if (typeof v.value === 'string') {
    const i = v.value.lastIndexOf('|');
    return i < 0 ? { code: v.value } : { system: v.value.slice(0, i) || undefined, code: v.value.slice(i + 1) };
  }
  if (typeof v.value === 'object' && v.value !== null && !Array.isArray(v.value)) return v.value as Coding;
  throw badRequest(`Parameter '${name}' must be a Coding`, name);
}

export function codeableConceptParam(params: InputParams, name: string): CodeableConcept | undefined {
  const v = params.first(name);
  if (v === undefined || v.value === undefined) return undefined;
  if (typeof v.value === 'object' && v.value !== null && !Array.isArray(v.value)) return v.value as CodeableConcept;
  if (typeof v.value === 'string') return { coding: [codingParam(params, name) as Coding] };
  throw badRequest(`Parameter '${name}' must be a CodeableConcept`, name);
}

/** A trimmed, non-empty string parameter. */
export function stringParam(params: InputParams, name: string): string | undefined {
  const s = params.string(name)?.trim();
  return s === '' ? undefined : s;
}

/**
 * The `displayLanguage` parameter: a language list as Accept-Language writes it (`de, en;q=0.5`).
 * Anything else is a 400 that names it (the reference server's INVALID_DISPLAY_NAME).
 */
export function displayLanguageParam(params: InputParams): string | undefined {
  const value = stringParam(params, 'displayLanguage');
  if (value === undefined || isLanguageList(value)) return value;
  throw new OperationOutcomeError(400, [
    makeIssue({
      code: 'processing',
      text: `Invalid displayLanguage: '${value}'`,
      txIssueType: 'invalid-display',
      messageId: 'INVALID_DISPLAY_NAME',
    }),
  ]);
}

/**
 * The `date` parameter ($lookup, $validate-code, $expand) as the day it names, `yyyy-MM-dd`; a
 * 400 when it is not a dateTime with at least a day.
 */
export function dateParam(params: InputParams): string | undefined {
  const raw = stringParam(params, 'date');
  if (raw === undefined) return undefined;
  const day = parseDateParameter(raw);
  if (day === undefined) {
    throw badRequest(
      `Parameter 'date' must be a dateTime with at least a day (yyyy-MM-dd), found '${raw.slice(0, 64)}'`,
      'date',
    );
  }
  return day;
}

/**
 * The request as on its `date` parameter: its terminology view resolves versionless references to
 * the versions in effect that day and judges concepts as on that day (TxContext.atDate).
 */
export function atRequestDate(req: OperationRequest): OperationRequest {
  const day = dateParam(req.params);
  return day === undefined ? req : { ...req, ctx: req.ctx.atDate(day) };
}
