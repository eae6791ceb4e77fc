/**
 * Whether the data a code system answers from are current. The tariff code systems come in
 * versions with effective periods (validity.ts). Without a `date`, a request is answered by the
 * newest version, as on the last day of its period. When that period ended before the day asked
 * (the request's `date`, else today) and no later version is known, the answer is still given, but
 * it may no longer hold: $validate-code says so in a warning issue, $lookup in an `issues`
 * OperationOutcome, $expand in a `warning-out-of-date` expansion parameter, and `/readyz` and the
 * TerminologyCapabilities list such code systems.
 *
 * A `date` after the newest period is not answered from that version: no version is in effect on
 * that day, and the answer says so and names the periods (TxContext.missAtDate). Versions without a
 * period (the tariff rows that state no dates) are answered only when asked for by their version:
 * a `date` never selects them, and they are never the default.
 */
import type { CodeSystem } from '@medplum/fhirtypes';
import { TxContext } from './context.ts';
import type { TerminologyStore } from './store.ts';
import { effectivePeriod, today } from './validity.ts';

/** The expansion parameter that carries the warning (a text: which version, until when). */
export const OUT_OF_DATE_PARAMETER = 'warning-out-of-date';

/** A code system version whose effective period ended before the day asked, no later version known. */
export interface OutOfDate {
  url: string;
  version?: string;
  /** the last day of its period */
  end: string;
  /** the day asked (the request's date, else today) */
  day: string;
}

/** Whether `cs` is the newest dated version of its canonical and its period ended before the day asked. */
export function outOfDate(ctx: TxContext, cs: CodeSystem): OutOfDate | undefined {
  const period = effectivePeriod(cs);
  if (period?.end === undefined || !cs.url) return undefined;
  const day = ctx.date ?? today();
  if (period.end >= day) return undefined;
  const end = period.end;
  // a version taking effect after this one ended: this one is not the newest data
  const later = ctx
    .datedVersions('CodeSystem', cs.url)
    .some((d) => d.resource !== cs && (d.period.end === undefined || d.period.end > end));
  if (later) return undefined;
  return { url: cs.url, ...(cs.version !== undefined ? { version: cs.version } : {}), end, day };
}

/** Every stored code system whose newest dated version ended before `day` (for /readyz and the capabilities). */
export function outOfDateCodeSystems(store: TerminologyStore, day: string = today()): OutOfDate[] {
  const at = new TxContext(store, [], { date: day });
  const out: OutOfDate[] = [];
  const seen = new Set<string>();
  for (const cs of store.all('CodeSystem')) {
    if (!cs.url || seen.has(`${cs.url}|${cs.version ?? ''}`)) continue;
    seen.add(`${cs.url}|${cs.version ?? ''}`);
    const found = outOfDate(at, cs);
    if (found) out.push(found);
  }
  return out.sort((a, b) => a.url.localeCompare(b.url));
}

/** The warning's text. */
export function outOfDateText(o: OutOfDate): string {
  const which = o.version !== undefined ? `'${o.url}' version '${o.version}'` : `'${o.url}'`;
  return (
    `The newest data known for CodeSystem ${which} were in effect until ${o.end}; ` +
    `the answer is as on that day and may not hold on ${o.day}`
  );
}
