/**
 * Tolerant readers of scalar values in upstream JSON, for parsers at the edge. Where the shape of a
 * field is only inferred (research/upstream-apis.md), they accept the plausible variants (a number
 * or a numeric string, a date with or without a time) and reject anything else with a reason, so a
 * surprising payload fails loudly (UPSTREAM_BAD_RESPONSE) instead of being mapped wrongly.
 */

/** A value that cannot be read; `path` names the field, e.g. `takstkoder[3].honorar`. */
export class ValueError extends Error {
  readonly path: string;
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'ValueError';
    this.path = path;
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : String(v);
}

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/**
 * Text exactly as sent (no trimming: descriptions are reproduced verbatim). A number becomes its
 * decimal string. Absent, null, empty or whitespace-only gives null (FHIR has no empty strings).
 */
export function readText(v: unknown, path: string): string | null {
  if (isBlank(v)) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new ValueError(path, `expected text, got ${describe(v)}`);
}

/** A code: text with surrounding whitespace removed (a FHIR code cannot have any). */
export function readCode(v: unknown, path: string): string | null {
  const t = readText(v, path);
  return t === null ? null : t.trim();
}

/**
 * A decimal: a JSON number, or a numeric string (`"175"`, `"175.50"`, Norwegian `"175,50"`,
 * `"1 234,50"` with spaces as thousands separators).
 */
export function readDecimal(v: unknown, path: string): number | null {
  if (isBlank(v)) return null;
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return v;
    throw new ValueError(path, `expected a number, got ${describe(v)}`);
  }
  if (typeof v === 'string') {
    let s = v.trim().replace(/[\s\u00a0\u202f]/g, '');
    if (!s.includes('.') && /^-?\d+,\d+$/.test(s)) s = s.replace(',', '.');
    if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  }
  throw new ValueError(path, `expected a number, got ${describe(v)}`);
}

/** An integer (a number or numeric string without a fractional part; `"3.0"` is 3). */
export function readInteger(v: unknown, path: string): number | null {
  const n = readDecimal(v, path);
  if (n === null) return null;
  if (!Number.isInteger(n)) throw new ValueError(path, `expected a whole number, got ${describe(v)}`);
  return n;
}

const TRUE_WORDS = new Set(['true', 'ja', 'j', 'yes', 'y', '1']);
const FALSE_WORDS = new Set(['false', 'nei', 'n', 'no', '0']);

/** A yes/no flag: a boolean, 0/1, or true/false, ja/nei, J/N, yes/no, Y/N in any case. */
export function readFlag(v: unknown, path: string): boolean | null {
  if (isBlank(v)) return null;
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (TRUE_WORDS.has(s)) return true;
    if (FALSE_WORDS.has(s)) return false;
  }
  throw new ValueError(path, `expected a yes/no flag, got ${describe(v)}`);
}

/**
 * A field that is either a flag or free text (`krever_takst` may be "ja" or a list of takster):
 * booleans become `"true"`/`"false"`, numbers their decimal string, text stays as sent.
 */
export function readTextOrFlag(v: unknown, path: string): string | null {
  if (typeof v === 'boolean') return String(v);
  return readText(v, path);
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/;
const NORWEGIAN_DATE = /^(\d{2})\.(\d{2})\.(\d{4})$/;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= last;
}

/**
 * A date or date-time, normalised to `yyyy-MM-dd` or `yyyy-MM-ddTHH:mm:ss[.fff][Z|±HH:MM]`.
 * Accepted: ISO dates and date-times (`T` or a space between, seconds and zone optional),
 * `dd.MM.yyyy`, Jackson's `[yyyy, M, d(, H, m, s)]` arrays, and epoch milliseconds (read as the
 * wall-clock time in Europe/Oslo, without a zone, like the other zone-less forms).
 */
export function readDate(v: unknown, path: string): string | null {
  if (isBlank(v)) return null;
  if (typeof v === 'string') {
    const s = v.trim();
    const m = ISO_DATE_TIME.exec(s);
    if (m) {
      const [, y, mo, d, h, mi, sec, frac, zone] = m;
      if (!validDate(Number(y), Number(mo), Number(d))) throw new ValueError(path, `not a valid date: ${describe(v)}`);
      const date = `${y}-${mo}-${d}`;
      if (h === undefined) {
        if (zone !== undefined) throw new ValueError(path, `a zone without a time: ${describe(v)}`);
        return date;
      }
      if (Number(h) > 23 || Number(mi) > 59 || Number(sec ?? '0') > 59) {
        throw new ValueError(path, `not a valid time: ${describe(v)}`);
      }
      const z =
        zone === undefined
          ? ''
          : zone === 'Z'
            ? 'Z'
            : zone.length === 5
              ? `${zone.slice(0, 3)}:${zone.slice(3)}`
              : zone;
      return `${date}T${h}:${mi}:${sec ?? '00'}${frac ?? ''}${z}`;
    }
    const n = NORWEGIAN_DATE.exec(s);
    if (n) {
      const [, d, mo, y] = n;
      if (!validDate(Number(y), Number(mo), Number(d))) throw new ValueError(path, `not a valid date: ${describe(v)}`);
      return `${y}-${mo}-${d}`;
    }
    throw new ValueError(path, `expected a date, got ${describe(v)}`);
  }
  if (Array.isArray(v) && v.length >= 3 && v.length <= 7 && v.every((x) => Number.isInteger(x))) {
    const [y, mo, d, h, mi, sec] = v as number[];
    if (!validDate(y, mo, d)) throw new ValueError(path, `not a valid date: ${describe(v)}`);
    const date = `${pad(y, 4)}-${pad(mo)}-${pad(d)}`;
    return h === undefined ? date : `${date}T${pad(h)}:${pad(mi ?? 0)}:${pad(sec ?? 0)}`;
  }
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) > 1e11) {
    return osloWallClock(v);
  }
  throw new ValueError(path, `expected a date, got ${describe(v)}`);
}

const OSLO_PARTS = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/Oslo',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

const OSLO_DATE = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/Oslo',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** The calendar date in Norway at `ms` (`yyyy-MM-dd`): the day the Norwegian sources mean. */
export function osloDate(ms: number): string {
  return OSLO_DATE.format(new Date(ms));
}

/** Epoch milliseconds as the Europe/Oslo wall-clock date-time `yyyy-MM-ddTHH:mm:ss`. */
function osloWallClock(ms: number): string {
  const parts = Object.fromEntries(OSLO_PARTS.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
}

/**
 * A tolerant view of one upstream JSON object. A field is found by its documented name, else by a
 * name that differs only in case and underscores (`nlkKode` = `nlk_kode` = `NLKKODE`), since the
 * Helserefusjon API mixes camelCase and snake_case.
 */
export class FieldReader {
  private readonly obj: Record<string, unknown>;
  readonly path: string;
  private loose?: Map<string, string>;

  constructor(obj: unknown, path: string) {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new ValueError(path, `expected an object, got ${describe(obj)}`);
    }
    this.obj = obj as Record<string, unknown>;
    this.path = path;
  }

  /** The raw value of the first of `names` that is present. */
  raw(...names: string[]): unknown {
    for (const n of names) if (Object.hasOwn(this.obj, n)) return this.obj[n];
    this.loose ??= new Map(Object.keys(this.obj).map((k) => [looseKey(k), k]));
    for (const n of names) {
      const k = this.loose.get(looseKey(n));
      if (k !== undefined) return this.obj[k];
    }
    return undefined;
  }

  private at(name: string): string {
    return `${this.path}.${name}`;
  }

  text(name: string, ...aliases: string[]): string | null {
    return readText(this.raw(name, ...aliases), this.at(name));
  }

  code(name: string, ...aliases: string[]): string | null {
    return readCode(this.raw(name, ...aliases), this.at(name));
  }

  /** A code that must be present. */
  requiredCode(name: string, ...aliases: string[]): string {
    const c = this.code(name, ...aliases);
    if (c === null || c === '') throw new ValueError(this.at(name), 'missing');
    return c;
  }

  decimal(name: string, ...aliases: string[]): number | null {
    return readDecimal(this.raw(name, ...aliases), this.at(name));
  }

  integer(name: string, ...aliases: string[]): number | null {
    return readInteger(this.raw(name, ...aliases), this.at(name));
  }

  flag(name: string, ...aliases: string[]): boolean | null {
    return readFlag(this.raw(name, ...aliases), this.at(name));
  }

  textOrFlag(name: string, ...aliases: string[]): string | null {
    return readTextOrFlag(this.raw(name, ...aliases), this.at(name));
  }

  date(name: string, ...aliases: string[]): string | null {
    return readDate(this.raw(name, ...aliases), this.at(name));
  }
}

function looseKey(k: string): string {
  return k.toLowerCase().replace(/[_\-\s]/g, '');
}
