import type {
  CodeableConcept,
  CodeSystem,
  CodeSystemConcept,
  CodeSystemConceptProperty,
  CodeSystemProperty,
  Extension,
  ValueSet,
} from '@medplum/fhirtypes';
import { type DataSource, EXT_EFFECTIVE_PERIOD, publisherFor } from './systems.ts';

/**
 * Helpers shared by the Helserefusjon mappings (pure): upstream dates to FHIR dateTime, validity
 * periods sliced into versions, the all-codes ValueSet of a CodeSystem, typed concept properties.
 */

// --- Dates -----------------------------------------------------------------------------------

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** The `yyyy-MM-dd` part of a normalised upstream date (src/upstream/values.ts readDate). */
export function datePart(value: string): string {
  return value.slice(0, 10);
}

/** `yyyy-MM-dd` plus `days` (negative allowed). */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/**
 * A normalised upstream date as a FHIR dateTime. Upstreams send validity as dates, or as local
 * date-times where midnight (`fradato 2013-01-25 00:00:00`) and 23:59 (`tildato 2020-02-29 23:59:00`)
 * only mark whole days; those become plain dates (`2020-02-29`: valid through that day, as FHIR
 * Period.end at day precision). Any other local time gets the Europe/Oslo offset of that instant
 * (FHIR requires a zone when there is a time); a time with a zone is kept.
 */
export function toFhirDateTime(value: string): string {
  const m = DATE_TIME.exec(value);
  if (!m) throw new Error(`not a normalised date: ${value}`);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const date = `${y}-${mo}-${d}`;
  if (h === undefined) return date;
  if (zone !== undefined) return value;
  const hms = `${h}:${mi}:${s}`;
  if (hms === '00:00:00' || hms === '23:59:00' || hms === '23:59:59') return date;
  const offset = osloOffset(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s));
  return `${date}T${hms}${frac ?? ''}${offset}`;
}

const OSLO_OFFSET = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Oslo', timeZoneName: 'longOffset' });

function offsetMinutesAt(utcMs: number): number {
  const name = OSLO_OFFSET.formatToParts(new Date(utcMs)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** The UTC offset (`+01:00` / `+02:00`) of a Europe/Oslo wall-clock time. */
function osloOffset(y: number, mo: number, d: number, h: number, mi: number, s: number): string {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  let off = offsetMinutesAt(wall);
  const second = offsetMinutesAt(wall - off * 60_000);
  if (second !== off) off = second;
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

// --- Validity periods --------------------------------------------------------------------------

/** A stretch of time in which the set of valid rows does not change: one resource version. */
export interface PeriodSlice<T> {
  /** first day (yyyy-MM-dd) */
  start: string;
  /** last day, inclusive (yyyy-MM-dd); absent when open-ended */
  end?: string;
  /** the rows valid throughout the slice, in input order */
  rows: T[];
}

export interface SlicedPeriods<T> {
  /** slices in time order */
  slices: PeriodSlice<T>[];
  /** rows without a start date: never picked by date */
  undated: T[];
  /** rows whose end is before their start */
  invalid: T[];
}

/**
 * Cuts time at every start and (day after every) end of the rows' validity periods. Each piece in
 * which at least one row is valid becomes a slice holding exactly the rows valid then, so that
 * "the version valid on date D" is one slice. For the usual tariff data (all rows change on
 * 1 July) this gives one slice per tariff year; a row that changes mid-year starts a new slice.
 * Dates are compared at day precision.
 */
export function slicePeriods<T>(
  rows: readonly T[],
  from: (row: T) => string | null,
  to: (row: T) => string | null,
): SlicedPeriods<T> {
  const undated: T[] = [];
  const invalid: T[] = [];
  const spans: { row: T; start: string; endExcl: string | null }[] = [];
  for (const row of rows) {
    const f = from(row);
    if (f === null) {
      undated.push(row);
      continue;
    }
    const start = datePart(f);
    const t = to(row);
    const endExcl = t === null ? null : addDays(datePart(t), 1);
    if (endExcl !== null && endExcl <= start) invalid.push(row);
    else spans.push({ row, start, endExcl });
  }
  const bounds = [...new Set(spans.flatMap((s) => (s.endExcl === null ? [s.start] : [s.start, s.endExcl])))].sort();
  const slices: PeriodSlice<T>[] = [];
  for (let i = 0; i < bounds.length; i++) {
    const start = bounds[i];
    const next = bounds[i + 1];
    const valid = spans.filter((s) => s.start <= start && (s.endExcl === null || s.endExcl > start));
    if (valid.length === 0) continue;
    slices.push({ start, ...(next !== undefined ? { end: addDays(next, -1) } : {}), rows: valid.map((s) => s.row) });
  }
  return { slices, undated, invalid };
}

export function effectivePeriodExtension(start: string, end?: string): Extension {
  return { url: EXT_EFFECTIVE_PERIOD, valuePeriod: { start, ...(end !== undefined ? { end } : {}) } };
}

// --- Concept properties -----------------------------------------------------------------------

type Scalar = string | number | boolean | null | undefined;

export function stringProperty(code: string, value: Scalar): CodeSystemConceptProperty[] {
  return value === null || value === undefined ? [] : [{ code, valueString: String(value) }];
}

export function codeProperty(code: string, value: string | null | undefined): CodeSystemConceptProperty[] {
  return value === null || value === undefined ? [] : [{ code, valueCode: value }];
}

export function decimalProperty(code: string, value: number | null | undefined): CodeSystemConceptProperty[] {
  return value === null || value === undefined ? [] : [{ code, valueDecimal: value }];
}

export function integerProperty(code: string, value: number | null | undefined): CodeSystemConceptProperty[] {
  return value === null || value === undefined ? [] : [{ code, valueInteger: value }];
}

export function booleanProperty(code: string, value: boolean | null | undefined): CodeSystemConceptProperty[] {
  return value === null || value === undefined ? [] : [{ code, valueBoolean: value }];
}

export function dateTimeProperty(code: string, value: string | null | undefined): CodeSystemConceptProperty[] {
  return value === null || value === undefined ? [] : [{ code, valueDateTime: toFhirDateTime(value) }];
}

// --- Resources --------------------------------------------------------------------------------

/** The metadata every emitted resource carries: publisher and copyright naming the source. */
export function sourceMetadata(source: DataSource): { publisher: string; copyright: string } {
  return { publisher: publisherFor(source), copyright: source.copyright };
}

export interface AllCodesValueSetOptions {
  id: string;
  url: string;
  name: string;
  title: string;
}

/**
 * The ValueSet of every code of `cs` (the one `CodeSystem.valueSet` names), pinned to the same
 * version, with the same status, dates, publisher, copyright and effective period.
 */
export function allCodesValueSet(cs: CodeSystem, options: AllCodesValueSetOptions): ValueSet {
  const period = cs.extension?.filter((e) => e.url === EXT_EFFECTIVE_PERIOD) ?? [];
  return {
    resourceType: 'ValueSet',
    id: options.id,
    ...(period.length ? { extension: period } : {}),
    url: options.url,
    ...(cs.version !== undefined ? { version: cs.version } : {}),
    name: options.name,
    title: options.title,
    status: cs.status ?? 'active',
    experimental: cs.experimental ?? false,
    ...(cs.date !== undefined ? { date: cs.date } : {}),
    ...(cs.publisher !== undefined ? { publisher: cs.publisher } : {}),
    description: `Alle koder i ${cs.title ?? cs.name}${cs.version !== undefined ? `, versjon ${cs.version}` : ''}.`,
    ...(cs.jurisdiction ? { jurisdiction: cs.jurisdiction } : {}),
    ...(cs.copyright !== undefined ? { copyright: cs.copyright } : {}),
    compose: {
      include: [{ system: cs.url, ...(cs.version !== undefined ? { version: cs.version } : {}) }],
    },
  };
}

/** `url|version`, or `url` when there is no version. */
export function canonicalWithVersion(url: string, version: string | undefined): string {
  return version === undefined ? url : `${url}|${version}`;
}

// --- Versions by validity period --------------------------------------------------------------

/** The version of rows without a known validity period: sorts before every dated version. */
export const UNDATED_VERSION = '0-udatert';

export interface VersionedCodeSystemSpec<T> {
  rows: readonly T[];
  code: (row: T) => string;
  from: (row: T) => string | null;
  to: (row: T) => string | null;
  toConcept: (row: T) => CodeSystemConcept;
  /** resource id of the newest version; older versions get `<baseId>-<version>` */
  baseId: string;
  url: string;
  valueSetUrl: string;
  /** computer name of the CodeSystem (its ValueSet gets `…AlleKoder`) */
  name: string;
  /** human title without the period, e.g. "Takstkoder LE (Lege)" */
  title: string;
  /** description of the CodeSystem; the period sentence is appended */
  description: string;
  /** what a row is called in warnings, e.g. `takstkoder LE` */
  what: string;
  /** where the data comes from: one source for all versions, or per version (from its rows) */
  source: DataSource | ((rows: readonly T[]) => DataSource);
  content: 'complete' | 'fragment';
  property: CodeSystemProperty[];
  jurisdiction?: CodeableConcept[];
}

export interface VersionedResources {
  codeSystems: CodeSystem[];
  valueSets: ValueSet[];
  warnings: string[];
}

/**
 * One CodeSystem version (and its all-codes ValueSet) per validity slice of the rows
 * (slicePeriods): version = the slice's first day, validity in the resource-effectivePeriod
 * extension, `date` = the first day. Rows without a start date go to version UNDATED_VERSION,
 * which has no effective period (so it is never picked by date) and sorts before every dated
 * version (so it is never the default either). Within a version a code occurs once: when two rows
 * of one code overlap, the one starting later wins and a warning says so.
 */
export function versionedCodeSystems<T>(spec: VersionedCodeSystemSpec<T>): VersionedResources {
  const warnings: string[] = [];
  const { slices, undated, invalid } = slicePeriods(spec.rows, spec.from, spec.to);
  for (const row of invalid) {
    warnings.push(
      `${spec.what} ${spec.code(row)}: tildato before fradato (${spec.from(row)} – ${spec.to(row)}); row left out`,
    );
  }

  const versions: { version: string; start?: string; end?: string; rows: T[] }[] = slices.map((s) => ({
    version: s.start,
    start: s.start,
    end: s.end,
    rows: s.rows,
  }));
  if (undated.length > 0) versions.unshift({ version: UNDATED_VERSION, rows: undated });
  const newest = versions.at(-1)?.version;

  const codeSystems: CodeSystem[] = [];
  const valueSets: ValueSet[] = [];
  for (const v of versions) {
    const byCode = new Map<string, T>();
    for (const row of v.rows) {
      const code = spec.code(row);
      const earlier = byCode.get(code);
      if (earlier !== undefined) {
        const keep = (spec.from(row) ?? '') >= (spec.from(earlier) ?? '') ? row : earlier;
        warnings.push(
          `${spec.what} ${code}: several rows valid in version ${v.version}; kept the one from ${spec.from(keep) ?? 'udatert'}`,
        );
        byCode.set(code, keep);
      } else {
        byCode.set(code, row);
      }
    }
    const id = v.version === newest ? spec.baseId : `${spec.baseId}-${v.version}`;
    const periodText =
      v.start === undefined
        ? `Versjon ${UNDATED_VERSION} samler rader uten kjent gyldighetsperiode; den velges aldri ut fra dato.`
        : `Gyldig fra ${v.start}${v.end ? ` til og med ${v.end}` : ' (ingen sluttdato)'}; perioden står også i utvidelsen resource-effectivePeriod.`;
    const concepts = [...byCode.values()].map(spec.toConcept);
    const source = typeof spec.source === 'function' ? spec.source(v.rows) : spec.source;
    const cs: CodeSystem = {
      resourceType: 'CodeSystem',
      id,
      ...(v.start !== undefined ? { extension: [effectivePeriodExtension(v.start, v.end)] } : {}),
      url: spec.url,
      version: v.version,
      name: spec.name,
      title:
        v.start === undefined ? `${spec.title}, udatert` : `${spec.title}, ${v.start}${v.end ? ` – ${v.end}` : ' –'}`,
      status: 'active',
      experimental: false,
      ...(v.start !== undefined ? { date: v.start } : {}),
      publisher: publisherFor(source),
      description: `${spec.description} ${periodText}`,
      ...(spec.jurisdiction ? { jurisdiction: spec.jurisdiction } : {}),
      copyright: source.copyright,
      caseSensitive: true,
      valueSet: canonicalWithVersion(spec.valueSetUrl, v.version),
      content: spec.content,
      count: concepts.length,
      property: spec.property,
      concept: concepts,
    };
    codeSystems.push(cs);
    valueSets.push(
      allCodesValueSet(cs, {
        id,
        url: spec.valueSetUrl,
        name: `${spec.name}AlleKoder`,
        title: `${cs.title}: alle koder`,
      }),
    );
  }
  return { codeSystems, valueSets, warnings };
}
