import type {
  CodeSystem,
  CodeSystemConcept,
  CodeSystemConceptProperty,
  CodeSystemProperty,
  ConceptMap,
  ConceptMapGroupElement,
  ValueSet,
} from '@medplum/fhirtypes';
import type { NlkReleaseRowDto } from '../src/helserefusjon/nlk-release.ts';
import type { NlkKodeDto, Samhandlertype } from '../src/upstream/helserefusjon.ts';
import {
  addDays,
  allCodesValueSet,
  canonicalWithVersion,
  codeProperty,
  datePart,
  dateTimeProperty,
  sourceMetadata,
  stringProperty,
} from './common.ts';
import {
  type DataSource,
  EXT_REPLACED_BY,
  JURISDICTION_NO,
  NLK_ID,
  NLK_REPLACED_BY_CONCEPTMAP,
  NLK_SYSTEM,
  NLK_VALUESET,
  refusjonskategorierSystem,
  URN_IETF_RFC_3986,
  VALID_FROM_PROPERTY_URI,
  VALID_TO_PROPERTY_URI,
} from './systems.ts';

/**
 * NLK (Norsk laboratoriekodeverk, `urn:oid:2.16.578.1.12.4.1.1.7280`) → one CodeSystem, its
 * all-codes ValueSet, and a ConceptMap of the replacements (`erstattesAv`).
 *
 * - code = `nlkKode` (NPUnnnnn / NORnnnnn); display = `norsk_bruksnavn` verbatim; definition = the
 *   NPU definition (`npuDefinisjon`, the release's `kodedefinisjon`) verbatim.
 * - Property codes are the API's field names (so the release file and the live API give the same
 *   properties). The release file's `komponent_spesifikasjon` has no documented API twin and gets
 *   its own property, `komponentSpesifikasjon`.
 * - Validity: `fradato`/`tildato` (dateTime; `tildato` is the last valid day), declared with the
 *   validity URIs (VALID_FROM_PROPERTY_URI, VALID_TO_PROPERTY_URI). Ended codes stay in the code
 *   system. Whether a code is active or retired depends on the day asked about, so the mapping
 *   does not state it: the terminology engine works it out from fradato/tildato, for the request's
 *   `date` or today (a long-running server sees a code retire at midnight without a reload).
 * - Replacement: property `erstattesAv` (code), the R4 extension codesystem-replacedby, and one
 *   ConceptMap element per replaced code (equivalence `relatedto`, see toConceptMapNlkReplacedBy).
 * - Refusjonskategori: per samhandlertype (PO, LR) when the live API's answers for those are given,
 *   as property `refusjonskategori` with a Coding in that samhandlertype's refusjonskategorier
 *   system (the system says which samhandlertype the category is for).
 */

export const NLK_PROPERTIES: readonly CodeSystemProperty[] = [
  {
    code: 'fradato',
    uri: VALID_FROM_PROPERTY_URI,
    type: 'dateTime',
    description: 'Gyldig fra (release: gyldig_fra)',
  },
  {
    code: 'tildato',
    uri: VALID_TO_PROPERTY_URI,
    type: 'dateTime',
    description: 'Gyldig til og med (release: gyldig_til); koden er utgått (retired) etter denne dagen',
  },
  { code: 'erstattesAv', type: 'code', description: 'Koden som erstatter denne (release: erstattes_av)' },
  { code: 'sistEndretDato', type: 'dateTime', description: 'Sist endret (release: endringsdato)' },
  { code: 'komponent', type: 'string', description: 'Komponent' },
  {
    code: 'komponentSpesifikasjon',
    type: 'string',
    description: 'Komponentspesifikasjon (release: komponent_spesifikasjon)',
  },
  { code: 'spesifisertKomponent', type: 'string', description: 'Spesifisert komponent (API-feltet)' },
  { code: 'system', type: 'string', description: 'System (prøvemateriale)' },
  { code: 'systemSpesifikasjon', type: 'string', description: 'Systemspesifikasjon' },
  { code: 'egenskapsart', type: 'string', description: 'Egenskapsart' },
  { code: 'egenskapsartSpesifikasjon', type: 'string', description: 'Egenskapsartspesifikasjon' },
  { code: 'enhet', type: 'string', description: 'Enhet' },
  { code: 'npuDefinisjon', type: 'string', description: 'NPU-definisjon (release: kodedefinisjon)' },
  { code: 'npuSpesialitet', type: 'string', description: 'NPU-spesialitet' },
  { code: 'fagomraadeNlk', type: 'string', description: 'Primært fagområde (release: primært_fagområde)' },
  { code: 'fagomraadeSekundaert', type: 'string', description: 'Sekundært fagområde (release: sekundært_fagområde)' },
  { code: 'gruppering', type: 'string', description: 'Gruppering' },
  { code: 'nlkKodeid', type: 'string', description: 'Radens id i Helserefusjon' },
  { code: 'hvaEndret', type: 'string', description: 'Hva er endret' },
  { code: 'stjernekode', type: 'string', description: 'Stjernekode (verdien slik den er sendt)' },
  { code: 'ugyldigKombinasjon', type: 'string', description: 'Ugyldige kombinasjoner (teksten uendret)' },
  {
    code: 'refusjonskategori',
    type: 'Coding',
    description: 'Refusjonskategori; kodesystemet sier hvilken samhandlertype (PO, LR) den gjelder',
  },
];

/** The release file's row as an API row (column names renamed; values unchanged). */
export function fromNlkReleaseRow(row: NlkReleaseRowDto): NlkKodeDto {
  return {
    nlkKodeid: null,
    nlkKode: (row.kode ?? '').trim(),
    norsk_bruksnavn: row.norsk_bruksnavn,
    komponent: row.komponent,
    system: row.system,
    enhet: row.enhet,
    egenskapsart: row.egenskapsart,
    spesifisertKomponent: null,
    npuDefinisjon: row.kodedefinisjon,
    npuSpesialitet: null,
    fagomraadeSekundaert: row.sekundært_fagområde,
    fagomraadeNlk: row.primært_fagområde,
    fradato: row.gyldig_fra,
    tildato: row.gyldig_til,
    refusjonskategori: null,
    erstattesAv: row.erstattes_av === null ? null : row.erstattes_av.trim(),
    hvaEndret: null,
    sistEndretDato: row.endringsdato,
    stjernekode: null,
    ugyldigKombinasjon: null,
    systemSpesifikasjon: row.system_spesifikasjon,
    egenskapsartSpesifikasjon: row.egenskapsart_spesifikasjon,
    gruppering: row.gruppering,
    refusjonskategorisats: [],
    komponentSpesifikasjon: row.komponent_spesifikasjon,
  };
}

export interface NlkContext {
  /** the release or retrieval the rows come from, e.g. `7280.77` */
  version: string;
  /**
   * @deprecated Ignored: whether a code is retired is worked out by the terminology engine from
   * `fradato`/`tildato` for the day asked about. Kept only so that callers still passing it
   * compile; drop it from them, then from here.
   */
  asOf?: string;
  source: DataSource;
  /** CodeSystem.date (last change); default: the latest fradato/sistEndretDato of the rows */
  date?: string;
  /** the live API's answers asked with samhandlertype=PO / LR, for refusjonskategori */
  refusjon?: Partial<Record<Samhandlertype, readonly NlkKodeDto[]>>;
}

export interface NlkResources {
  codeSystem: CodeSystem;
  valueSet: ValueSet;
  conceptMap: ConceptMap;
  warnings: string[];
}

/** The codes named in `erstattesAv` (one in every known row; a list is split on commas/space). */
export function replacementsOf(row: NlkKodeDto): string[] {
  if (row.erstattesAv === null) return [];
  return row.erstattesAv.split(/[\s,;]+/).filter((c) => c !== '' && c !== row.nlkKode);
}

/**
 * One row per code. A code listed twice (four in release 7280.77: a row ended 2025-10-31 and
 * "replaced by itself", plus a new open-ended row from 2025-09-23) is one concept: the open-ended
 * (else latest-ending) row, valid from the earliest start of the rows that overlap or touch it.
 * A self-replacement is no replacement and is dropped (replacementsOf).
 */
export function mergeNlkRows(rows: readonly NlkKodeDto[]): { rows: NlkKodeDto[]; warnings: string[] } {
  const groups = new Map<string, NlkKodeDto[]>();
  for (const r of rows) {
    const g = groups.get(r.nlkKode);
    if (g) g.push(r);
    else groups.set(r.nlkKode, [r]);
  }
  const warnings: string[] = [];
  const out: NlkKodeDto[] = [];
  for (const [code, g] of groups) {
    if (g.length === 1) {
      out.push(g[0]);
      continue;
    }
    const endKey = (r: NlkKodeDto) => (r.tildato === null ? '9999-99-99' : datePart(r.tildato));
    const startKey = (r: NlkKodeDto) => (r.fradato === null ? '0000-00-00' : datePart(r.fradato));
    const primary = [...g].sort(
      (a, b) => endKey(b).localeCompare(endKey(a)) || startKey(b).localeCompare(startKey(a)),
    )[0];
    // widen the start over the rows that overlap or touch the primary's period (latest first)
    let start = primary.fradato;
    const earlier = g.filter((r) => r !== primary).sort((a, b) => endKey(b).localeCompare(endKey(a)));
    for (const r of earlier) {
      if (start === null || r.fradato === null) continue;
      const touches = r.tildato === null || addDays(datePart(r.tildato), 1) >= datePart(start);
      if (touches && datePart(r.fradato) < datePart(start)) start = r.fradato;
    }
    out.push({ ...primary, fradato: start });
    warnings.push(`NLK ${code}: ${g.length} rows merged into one concept, valid from ${start ?? '(unknown)'}`);
  }
  return { rows: out, warnings };
}

export function toConceptNlk(
  row: NlkKodeDto,
  displays: ReadonlyMap<string, string>,
  refusjon: readonly { samhandlertype: Samhandlertype; kategori: ReadonlyMap<string, string> }[],
): CodeSystemConcept {
  const replacements = replacementsOf(row);
  const refusjonskategorier: CodeSystemConceptProperty[] = [];
  for (const r of refusjon) {
    const k = r.kategori.get(row.nlkKode);
    if (k !== undefined) {
      refusjonskategorier.push({
        code: 'refusjonskategori',
        valueCoding: { system: refusjonskategorierSystem(r.samhandlertype), code: k },
      });
    }
  }
  return {
    ...(replacements.length > 0
      ? {
          extension: replacements.map((c) => ({
            url: EXT_REPLACED_BY,
            valueCoding: { system: NLK_SYSTEM, code: c, ...(displays.has(c) ? { display: displays.get(c) } : {}) },
          })),
        }
      : {}),
    code: row.nlkKode,
    ...(row.norsk_bruksnavn !== null ? { display: row.norsk_bruksnavn } : {}),
    ...(row.npuDefinisjon !== null ? { definition: row.npuDefinisjon } : {}),
    property: [
      ...dateTimeProperty('fradato', row.fradato),
      ...dateTimeProperty('tildato', row.tildato),
      ...replacements.flatMap((c) => codeProperty('erstattesAv', c)),
      ...dateTimeProperty('sistEndretDato', row.sistEndretDato),
      ...stringProperty('komponent', row.komponent),
      ...stringProperty('komponentSpesifikasjon', row.komponentSpesifikasjon),
      ...stringProperty('spesifisertKomponent', row.spesifisertKomponent),
      ...stringProperty('system', row.system),
      ...stringProperty('systemSpesifikasjon', row.systemSpesifikasjon),
      ...stringProperty('egenskapsart', row.egenskapsart),
      ...stringProperty('egenskapsartSpesifikasjon', row.egenskapsartSpesifikasjon),
      ...stringProperty('enhet', row.enhet),
      ...stringProperty('npuDefinisjon', row.npuDefinisjon),
      ...stringProperty('npuSpesialitet', row.npuSpesialitet),
      ...stringProperty('fagomraadeNlk', row.fagomraadeNlk),
      ...stringProperty('fagomraadeSekundaert', row.fagomraadeSekundaert),
      ...stringProperty('gruppering', row.gruppering),
      ...stringProperty('nlkKodeid', row.nlkKodeid),
      ...stringProperty('hvaEndret', row.hvaEndret),
      ...stringProperty('stjernekode', row.stjernekode),
      ...stringProperty('ugyldigKombinasjon', row.ugyldigKombinasjon),
      ...refusjonskategorier,
    ],
  };
}

function latestDate(rows: readonly NlkKodeDto[]): string | undefined {
  let latest: string | undefined;
  for (const r of rows) {
    for (const d of [r.fradato, r.sistEndretDato]) {
      if (d !== null && (latest === undefined || datePart(d) > latest)) latest = datePart(d);
    }
  }
  return latest;
}

/** NLK as a CodeSystem (url = the OID), its all-codes ValueSet and the replacement ConceptMap. */
export function toCodeSystemNlk(input: readonly NlkKodeDto[], ctx: NlkContext): NlkResources {
  const { rows, warnings } = mergeNlkRows(input);
  const displays = new Map<string, string>();
  for (const r of rows) if (r.norsk_bruksnavn !== null) displays.set(r.nlkKode, r.norsk_bruksnavn);
  const refusjon = Object.entries(ctx.refusjon ?? {}).map(([st, list]) => ({
    samhandlertype: st as Samhandlertype,
    kategori: new Map(
      (list ?? []).flatMap((r) => (r.refusjonskategori !== null ? [[r.nlkKode, r.refusjonskategori] as const] : [])),
    ),
  }));
  for (const r of rows) {
    for (const c of replacementsOf(r)) {
      if (!displays.has(c)) warnings.push(`NLK ${r.nlkKode}: erstattesAv ${c} is not an NLK code in this version`);
    }
  }
  // the unmerged rows: merging moves a re-issued code's start back to its first row
  const date = ctx.date ?? latestDate(input);
  const meta = sourceMetadata(ctx.source);
  const concepts = rows.map((r) => toConceptNlk(r, displays, refusjon));
  const codeSystem: CodeSystem = {
    resourceType: 'CodeSystem',
    id: NLK_ID,
    url: NLK_SYSTEM,
    identifier: [{ system: URN_IETF_RFC_3986, value: NLK_SYSTEM }],
    version: ctx.version,
    name: 'NorskLaboratoriekodeverk',
    title: 'Norsk laboratoriekodeverk (NLK)',
    status: 'active',
    experimental: false,
    ...(date !== undefined ? { date } : {}),
    ...meta,
    description:
      `Norsk laboratoriekodeverk (NLK, Volven ${NLK_SYSTEM}), versjon ${ctx.version}: NPU-koder og norske NOR-koder for laboratorieanalyser. ` +
      'Utgåtte koder er med: gyldigheten står i fradato og tildato (siste gyldige dag), og en kode er utgått (retired) etter tildato. ' +
      'Erstatningskoder står i egenskapen erstattesAv og i ConceptMap ' +
      `${NLK_REPLACED_BY_CONCEPTMAP}.`,
    jurisdiction: [JURISDICTION_NO],
    caseSensitive: true,
    valueSet: canonicalWithVersion(NLK_VALUESET, ctx.version),
    content: 'complete',
    count: concepts.length,
    property: [...NLK_PROPERTIES],
    concept: concepts,
  };
  const valueSet = allCodesValueSet(codeSystem, {
    id: NLK_ID,
    url: NLK_VALUESET,
    name: 'NorskLaboratoriekodeverkAlleKoder',
    title: 'Norsk laboratoriekodeverk (NLK): alle koder',
  });
  return {
    codeSystem,
    valueSet,
    conceptMap: toConceptMapNlkReplacedBy(rows, date !== undefined ? { ...ctx, date } : ctx, displays),
    warnings,
  };
}

/**
 * `erstattesAv` as a ConceptMap NLK → NLK, usable with $translate. FHIR R4 has no "replaced by"
 * equivalence; a replacement says the old code should no longer be used and the new one is its
 * successor, not that the two mean exactly the same (the new code often specifies more, e.g.
 * NOR05001 P-ACE → NPU29069 P-ACE with unit U/L). So the equivalence is `relatedto` ("at least
 * some overlap in meaning") and each target says "erstattes av" in its comment; the map's
 * description states the semantics. Rows are expected to be merged (mergeNlkRows) already.
 */
export function toConceptMapNlkReplacedBy(
  rows: readonly NlkKodeDto[],
  ctx: NlkContext,
  displays?: ReadonlyMap<string, string>,
): ConceptMap {
  const names =
    displays ?? new Map(rows.flatMap((r) => (r.norsk_bruksnavn !== null ? [[r.nlkKode, r.norsk_bruksnavn]] : [])));
  const elements: ConceptMapGroupElement[] = [];
  for (const r of rows) {
    const targets = replacementsOf(r);
    if (targets.length === 0) continue;
    elements.push({
      code: r.nlkKode,
      ...(r.norsk_bruksnavn !== null ? { display: r.norsk_bruksnavn } : {}),
      target: targets.map((c) => ({
        code: c,
        ...(names.has(c) ? { display: names.get(c) } : {}),
        equivalence: 'relatedto',
        comment: `Erstattes av${r.tildato !== null ? ` (kildekoden gyldig til og med ${datePart(r.tildato)})` : ''}`,
      })),
    });
  }
  const date = ctx.date ?? latestDate(rows);
  return {
    resourceType: 'ConceptMap',
    id: 'nlk-7280-erstattes-av',
    url: NLK_REPLACED_BY_CONCEPTMAP,
    version: ctx.version,
    name: 'NlkErstattesAv',
    title: 'Norsk laboratoriekodeverk (NLK): erstatningskoder',
    status: 'active',
    experimental: false,
    ...(date !== undefined ? { date } : {}),
    ...sourceMetadata(ctx.source),
    description:
      'Hver kilde-kode i NLK er erstattet av mål-koden (NLK erstattes_av): kilde-koden bør ikke lenger brukes, og mål-koden er etterfølgeren. ' +
      'Ekvivalens relatedto, fordi en erstatning ikke alltid betyr nøyaktig det samme.',
    jurisdiction: [JURISDICTION_NO],
    sourceCanonical: NLK_VALUESET,
    targetCanonical: NLK_VALUESET,
    // a release without replacements maps nothing: no group (an empty one is not valid FHIR)
    ...(elements.length > 0
      ? {
          group: [
            {
              source: NLK_SYSTEM,
              sourceVersion: ctx.version,
              target: NLK_SYSTEM,
              targetVersion: ctx.version,
              element: elements,
            },
          ],
        }
      : {}),
  };
}
