import { readDate } from '../upstream/values.ts';

/**
 * The NLK release file (Norsk laboratoriekodeverk, Volven 7280) as CSV: UTF-8 with a BOM, a header
 * row, every field quoted, comma-separated (RFC 4180). Parsed at the edge into DTOs that keep the
 * file's column names; mappings/nlk.ts turns them into the API's NlkKodeDto.
 */

/** The columns of release 7280.77, in file order. */
export const NLK_RELEASE_COLUMNS = [
  'kode',
  'gyldig_fra',
  'gyldig_til',
  'erstattes_av',
  'endringsdato',
  'norsk_bruksnavn',
  'kodedefinisjon',
  'komponent',
  'komponent_spesifikasjon',
  'system',
  'system_spesifikasjon',
  'egenskapsart',
  'egenskapsart_spesifikasjon',
  'enhet',
  'primært_fagområde',
  'sekundært_fagområde',
  'gruppering',
] as const;

export type NlkReleaseColumn = (typeof NLK_RELEASE_COLUMNS)[number];

/**
 * One row of the release file. Text is verbatim (an empty cell is null); the three dates are
 * normalised (`2013-01-25 00:00:00` → `2013-01-25T00:00:00`).
 */
export type NlkReleaseRowDto = Record<NlkReleaseColumn, string | null>;

const DATE_COLUMNS: ReadonlySet<string> = new Set(['gyldig_fra', 'gyldig_til', 'endringsdato']);

export class NlkReleaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NlkReleaseError';
  }
}

/** RFC 4180 records: quoted fields may hold commas, `""` and line breaks. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let fieldStarted = false;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += ch;
      }
      continue;
    }
    if (ch === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (ch === ',') {
      record.push(field);
      field = '';
      fieldStarted = false;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      fieldStarted = false;
    } else {
      field += ch;
      fieldStarted = true;
    }
  }
  if (quoted) throw new NlkReleaseError('unterminated quoted field at the end of the file');
  if (fieldStarted || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/** The rows of an NLK release CSV. `name` (the file name) is used in error messages. */
export function parseNlkReleaseCsv(text: string, name = 'NLK CSV'): NlkReleaseRowDto[] {
  const records = parseCsv(text).filter((r) => !(r.length === 1 && r[0] === ''));
  const header = records.shift();
  if (!header) throw new NlkReleaseError(`${name}: empty file`);
  const index = new Map(header.map((h, i) => [h.trim(), i]));
  const missing = NLK_RELEASE_COLUMNS.filter((c) => !index.has(c));
  if (missing.length > 0) throw new NlkReleaseError(`${name}: missing columns ${missing.join(', ')}`);
  return records.map((rec, n) => {
    if (rec.length !== header.length) {
      throw new NlkReleaseError(`${name}: line ${n + 2} has ${rec.length} fields, the header ${header.length}`);
    }
    const row = {} as NlkReleaseRowDto;
    for (const col of NLK_RELEASE_COLUMNS) {
      const raw = rec[index.get(col)!];
      const value = raw === '' ? null : raw;
      try {
        row[col] = DATE_COLUMNS.has(col) ? readDate(value, `${name} line ${n + 2} ${col}`) : value;
      } catch (err) {
        throw new NlkReleaseError((err as Error).message);
      }
    }
    if (row.kode === null || row.kode.trim() === '') throw new NlkReleaseError(`${name}: line ${n + 2} has no kode`);
    return row;
  });
}
