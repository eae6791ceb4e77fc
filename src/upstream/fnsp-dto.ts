import { UpstreamError } from './errors.ts';
import { FieldReader, readCode, readDate, readText, ValueError } from './values.ts';

/**
 * FNSP (Felles nettløsning for spesialisthelsetjenesten) open-data DTOs and their parsers.
 *
 * THIS IS THE ONE FILE TO EDIT WHEN THE REAL SHAPES ARE KNOWN. FNSP's API documentation is only
 * visible after registering at dev.fnsp.no, and no payload, client or OpenAPI document is public
 * (research/upstream-apis.md §3: searches for api.fnsp, dev.fnsp and /prosedyrer found nothing).
 * What is known [DOC, seed 004]:
 * - JSON; "enkeltoppslag, sammensatte søk og nedlastning av komplett datasett"; NLOD.
 * - `/prosedyrer` lists every treatment and examination ("prosedyrer", after SNOMED CT);
 *   `/prosedyrer/{behandling}` says which trusts (foretak) offer one;
 *   `/prosedyrer/{behandling}/{foretak}/` whether a given trust offers it (the trust's page).
 * - A page search by behandlings-id and organisasjonsnummer returns a treatment, place or department page.
 * - The sites (nettsteder) dataset: every site with its health region, language code and URL.
 * - Content per trust: before/during/after texts, contact information, address and a description of
 *   the meeting place, split into parts "tilsvarende det som vises på nettsiden".
 * - Code systems: RESH, SNOMED CT, HTK (Helsetjenestekatalogen), HRCS, CRISTIN, "FHIR og Schema (delvis)".
 *
 * Everything else below is an ASSUMPTION, marked [ASSUMED] beside the field. To stay useful when a
 * guess is wrong in spelling only, each field is looked up by a list of candidate names (the first
 * is the best guess), ignoring case, `_`, `-` and spaces (FieldReader), and scalar types are read
 * tolerantly (a number or a string for ids and codes, ISO or Norwegian dates). A payload that does
 * not fit at all fails with UPSTREAM_BAD_RESPONSE and a reason naming the field; in the full
 * dataset a single bad row is skipped with a warning instead, so one odd page cannot keep the
 * directory from refreshing.
 */

export const FNSP_UPSTREAM = 'fnsp';

/** [ASSUMED] path of the full-dataset download ("nedlastning av komplett datasett"); FNSP_DATASET_PATH overrides it. */
export const FNSP_DEFAULT_DATASET_PATH = '/nedlastning';
/** [ASSUMED] path of the sites dataset; FNSP_SITES_PATH overrides it. */
export const FNSP_DEFAULT_SITES_PATH = '/nettsteder';
/** [DOC] the procedure endpoints. */
export const FNSP_PROCEDURES_PATH = '/prosedyrer';

// ---------------------------------------------------------------------------------------------
// DTOs. Absent, null and empty all become null (or []). Texts are kept exactly as sent.

/** A code with its text: a SNOMED CT concept, a helsehjelpsområde. */
export interface FnspKodeDto {
  kode: string;
  tekst: string | null;
}

/** A treatment or examination, independent of the trust (one row of `/prosedyrer`). */
export interface FnspProsedyreDto {
  /** [ASSUMED] the behandlings-id used in `/prosedyrer/{behandling}`; a number or a string (slug, GUID) */
  id: string;
  /** [ASSUMED] the national title */
  navn: string | null;
  /** [DOC: SNOMED CT is used] [ASSUMED: one or more codes, as a code or {kode, tekst}] */
  snomed: FnspKodeDto[];
  /** [DOC: HTK is used] [ASSUMED: a code]; kept, not mapped (no FHIR system for HTK is known) */
  htk: string | null;
  /** [ASSUMED] a national page, if any */
  url: string | null;
}

/** A regional health authority (RHF). [DOC: the sites name their region] [ASSUMED: a name, or an object] */
export interface FnspHelseregionDto {
  navn: string | null;
  orgnr: string | null;
  reshId: string | null;
}

/** A hospital trust (helseforetak). [ASSUMED] identified by org.nr and/or RESH-id. */
export interface FnspForetakDto {
  navn: string | null;
  /** organisasjonsnummer, 9 digits (spaces removed) */
  orgnr: string | null;
  /** RESH-id [DOC: RESH is used] */
  reshId: string | null;
  helseregion: FnspHelseregionDto | null;
}

/** [DOC: "adresse"] [ASSUMED field names] A street address. */
export interface FnspAdresseDto {
  adresselinjer: string[];
  /** 4 digits (a JSON number is zero-padded: 150 → "0150") */
  postnummer: string | null;
  poststed: string | null;
  kommune: string | null;
  /** 4 digits (zero-padded) */
  kommunenummer: string | null;
}

/** [DOC: "beskrivelse av oppmøtestedet"] A meeting place of a procedure at a trust. */
export interface FnspOppmotestedDto {
  /** [ASSUMED] a stable id of the place, if FNSP has one */
  id: string | null;
  navn: string | null;
  /** how to find the place, verbatim */
  beskrivelse: string | null;
  adresse: FnspAdresseDto | null;
  telefon: string | null;
  epost: string | null;
  /** [ASSUMED] the RESH-id of the unit that receives the patient */
  reshId: string | null;
}

/** [DOC: "delt opp i flere biter"] One part of a trust's page: before, during, after, … */
export interface FnspTekstDto {
  /** [ASSUMED] a key such as `foer`, `under`, `etter` */
  type: string | null;
  overskrift: string | null;
  /** verbatim; may be plain text, markdown or HTML (unknown) */
  tekst: string;
}

/** A procedure as one trust offers it: the trust's page (`/prosedyrer/{behandling}/{foretak}`). */
export interface FnspTilbudDto {
  prosedyre: FnspProsedyreDto;
  foretak: FnspForetakDto;
  /** the trust's own title of the page */
  tittel: string | null;
  /** the trust's own summary */
  ingress: string | null;
  tekster: FnspTekstDto[];
  /** the page on the trust's site */
  url: string | null;
  oppmotesteder: FnspOppmotestedDto[];
  telefon: string | null;
  epost: string | null;
  /** [ASSUMED] Volven 8655 helsehjelpsområde codes, where FNSP carries them */
  helsehjelpsomraader: FnspKodeDto[];
  sistEndret: string | null;
}

/** One row of the sites dataset. */
export interface FnspNettstedDto {
  navn: string | null;
  url: string;
  /** [DOC] language code of the site, e.g. `nb`, `nn`, `en` */
  spraak: string | null;
  /** [DOC] the region of the site's trust */
  helseregion: FnspHelseregionDto | null;
  /** [ASSUMED] the trust the site belongs to (org.nr, RESH-id or name); null when only the name matches */
  foretak: FnspForetakDto | null;
}

/** `/prosedyrer/{behandling}`: the trusts that offer a procedure. */
export interface FnspProsedyreForetakDto {
  prosedyre: FnspProsedyreDto | null;
  foretak: FnspForetakDto[];
}

/** The full dataset, flattened to one row per procedure and trust. */
export interface FnspDatasettDto {
  tilbud: FnspTilbudDto[];
  /** null when the download does not include the sites (then they are fetched separately) */
  nettsteder: FnspNettstedDto[] | null;
  /** [ASSUMED] when FNSP made the file */
  generert: string | null;
}

export interface Parsed<T> {
  value: T;
  /** rows left out, with the reason */
  warnings: string[];
}

// ---------------------------------------------------------------------------------------------
// Candidate field names. The first of each list is the best guess; all are [ASSUMED].

const K = {
  prosedyreId: ['id', 'behandlingId', 'behandlingsId', 'prosedyreId', 'behandlingsid'],
  prosedyreNavn: ['navn', 'tittel', 'title', 'name'],
  snomed: ['snomed', 'snomedKoder', 'snomedCt', 'snomedKode', 'snomedCode', 'sctId'],
  htk: ['htk', 'htkKode', 'helsetjenestekatalogen'],
  url: ['url', 'lenke', 'link', 'nettadresse'],
  kode: ['kode', 'code', 'conceptId', 'sctId', 'id', 'verdi'],
  kodeTekst: ['tekst', 'term', 'navn', 'display', 'beskrivelse'],
  orgnr: ['orgnr', 'organisasjonsnummer', 'orgNummer', 'organizationNumber'],
  reshId: ['reshId', 'resh', 'reshNummer'],
  orgNavn: ['navn', 'name', 'foretaksnavn', 'tittel'],
  helseregion: ['helseregion', 'region', 'rhf', 'regionaltHelseforetak'],
  adresse: ['adresse', 'besoksadresse', 'besøksadresse', 'address', 'postadresse'],
  adresselinjer: ['adresselinjer', 'gateadresse', 'adresselinje', 'gate', 'linjer'],
  postnummer: ['postnummer', 'postnr', 'postalCode'],
  poststed: ['poststed', 'sted', 'by', 'city'],
  kommune: ['kommune', 'kommunenavn'],
  kommunenummer: ['kommunenummer', 'kommunenr'],
  stedId: ['id', 'stedId', 'oppmotestedId'],
  stedNavn: ['navn', 'tittel', 'name'],
  stedBeskrivelse: ['beskrivelse', 'veibeskrivelse', 'tekst', 'description'],
  telefon: ['telefon', 'telefonnummer', 'tlf', 'phone'],
  epost: ['epost', 'e-post', 'email'],
  tilbudProsedyre: ['prosedyre', 'behandling', 'undersokelse'],
  tilbudForetak: ['foretak', 'helseforetak', 'organisasjon'],
  tilbudTittel: ['tittel', 'lokalTittel', 'sidetittel', 'overskrift'],
  ingress: ['ingress', 'sammendrag', 'oppsummering'],
  tekster: ['tekster', 'seksjoner', 'innhold', 'avsnitt', 'deler'],
  tekstType: ['type', 'nokkel', 'key'],
  tekstOverskrift: ['overskrift', 'tittel', 'heading'],
  tekstInnhold: ['tekst', 'innhold', 'html', 'body', 'brodtekst'],
  sideUrl: ['url', 'sideUrl', 'lenke', 'nettside', 'link'],
  oppmotesteder: ['oppmotesteder', 'oppmøtesteder', 'oppmotested', 'oppmøtested', 'steder'],
  helsehjelpsomraader: ['helsehjelpsomraader', 'helsehjelpsomrader', 'helsehjelpsområder', 'helsehjelpsomraade'],
  sistEndret: ['sistEndret', 'sistOppdatert', 'endret', 'oppdatert'],
  /** [ASSUMED] a procedure row of the dataset nests its trusts' offers under one of these */
  nestedTilbud: ['foretak', 'tilbud', 'foretakstilbud', 'helseforetak'],
  datasettRows: ['prosedyrer', 'tilbud', 'behandlinger', 'data', 'items'],
  nettsteder: ['nettsteder', 'sites'],
  generert: ['generert', 'tidspunkt', 'opprettet', 'generated'],
  spraak: ['spraak', 'språk', 'sprak', 'spraakkode', 'språkkode', 'language', 'lang'],
} as const;

/**
 * [ASSUMED] page parts given as named fields instead of a list: before, during, after the
 * procedure. The key becomes the part's `type`. (`før` does not fold to `foer`, so both are listed.)
 */
const NAMED_TEXT_PARTS: readonly (readonly string[])[] = [
  ['foer', 'før', 'forberedelser'],
  ['under', 'gjennomforing', 'gjennomføring'],
  ['etter', 'etterbehandling', 'oppfolging', 'oppfølging'],
];

// ---------------------------------------------------------------------------------------------
// Readers

function badResponse(reason: string, cause?: unknown): UpstreamError {
  return new UpstreamError('UPSTREAM_BAD_RESPONSE', {
    upstream: FNSP_UPSTREAM,
    reason,
    ...(cause !== undefined ? { cause } : {}),
  });
}

/** Runs a parser, turning a ValueError into UPSTREAM_BAD_RESPONSE. */
function strict<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ValueError) throw badResponse(err.message, err);
    throw err;
  }
}

const first = (names: readonly string[]) => [names[0], ...names.slice(1)] as [string, ...string[]];

/** A value that may be one item or a list: always a list (null/absent is empty). */
function asList(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Digits only, zero-padded to `width` when it came as a shorter number (a JSON number loses zeros). */
function digits(v: string | null, width: number, path: string): string | null {
  if (v === null) return null;
  const s = v.replace(/[\s\u00a0]/g, '');
  if (!/^\d+$/.test(s)) throw new ValueError(path, `expected digits, got ${JSON.stringify(v.slice(0, 40))}`);
  return s.length < width ? s.padStart(width, '0') : s;
}

function code(r: FieldReader, names: readonly string[]): string | null {
  const [n, ...rest] = first(names);
  return r.code(n, ...rest);
}

function text(r: FieldReader, names: readonly string[]): string | null {
  const [n, ...rest] = first(names);
  return r.text(n, ...rest);
}

function raw(r: FieldReader, names: readonly string[]): unknown {
  return r.raw(...names);
}

/** A code given as a scalar or as an object {kode, tekst}. */
function kode(v: unknown, path: string): FnspKodeDto | null {
  if (isObject(v)) {
    const r = new FieldReader(v, path);
    const c = code(r, K.kode);
    if (c === null || c === '') throw new ValueError(`${path}.kode`, 'missing');
    return { kode: c, tekst: text(r, K.kodeTekst) };
  }
  const c = readCode(v, path);
  return c === null || c === '' ? null : { kode: c, tekst: null };
}

function koder(v: unknown, path: string): FnspKodeDto[] {
  return asList(v)
    .map((x, i) => kode(x, `${path}[${i}]`))
    .filter((x): x is FnspKodeDto => x !== null);
}

function region(v: unknown, path: string): FnspHelseregionDto | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) {
    const navn = readText(v, path);
    return navn === null ? null : { navn, orgnr: null, reshId: null };
  }
  const r = new FieldReader(v, path);
  return {
    navn: text(r, K.orgNavn),
    orgnr: digits(code(r, K.orgnr), 9, `${path}.orgnr`),
    reshId: code(r, K.reshId),
  };
}

/** A trust object: `{navn, orgnr, reshId, helseregion}`; at least one of the ids is required. */
function foretakObject(r: FieldReader, nameKeys: readonly string[] = K.orgNavn): FnspForetakDto {
  const orgnr = digits(code(r, K.orgnr), 9, `${r.path}.orgnr`);
  const reshId = code(r, K.reshId);
  if (orgnr === null && reshId === null) throw new ValueError(`${r.path}.orgnr`, 'missing (neither orgnr nor reshId)');
  return {
    navn: text(r, nameKeys),
    orgnr,
    reshId,
    helseregion: region(raw(r, K.helseregion), `${r.path}.helseregion`),
  };
}

/**
 * The trust of an offer row: nested under `foretak`, or as the row's own fields (flat; then the
 * row's `navn` is the procedure's, so the trust's name is looked for as `foretaksnavn`).
 */
function foretak(r: FieldReader, required: boolean): FnspForetakDto | null {
  const nested = raw(r, K.tilbudForetak);
  if (isObject(nested)) return foretakObject(new FieldReader(nested, `${r.path}.foretak`));
  if (!required && code(r, K.orgnr) === null && code(r, K.reshId) === null) return null;
  return foretakObject(r, ['foretaksnavn', 'foretakNavn']);
}

/** An entry of a list of trusts: an offer with a nested trust, or the trust object itself. */
function foretakEntry(v: unknown, path: string): FnspForetakDto {
  const r = new FieldReader(v, path);
  const nested = raw(r, K.tilbudForetak);
  return foretakObject(isObject(nested) ? new FieldReader(nested, `${path}.foretak`) : r);
}

function prosedyreFrom(r: FieldReader): FnspProsedyreDto {
  const id = code(r, K.prosedyreId);
  if (id === null || id === '') throw new ValueError(`${r.path}.id`, 'missing (behandlings-id)');
  return {
    id,
    navn: text(r, K.prosedyreNavn),
    snomed: koder(raw(r, K.snomed), `${r.path}.snomed`),
    htk: code(r, K.htk),
    url: text(r, K.url),
  };
}

function adresse(v: unknown, path: string, owner: FieldReader): FnspAdresseDto | null {
  // an address object; or a one-line string with the postal fields beside it on the owner
  const r = isObject(v) ? new FieldReader(v, path) : owner;
  const lines = isObject(v) ? raw(r, K.adresselinjer) : v;
  const adresselinjer = asList(lines)
    .map((x, i) => readText(x, `${path}.adresselinjer[${i}]`))
    .filter((x): x is string => x !== null);
  const a: FnspAdresseDto = {
    adresselinjer,
    postnummer: digits(code(r, K.postnummer), 4, `${path}.postnummer`),
    poststed: text(r, K.poststed),
    kommune: text(r, K.kommune),
    kommunenummer: digits(code(r, K.kommunenummer), 4, `${path}.kommunenummer`),
  };
  const empty = a.adresselinjer.length === 0 && a.postnummer === null && a.poststed === null && a.kommune === null;
  return empty ? null : a;
}

function oppmotested(v: unknown, path: string): FnspOppmotestedDto {
  const r = new FieldReader(v, path);
  return {
    id: code(r, K.stedId),
    navn: text(r, K.stedNavn),
    beskrivelse: text(r, K.stedBeskrivelse),
    adresse: adresse(raw(r, K.adresse), `${path}.adresse`, r),
    telefon: text(r, K.telefon),
    epost: text(r, K.epost),
    reshId: code(r, K.reshId),
  };
}

function tekster(r: FieldReader): FnspTekstDto[] {
  const list = raw(r, K.tekster);
  if (Array.isArray(list)) {
    return list.flatMap((x, i) => {
      const path = `${r.path}.tekster[${i}]`;
      if (!isObject(x)) {
        const t = readText(x, path);
        return t === null ? [] : [{ type: null, overskrift: null, tekst: t }];
      }
      const tr = new FieldReader(x, path);
      const t = text(tr, K.tekstInnhold);
      return t === null ? [] : [{ type: code(tr, K.tekstType), overskrift: text(tr, K.tekstOverskrift), tekst: t }];
    });
  }
  if (list !== undefined && list !== null) throw new ValueError(`${r.path}.tekster`, 'expected a list');
  return NAMED_TEXT_PARTS.flatMap((names) => {
    const t = readText(r.raw(...names), `${r.path}.${names[0]}`);
    return t === null ? [] : [{ type: names[0], overskrift: null, tekst: t }];
  });
}

/**
 * One procedure at one trust. `prosedyre` is given when the row sits inside a procedure (nested
 * dataset); otherwise the row carries it, nested under `prosedyre` or as its own fields (flat).
 */
function tilbud(v: unknown, path: string, prosedyre?: FnspProsedyreDto): FnspTilbudDto {
  const r = new FieldReader(v, path);
  let p = prosedyre;
  if (p === undefined) {
    const nested = raw(r, K.tilbudProsedyre);
    p = prosedyreFrom(isObject(nested) ? new FieldReader(nested, `${path}.prosedyre`) : r);
  }
  const f = foretak(r, true) as FnspForetakDto;
  return {
    prosedyre: p,
    foretak: f,
    tittel: text(r, K.tilbudTittel),
    ingress: text(r, K.ingress),
    tekster: tekster(r),
    url: text(r, K.sideUrl),
    oppmotesteder: asList(raw(r, K.oppmotesteder)).map((x, i) => oppmotested(x, `${path}.oppmotesteder[${i}]`)),
    telefon: text(r, K.telefon),
    epost: text(r, K.epost),
    helsehjelpsomraader: koder(raw(r, K.helsehjelpsomraader), `${path}.helsehjelpsomraader`),
    sistEndret: r.date(K.sistEndret[0], ...K.sistEndret.slice(1)),
  };
}

function nettsted(v: unknown, path: string): FnspNettstedDto {
  const r = new FieldReader(v, path);
  const url = text(r, K.url);
  if (url === null) throw new ValueError(`${path}.url`, 'missing');
  return {
    navn: text(r, K.orgNavn),
    url,
    spraak: code(r, K.spraak),
    helseregion: region(raw(r, K.helseregion), `${path}.helseregion`),
    foretak: foretak(r, false),
  };
}

/**
 * The row list of a response: the body when it is an array, else the first candidate key holding a
 * list, else the only list in the object.
 */
function rowsOf(json: unknown, keys: readonly string[], what: string): unknown[] {
  if (Array.isArray(json)) return json;
  if (!isObject(json)) {
    throw badResponse(`${what}: expected a JSON object or array, got ${json === null ? 'null' : typeof json}`);
  }
  const r = new FieldReader(json, what);
  const hit = r.raw(...keys);
  if (Array.isArray(hit)) return hit;
  const lists = Object.entries(json).filter(([, v]) => Array.isArray(v));
  if (lists.length === 1) return lists[0][1] as unknown[];
  throw badResponse(`${what}: no "${keys[0]}" list in the response`);
}

// ---------------------------------------------------------------------------------------------
// Parsers of the endpoints

/** `/prosedyrer`: every procedure. [ASSUMED] a list, bare or under `prosedyrer`. */
export function parseProsedyrer(json: unknown): FnspProsedyreDto[] {
  const rows = rowsOf(json, K.datasettRows, 'prosedyrer');
  return strict(() => rows.map((row, i) => prosedyreFrom(new FieldReader(row, `prosedyrer[${i}]`))));
}

/**
 * `/prosedyrer/{behandling}`: the trusts offering it. [ASSUMED] either a bare list of trusts (or of
 * offers carrying a trust), or the procedure object with the list under `foretak`.
 */
export function parseProsedyreForetak(json: unknown): FnspProsedyreForetakDto {
  return strict(() => {
    if (Array.isArray(json)) {
      return {
        prosedyre: null,
        foretak: json.map((x, i) => foretakEntry(x, `foretak[${i}]`)),
      };
    }
    const r = new FieldReader(json, 'prosedyre');
    const list = raw(r, K.nestedTilbud);
    if (!Array.isArray(list)) throw new ValueError('prosedyre.foretak', 'expected a list of trusts');
    return {
      prosedyre: prosedyreFrom(r),
      foretak: list.map((x, i) => foretakEntry(x, `prosedyre.foretak[${i}]`)),
    };
  });
}

/** `/prosedyrer/{behandling}/{foretak}`: the trust's page. [ASSUMED] one object (a one-item list is accepted). */
export function parseTilbud(json: unknown): FnspTilbudDto {
  const obj = Array.isArray(json) && json.length === 1 ? json[0] : json;
  return strict(() => tilbud(obj, 'tilbud'));
}

/** The sites dataset. [ASSUMED] a list, bare or under `nettsteder`. */
export function parseNettsteder(json: unknown): FnspNettstedDto[] {
  const rows = rowsOf(json, K.nettsteder, 'nettsteder');
  return strict(() => rows.map((row, i) => nettsted(row, `nettsteder[${i}]`)));
}

/**
 * The full-dataset download. [ASSUMED] Either
 * - nested: procedures, each with its trusts' offers in a list (`foretak`/`tilbud`), or
 * - flat: one row per procedure and trust, the procedure nested under `prosedyre` or as the row's fields,
 * as a bare list or under `prosedyrer`/`tilbud`, optionally with `nettsteder` and `generert` beside it.
 * Bad rows are skipped with a warning; a dataset whose every row is bad is a bad response.
 */
export function parseDatasett(json: unknown): Parsed<FnspDatasettDto> {
  const rows = rowsOf(json, K.datasettRows, 'datasett');
  const warnings: string[] = [];
  const out: FnspTilbudDto[] = [];
  rows.forEach((row, i) => {
    const path = `datasett[${i}]`;
    try {
      const r = new FieldReader(row, path);
      const nested = raw(r, K.nestedTilbud);
      if (Array.isArray(nested)) {
        const p = prosedyreFrom(r);
        nested.forEach((x, j) => {
          try {
            out.push(tilbud(x, `${path}.foretak[${j}]`, p));
          } catch (err) {
            if (!(err instanceof ValueError)) throw err;
            warnings.push(`${err.message}; left out`);
          }
        });
      } else {
        out.push(tilbud(row, path));
      }
    } catch (err) {
      if (!(err instanceof ValueError)) throw err;
      warnings.push(`${err.message}; left out`);
    }
  });
  if (rows.length > 0 && out.length === 0) {
    throw badResponse(`datasett: no usable row (${warnings[0] ?? 'empty'})`);
  }
  let nettsteder: FnspNettstedDto[] | null = null;
  let generert: string | null = null;
  if (isObject(json)) {
    const r = new FieldReader(json, 'datasett');
    const sites = r.raw(...K.nettsteder);
    if (Array.isArray(sites)) nettsteder = parseNettsteder(sites);
    try {
      generert = readDate(r.raw(...K.generert), 'datasett.generert');
    } catch (err) {
      if (!(err instanceof ValueError)) throw err;
      warnings.push(`${err.message}; ignored`);
    }
  }
  return { value: { tilbud: out, nettsteder, generert }, warnings };
}
