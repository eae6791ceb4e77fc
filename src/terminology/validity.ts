import type { Extension, Period } from '@medplum/fhirtypes';
import { VALID_FROM_PROPERTY_URI, VALID_TO_PROPERTY_URI } from '../../mappings/systems.ts';
import { flatString } from './fast-json.ts';

/**
 * Validity in time, for the `date` parameter of $lookup, $validate-code and $expand
 * (http://hl7.org/fhir/R4/codesystem-operation-lookup.html: "the date for which the information
 * should be returned"; valueset-operation-expand.html: "use the value set / code system
 * definitions as they were on the given date, or return an error if this is not possible").
 *
 * Two things can be valid for a time:
 * - a resource version, through its effective period (the `resource-effectivePeriod` extension,
 *   or the R5 `effectivePeriod` element in its R4 cross-version extension form). A canonical whose
 *   versions state periods resolves, at a date, to the version whose period covers it; versions
 *   without a period are never chosen by date. Canonicals without dated versions are unaffected.
 * - a concept, through the properties whose definition (`CodeSystem.property.uri`) is
 *   VALID_FROM_PROPERTY_URI or VALID_TO_PROPERTY_URI. Outside that validity the concept is
 *   inactive (retired once it has ended).
 *
 * Dates are compared at day precision, as `yyyy-MM-dd` strings: a period's start or a validity's
 * first day counts from the beginning of that day, an end or last day to the end of it (as FHIR
 * Period.end at day precision). Times are dropped, so a date is the calendar day it names.
 */

/** http://hl7.org/fhir/extensions/StructureDefinition-resource-effectivePeriod.html */
export const EXT_RESOURCE_EFFECTIVE_PERIOD = 'http://hl7.org/fhir/StructureDefinition/resource-effectivePeriod';

/** R5 `CodeSystem.effectivePeriod` (and ValueSet, ConceptMap) in R4 (http://hl7.org/fhir/versions.html#extensions). */
export function r5EffectivePeriodExtension(resourceType: string): string {
  return `http://hl7.org/fhir/5.0/StructureDefinition/extension-${resourceType}.effectivePeriod`;
}

/*
 * The concept properties that state a concept's validity. FHIR's concept-properties code system
 * (http://hl7.org/fhir/concept-properties) has no property for "valid from" or "valid through":
 * its `effectiveDate` is "the date at which the concept status was last changed" (for a retired
 * concept, its retirement) and its `retirementDate` "the date at which a concept was retired"
 * (the first day it is no longer valid, not the last day it is). Data that states validity as a
 * first and a last valid day (as registers usually do) needs properties that say exactly that, so
 * this service defines two, under its own canonical base (mappings/systems.ts
 * FACADE_CANONICAL_BASE; they move with it).
 */

/**
 * The concept properties (dateTime) holding the first and the last (inclusive) day a concept is
 * valid: defined with the other canonicals of this service, in mappings/systems.ts.
 */
export { VALID_FROM_PROPERTY_URI, VALID_TO_PROPERTY_URI };

/** An inclusive span of days, `yyyy-MM-dd`; an absent bound is open. */
export interface DaySpan {
  start?: string;
  end?: string;
}

const DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The day a FHIR date or dateTime names. A partial date stands for its first day (`bound =
 * 'start'`) or its last (`'end'`); undefined when the text is not a FHIR date/dateTime.
 */
export function dayOf(value: string, bound: 'start' | 'end' = 'start'): string | undefined {
  const m = DATE_TIME.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d] = m;
  if (d !== undefined) return `${y}-${mo}-${d}`;
  if (mo !== undefined) {
    if (bound === 'start') return `${y}-${mo}-01`;
    const last = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
    return `${y}-${mo}-${String(last).padStart(2, '0')}`;
  }
  return bound === 'start' ? `${y}-01-01` : `${y}-12-31`;
}

/**
 * The day a `date` parameter asks about. FHIR allows a year or a month, but "the version in
 * effect in 2021" can be several, so a day is required; undefined when the value is not a
 * dateTime with at least a day.
 */
export function parseDateParameter(value: string): string | undefined {
  return /^\d{4}-\d{2}-\d{2}/.test(value.trim()) ? dayOf(value) : undefined;
}

function spanOfPeriod(p: Period | undefined): DaySpan | undefined {
  if (!p) return undefined;
  const start = p.start ? dayOf(p.start, 'start') : undefined;
  const end = p.end ? dayOf(p.end, 'end') : undefined;
  if (start === undefined && end === undefined) return undefined;
  return { ...(start ? { start } : {}), ...(end ? { end } : {}) };
}

/** The effective period a resource version states, if any. */
export function effectivePeriod(resource: { resourceType: string; extension?: Extension[] }): DaySpan | undefined {
  const r5 = r5EffectivePeriodExtension(resource.resourceType);
  const ext = resource.extension?.find((e) => e.url === EXT_RESOURCE_EFFECTIVE_PERIOD || e.url === r5);
  return spanOfPeriod(ext?.valuePeriod);
}

/** Whether `day` lies in the span (both bounds inclusive). */
export function spanCovers(span: DaySpan, day: string): boolean {
  return (span.start === undefined || span.start <= day) && (span.end === undefined || day <= span.end);
}

/** Where `day` lies relative to the span. */
export function spanPosition(span: DaySpan, day: string): 'before' | 'within' | 'after' {
  if (span.start !== undefined && day < span.start) return 'before';
  if (span.end !== undefined && day > span.end) return 'after';
  return 'within';
}

/** `day` moved into the span: its start when before it, its end when after it. */
export function clampToSpan(day: string, span: DaySpan | undefined): string {
  if (!span) return day;
  const where = spanPosition(span, day);
  if (where === 'before') return span.start as string;
  if (where === 'after') return span.end as string;
  return day;
}

/** `from 2013-01-25 through 2020-02-29`, `from 2013-01-25`, `through 2020-02-29`. */
export function presentSpan(span: DaySpan): string {
  if (span.start !== undefined && span.end !== undefined) return `from ${span.start} through ${span.end}`;
  if (span.start !== undefined) return `from ${span.start}`;
  return `through ${span.end ?? ''}`;
}

let todayCache = { day: '', from: 0, until: 0 };

/**
 * Today in the server's time zone (`TZ`), `yyyy-MM-dd`: the day concepts are judged at when a
 * request gives no `date`. Worked out once per day, and afresh after midnight, so a code that
 * ends tonight is inactive from midnight without a reload.
 */
export function today(now: number = Date.now()): string {
  if (todayCache.from <= now && now < todayCache.until) return todayCache.day;
  const d = new Date(now);
  // flat: it goes into cache keys and answers for a whole day (fast-json.ts)
  const day = flatString(
    `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`,
  );
  const from = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const until = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
  todayCache = { day, from, until };
  return day;
}
