import type { Dispatcher } from 'undici';
import { UpstreamError } from './errors.ts';
import { getJson, type UpstreamHttpOptions } from './http.ts';
import { FieldReader, ValueError } from './values.ts';

/**
 * Client of the Helserefusjon open-data API (Helfo / Helsedirektoratet, NLOD 2.0), documented in
 * navikt/Helserefusjon-apne-data `API_DOKUMENTASJON.adoc`. Typed DTOs in, no FHIR.
 *
 * Evidence for the response shapes (research/upstream-apis.md §1): the field names are documented;
 * the wrapper keys `takstkoder`, `nlkkoder`, `fagomraader` and `apatKombinasjoner` are known from
 * public clients only; value types are inferred. So the parsers here are tolerant (numbers or
 * numeric strings, dates with or without a time, field names differing in case or underscores,
 * a bare array or an unknown single-array wrapper) and reject anything else with
 * UPSTREAM_BAD_RESPONSE and a reason naming the field.
 */

export const HELSEREFUSJON_UPSTREAM = 'helserefusjon';
/** The current root (the old https://helserefusjoner-kuhr.nav.no is being phased out). */
export const HELSEREFUSJON_BASE_URL = 'https://opne-data-api.helserefusjon.no';

/** Fagområde codes that the API accepts as `samhandlertype` (PO Poliklinikk, LR Privat lab/radiologi). */
export type Samhandlertype = 'PO' | 'LR';
export const SAMHANDLERTYPER: readonly Samhandlertype[] = ['PO', 'LR'];

// ---------------------------------------------------------------------------------------------
// DTOs: the upstream field names, typed. Absent and null both become null. Dates are normalised
// strings (`yyyy-MM-dd` or `yyyy-MM-ddTHH:mm:ss[.fff][zone]`, see values.ts readDate).

/** One row of /v1/takstkoder: one takst in one fagområde for one validity period. */
export interface TakstkodeDto {
  takst_id: string | null;
  takstkode: string;
  fagomraade: string;
  fradato: string | null;
  tildato: string | null;
  honorar: number | null;
  refusjon: number | null;
  egenandel: number | null;
  pasient_egenbetaling: number | null;
  maks_repetisjoner: number | null;
  repetisjonsprosent: number | null;
  redusert_ref_fra_repetisjon: number | null;
  redusert_repetisjonsprosent: number | null;
  spesialisttakst: boolean | null;
  /** free text, verbatim (e.g. "Alle unntatt 701a t.o.m. 712.") */
  ugyldig_kombinasjon: string | null;
  /** flag or text (type unknown): booleans as "true"/"false", text verbatim */
  krever_takst: string | null;
  krever_prosedyre: string | null;
  krever_diagnose: string | null;
  maks_antall_per_aar: number | null;
  maks_antall_per_kalender_aar: number | null;
  maks_antall_gjelder_pasient: boolean | null;
  minimum_tidsbruk: number | null;
  beskrivelse: string | null;
  resource_id: string | null;
  tidsbruk_per_rep: number | null;
}

/** One row of /v1/refusjonskategorisatser (also nested in nlkkoder as `refusjonskategorisats`). */
export interface RefusjonskategorisatsDto {
  refusjonskategoriid: string | null;
  refusjonskategori: string;
  refusjonssats: number | null;
  fradato: string | null;
  tildato: string | null;
  /** not documented as a field; kept when a row carries it */
  samhandlertype: string | null;
}

/** One row of /v1/nlkkoder (mixed camelCase/snake_case as documented). */
export interface NlkKodeDto {
  nlkKodeid: string | null;
  nlkKode: string;
  norsk_bruksnavn: string | null;
  komponent: string | null;
  system: string | null;
  enhet: string | null;
  egenskapsart: string | null;
  spesifisertKomponent: string | null;
  npuDefinisjon: string | null;
  npuSpesialitet: string | null;
  fagomraadeSekundaert: string | null;
  fagomraadeNlk: string | null;
  fradato: string | null;
  tildato: string | null;
  refusjonskategori: string | null;
  /** the replacing code(s); one code in every known row */
  erstattesAv: string | null;
  hvaEndret: string | null;
  sistEndretDato: string | null;
  stjernekode: string | null;
  ugyldigKombinasjon: string | null;
  systemSpesifikasjon: string | null;
  egenskapsartSpesifikasjon: string | null;
  gruppering: string | null;
  refusjonskategorisats: RefusjonskategorisatsDto[];
  /**
   * Not an API field: the release file's `komponent_spesifikasjon`. The API's
   * `spesifisertKomponent` may be the same thing, but that is not verified, so it is kept apart.
   */
  komponentSpesifikasjon?: string | null;
}

/** One row of /v1/apatkombinasjoner: a pathology T-code + P-code combination and its category. */
export interface ApatkombinasjonDto {
  t_kode: string;
  p_kode: string;
  refusjonskategori: string | null;
  belop: number | null;
  samhandler_type: string | null;
  fradato: string | null;
  tildato: string | null;
}

/** A praksistype (the API nests them in their fagområde; the key names are inferred). */
export interface PraksistypeDto {
  praksis_type_kode: string;
  beskrivelse: string | null;
  fagomraadekode: string;
}

/** One row of /v1/fagomraader. */
export interface FagomraadeDto {
  fagomraadekode: string;
  beskrivelse: string | null;
  praksistyper: PraksistypeDto[];
}

/** One row of /v1/bandasjister (for the directory, later). */
export interface BandasjistDto {
  sar_id: string;
  sar_navn: string | null;
  sar_orgnr: string | null;
  hovedenhet_orgnr: string | null;
  underenhet_orgnr: string | null;
  gyldig_fra: string | null;
  gyldig_til: string | null;
  status: string | null;
  tidspunkt_registrert: string | null;
  tidspunkt_oppdatert: string | null;
}

// ---------------------------------------------------------------------------------------------
// Parsers (pure; throw UpstreamError UPSTREAM_BAD_RESPONSE with a reason)

function badResponse(reason: string, cause?: unknown): UpstreamError {
  return new UpstreamError('UPSTREAM_BAD_RESPONSE', {
    upstream: HELSEREFUSJON_UPSTREAM,
    reason,
    ...(cause !== undefined ? { cause } : {}),
  });
}

/**
 * The row array of a list response: the body itself when it is an array; else the first known
 * wrapper key; else a key matching one of them ignoring case and underscores; else the only
 * array-valued property. Anything else is a bad response.
 */
export function extractRows(json: unknown, wrapperKeys: readonly string[], what: string): unknown[] {
  if (Array.isArray(json)) return json;
  if (typeof json !== 'object' || json === null) {
    throw badResponse(`${what}: expected a JSON object or array, got ${json === null ? 'null' : typeof json}`);
  }
  const obj = json as Record<string, unknown>;
  for (const k of wrapperKeys) if (Array.isArray(obj[k])) return obj[k] as unknown[];
  const loose = (k: string) => k.toLowerCase().replace(/_/g, '');
  const wanted = new Set(wrapperKeys.map(loose));
  for (const [k, v] of Object.entries(obj)) if (wanted.has(loose(k)) && Array.isArray(v)) return v;
  const arrays = Object.entries(obj).filter(([, v]) => Array.isArray(v));
  if (arrays.length === 1) return arrays[0][1] as unknown[];
  throw badResponse(
    arrays.length === 0
      ? `${what}: no "${wrapperKeys[0]}" list in the response`
      : `${what}: no "${wrapperKeys[0]}" list and several other lists (${arrays.map(([k]) => k).join(', ')})`,
  );
}

/** The rows of a list that could not be read and were left out (skippedRowsOf). */
export interface SkippedRows {
  /** the list, as in the messages (`nlkkoder`) */
  what: string;
  skipped: number;
  total: number;
  /** why the first one could not be read (`nlkkoder[17].tildato: ...`) */
  first: string;
}

/**
 * How many rows of a list may be unreadable before the whole answer is: 1% of the rows, rounded
 * down (so none in a list of fewer than 100). One odd value in one row must not stop a dataset of
 * thousands; more mean the API changed, and then the answer is refused (the data served stay as
 * they were).
 */
export function rowAllowance(total: number): number {
  return Math.floor(total / 100);
}

const skippedRows = new WeakMap<readonly unknown[], SkippedRows>();

/** The rows left out of a list parsed with `tolerant` (undefined when none were). */
export function skippedRowsOf(list: readonly unknown[]): SkippedRows | undefined {
  return skippedRows.get(list);
}

/**
 * Runs a row parser over every row, turning a ValueError into a bad-response error. `tolerant`:
 * an unreadable row is left out (skippedRowsOf says how many and why) as long as no more than
 * rowAllowance of them are; past that the answer is refused.
 */
function parseRows<T>(rows: unknown[], what: string, parseRow: (r: FieldReader) => T, tolerant = false): T[] {
  const out: T[] = [];
  const failures: ValueError[] = [];
  rows.forEach((row, i) => {
    try {
      out.push(parseRow(new FieldReader(row, `${what}[${i}]`)));
    } catch (err) {
      if (!(err instanceof ValueError)) throw err;
      if (!tolerant) throw badResponse(err.message, err);
      failures.push(err);
    }
  });
  if (failures.length === 0) return out;
  const allowance = rowAllowance(rows.length);
  if (failures.length > allowance) {
    if (allowance === 0) throw badResponse(failures[0].message, failures[0]);
    throw badResponse(
      `${what}: ${failures.length} of ${rows.length} rows cannot be read (at most ${allowance} may be left out); ` +
        `first: ${failures[0].message}`,
      failures[0],
    );
  }
  skippedRows.set(out, { what, skipped: failures.length, total: rows.length, first: failures[0].message });
  return out;
}

export interface ParseTakstkoderOptions {
  /** the fagområde asked for, used when a row does not name its own */
  fagomraade?: string;
}

export function parseTakstkoder(json: unknown, options: ParseTakstkoderOptions = {}): TakstkodeDto[] {
  const rows = extractRows(json, ['takstkoder', 'takster'], 'takstkoder');
  return parseRows(
    rows,
    'takstkoder',
    (r) => {
      const fagomraade = r.code('fagomraade', 'fagomraadekode') ?? options.fagomraade ?? null;
      if (!fagomraade) throw new ValueError(`${r.path}.fagomraade`, 'missing');
      return {
        takst_id: r.code('takst_id'),
        takstkode: r.requiredCode('takstkode'),
        fagomraade,
        fradato: r.date('fradato'),
        tildato: r.date('tildato'),
        honorar: r.decimal('honorar'),
        refusjon: r.decimal('refusjon'),
        egenandel: r.decimal('egenandel'),
        pasient_egenbetaling: r.decimal('pasient_egenbetaling'),
        maks_repetisjoner: r.integer('maks_repetisjoner'),
        repetisjonsprosent: r.decimal('repetisjonsprosent'),
        redusert_ref_fra_repetisjon: r.integer('redusert_ref_fra_repetisjon'),
        redusert_repetisjonsprosent: r.decimal('redusert_repetisjonsprosent'),
        spesialisttakst: r.flag('spesialisttakst'),
        ugyldig_kombinasjon: r.text('ugyldig_kombinasjon'),
        krever_takst: r.textOrFlag('krever_takst'),
        krever_prosedyre: r.textOrFlag('krever_prosedyre'),
        krever_diagnose: r.textOrFlag('krever_diagnose'),
        maks_antall_per_aar: r.integer('maks_antall_per_aar'),
        maks_antall_per_kalender_aar: r.integer('maks_antall_per_kalender_aar'),
        maks_antall_gjelder_pasient: r.flag('maks_antall_gjelder_pasient'),
        minimum_tidsbruk: r.decimal('minimum_tidsbruk'),
        beskrivelse: r.text('beskrivelse'),
        resource_id: r.code('resource_id'),
        tidsbruk_per_rep: r.decimal('tidsbruk_per_rep'),
      };
    },
    true,
  );
}

function refusjonskategorisatsRow(r: FieldReader): RefusjonskategorisatsDto {
  return {
    refusjonskategoriid: r.code('refusjonskategoriid'),
    refusjonskategori: r.requiredCode('refusjonskategori'),
    refusjonssats: r.decimal('refusjonssats'),
    fradato: r.date('fradato'),
    tildato: r.date('tildato'),
    samhandlertype: r.code('samhandlertype', 'samhandler_type'),
  };
}

export function parseRefusjonskategorisatser(json: unknown): RefusjonskategorisatsDto[] {
  const rows = extractRows(json, ['refusjonskategorisatser', 'refusjonskategorier'], 'refusjonskategorisatser');
  return parseRows(rows, 'refusjonskategorisatser', refusjonskategorisatsRow, true);
}

export function parseNlkkoder(json: unknown): NlkKodeDto[] {
  const rows = extractRows(json, ['nlkkoder', 'nlkKoder'], 'nlkkoder');
  return parseRows(
    rows,
    'nlkkoder',
    (r) => {
      const satser = r.raw('refusjonskategorisats', 'refusjonskategorisatser');
      let refusjonskategorisats: RefusjonskategorisatsDto[] = [];
      if (satser !== undefined && satser !== null) {
        if (!Array.isArray(satser)) throw new ValueError(`${r.path}.refusjonskategorisats`, 'expected a list');
        refusjonskategorisats = satser.map((s, i) =>
          refusjonskategorisatsRow(new FieldReader(s, `${r.path}.refusjonskategorisats[${i}]`)),
        );
      }
      return {
        nlkKodeid: r.code('nlkKodeid'),
        nlkKode: r.requiredCode('nlkKode'),
        norsk_bruksnavn: r.text('norsk_bruksnavn'),
        komponent: r.text('komponent'),
        system: r.text('system'),
        enhet: r.text('enhet'),
        egenskapsart: r.text('egenskapsart'),
        spesifisertKomponent: r.text('spesifisertKomponent'),
        npuDefinisjon: r.text('npuDefinisjon'),
        npuSpesialitet: r.text('npuSpesialitet'),
        fagomraadeSekundaert: r.text('fagomraadeSekundaert'),
        fagomraadeNlk: r.text('fagomraadeNlk'),
        fradato: r.date('fradato'),
        tildato: r.date('tildato'),
        refusjonskategori: r.code('refusjonskategori'),
        erstattesAv: r.code('erstattesAv'),
        hvaEndret: r.text('hvaEndret'),
        sistEndretDato: r.date('sistEndretDato'),
        stjernekode: r.textOrFlag('stjernekode'),
        ugyldigKombinasjon: r.text('ugyldigKombinasjon'),
        systemSpesifikasjon: r.text('systemSpesifikasjon'),
        egenskapsartSpesifikasjon: r.text('egenskapsartSpesifikasjon'),
        gruppering: r.text('gruppering'),
        refusjonskategorisats,
      };
    },
    true,
  );
}

export function parseApatkombinasjoner(json: unknown): ApatkombinasjonDto[] {
  const rows = extractRows(json, ['apatKombinasjoner', 'apatkombinasjoner'], 'apatkombinasjoner');
  return parseRows(
    rows,
    'apatkombinasjoner',
    (r) => ({
      t_kode: r.requiredCode('t_kode'),
      p_kode: r.requiredCode('p_kode'),
      refusjonskategori: r.code('refusjonskategori'),
      belop: r.decimal('belop'),
      samhandler_type: r.code('samhandler_type'),
      fradato: r.date('fradato'),
      tildato: r.date('tildato'),
    }),
    true,
  );
}

/** Names tried for the nested praksistype list and its fields (not documented; inferred). */
const PRAKSISTYPE_LIST_KEYS = ['praksistyper', 'praksisTyper', 'praksistype'];
const PRAKSISTYPE_CODE_KEYS = ['praksis_type_kode', 'praksistypekode', 'praksistype', 'kode'];
const TEXT_KEYS = ['beskrivelse', 'navn', 'tekst', 'samhandler_praksis_type'];

/**
 * /v1/fagomraader: fagområder with their praksistyper nested ("har nøstede praksistyper"); a row
 * without a nested list has none. A praksistype naming another fagområde than its parent is refused.
 */
export function parseFagomraader(json: unknown): FagomraadeDto[] {
  const rows = extractRows(json, ['fagomraader'], 'fagomraader');
  return parseRows(
    rows,
    'fagomraader',
    (r) => {
      const fagomraadekode = r.requiredCode('fagomraadekode', 'fagomraade', 'kode');
      const list = r.raw(...PRAKSISTYPE_LIST_KEYS);
      if (list !== undefined && list !== null && !Array.isArray(list)) {
        throw new ValueError(`${r.path}.praksistyper`, 'expected a list');
      }
      const praksistyper = (list ?? []).map((p, i) => {
        const pr = new FieldReader(p, `${r.path}.praksistyper[${i}]`);
        const own = pr.code('fagomraadekode', 'fagomraade');
        if (own !== null && own !== fagomraadekode) {
          throw new ValueError(`${pr.path}.fagomraadekode`, `${own} inside fagområde ${fagomraadekode}`);
        }
        return {
          praksis_type_kode: pr.requiredCode(PRAKSISTYPE_CODE_KEYS[0], ...PRAKSISTYPE_CODE_KEYS.slice(1)),
          beskrivelse: pr.text(TEXT_KEYS[0], ...TEXT_KEYS.slice(1)),
          fagomraadekode,
        };
      });
      return {
        fagomraadekode,
        beskrivelse: r.text('beskrivelse', 'fagomraadebeskrivelse', 'navn', 'tekst'),
        praksistyper,
      };
    },
    true,
  );
}

export function parseBandasjister(json: unknown): BandasjistDto[] {
  const rows = extractRows(json, ['bandasjister'], 'bandasjister');
  return parseRows(rows, 'bandasjister', (r) => ({
    sar_id: r.requiredCode('sar_id'),
    sar_navn: r.text('sar_navn'),
    sar_orgnr: r.code('sar_orgnr'),
    hovedenhet_orgnr: r.code('hovedenhet_orgnr'),
    underenhet_orgnr: r.code('underenhet_orgnr'),
    gyldig_fra: r.date('gyldig_fra'),
    gyldig_til: r.date('gyldig_til'),
    status: r.code('status'),
    tidspunkt_registrert: r.date('tidspunkt_registrert'),
    tidspunkt_oppdatert: r.date('tidspunkt_oppdatert'),
  }));
}

// ---------------------------------------------------------------------------------------------
// Client

export interface TakstkoderQuery {
  fagomraade?: string;
  /** yyyy-MM-dd */
  gyldigdato?: string;
  /** `%` is the wildcard (sent as %25) */
  takstkode?: string;
  beskrivelse?: string;
  offisielle_ugyldige_takstkombinasjoner?: 'ja' | 'nei';
}

export interface NlkkoderQuery {
  gyldigdato?: string;
  nlkkode?: string;
  samhandlertype?: Samhandlertype;
}

export interface SamhandlerQuery {
  gyldigdato?: string;
  samhandlertype?: Samhandlertype;
}

export interface HelserefusjonClientOptions
  extends Omit<UpstreamHttpOptions, 'upstream' | 'dispatcher' | 'signal' | 'headers'> {
  dispatcher: Dispatcher;
  /** default HELSEREFUSJON_BASE_URL */
  baseUrl?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface HelserefusjonClient {
  takstkoder(query?: TakstkoderQuery, call?: CallOptions): Promise<TakstkodeDto[]>;
  nlkkoder(query?: NlkkoderQuery, call?: CallOptions): Promise<NlkKodeDto[]>;
  fagomraader(call?: CallOptions): Promise<FagomraadeDto[]>;
  refusjonskategorisatser(query?: SamhandlerQuery, call?: CallOptions): Promise<RefusjonskategorisatsDto[]>;
  apatkombinasjoner(query?: SamhandlerQuery, call?: CallOptions): Promise<ApatkombinasjonDto[]>;
  bandasjister(call?: CallOptions): Promise<BandasjistDto[]>;
}

export function createHelserefusjonClient(options: HelserefusjonClientOptions): HelserefusjonClient {
  const { baseUrl = HELSEREFUSJON_BASE_URL, ...http } = options;
  const root = baseUrl.replace(/\/+$/, '');

  async function get<T>(
    path: string,
    query: object | undefined,
    call: CallOptions | undefined,
    parse: (json: unknown) => T,
  ): Promise<T> {
    const url = new URL(`${root}${path}`);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (typeof v === 'string' && v !== '') url.searchParams.set(k, v);
    }
    const href = url.toString();
    const json = await getJson(href, { ...http, upstream: HELSEREFUSJON_UPSTREAM, signal: call?.signal });
    try {
      return parse(json);
    } catch (err) {
      if (err instanceof UpstreamError) throw err.withDetails({ url: href });
      throw err;
    }
  }

  return {
    takstkoder: (q, c) => get('/v1/takstkoder', q, c, (j) => parseTakstkoder(j, { fagomraade: q?.fagomraade })),
    nlkkoder: (q, c) => get('/v1/nlkkoder', q, c, parseNlkkoder),
    fagomraader: (c) => get('/v1/fagomraader', undefined, c, parseFagomraader),
    refusjonskategorisatser: (q, c) => get('/v1/refusjonskategorisatser', q, c, parseRefusjonskategorisatser),
    apatkombinasjoner: (q, c) => get('/v1/apatkombinasjoner', q, c, parseApatkombinasjoner),
    bandasjister: (c) => get('/v1/bandasjister', undefined, c, parseBandasjister),
  };
}
