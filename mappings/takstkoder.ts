import type { CodeSystemConcept, CodeSystemProperty } from '@medplum/fhirtypes';
import type { TakstkodeDto } from '../src/upstream/helserefusjon.ts';
import {
  booleanProperty,
  dateTimeProperty,
  decimalProperty,
  integerProperty,
  stringProperty,
  type VersionedResources,
  versionedCodeSystems,
} from './common.ts';
import {
  type DataSource,
  FAGOMRAADER_SYSTEM,
  JURISDICTION_NO,
  takstkoderId,
  takstkoderSystem,
  takstkoderValueSet,
  VALID_FROM_PROPERTY_URI,
  VALID_TO_PROPERTY_URI,
} from './systems.ts';

/**
 * Helserefusjon `/v1/takstkoder` rows → one CodeSystem per fagområde (`takstkoder-le`), one version
 * per tariff period (common.ts versionedCodeSystems).
 *
 * - code = `takstkode` as sent (case-sensitive: `2ad`, `K01a`, `H1`); display = `beskrivelse`
 *   verbatim (it may hold line breaks; no display when the row has none).
 * - Every upstream field is a concept property whose code is the upstream field name, so data from
 *   the live API and the embedded rows look the same: amounts and percentages are decimals, counts
 *   integers, `fradato`/`tildato` dateTimes (declared with the validity URIs, so a row is valid
 *   from its fradato through its tildato), `spesialisttakst` and `maks_antall_gjelder_pasient`
 *   booleans, `ugyldig_kombinasjon` the verbatim text, `krever_*` text (their type is not
 *   documented: a yes/no arrives as "true"/"false"). A field without a value has no property.
 */

/** Property definitions, in the API's field order. */
export const TAKSTKODER_PROPERTIES: readonly CodeSystemProperty[] = [
  { code: 'takst_id', type: 'string', description: 'Radens id i Helserefusjon (én takst i én periode)' },
  { code: 'fagomraade', type: 'Coding', description: 'Fagområdet taksten gjelder for' },
  { code: 'fradato', uri: VALID_FROM_PROPERTY_URI, type: 'dateTime', description: 'Første gyldighetsdag' },
  { code: 'tildato', uri: VALID_TO_PROPERTY_URI, type: 'dateTime', description: 'Siste gyldighetsdag (til og med)' },
  { code: 'honorar', type: 'decimal', description: 'Honorar (kr)' },
  { code: 'refusjon', type: 'decimal', description: 'Refusjon fra folketrygden (kr)' },
  { code: 'egenandel', type: 'decimal', description: 'Egenandel (kr)' },
  { code: 'pasient_egenbetaling', type: 'decimal', description: 'Pasientens egenbetaling (kr)' },
  { code: 'maks_repetisjoner', type: 'integer', description: 'Største antall repetisjoner' },
  { code: 'repetisjonsprosent', type: 'decimal', description: 'Repetisjonsprosent' },
  { code: 'redusert_ref_fra_repetisjon', type: 'integer', description: 'Redusert refusjon fra og med repetisjon nr.' },
  { code: 'redusert_repetisjonsprosent', type: 'decimal', description: 'Redusert repetisjonsprosent' },
  { code: 'spesialisttakst', type: 'boolean', description: 'Spesialisttakst' },
  { code: 'ugyldig_kombinasjon', type: 'string', description: 'Ugyldige takstkombinasjoner (teksten uendret)' },
  { code: 'krever_takst', type: 'string', description: 'Krever takst (verdien slik den er sendt)' },
  { code: 'krever_prosedyre', type: 'string', description: 'Krever prosedyrekode (verdien slik den er sendt)' },
  { code: 'krever_diagnose', type: 'string', description: 'Krever diagnosekode (verdien slik den er sendt)' },
  { code: 'maks_antall_per_aar', type: 'integer', description: 'Største antall per år' },
  { code: 'maks_antall_per_kalender_aar', type: 'integer', description: 'Største antall per kalenderår' },
  { code: 'maks_antall_gjelder_pasient', type: 'boolean', description: 'Største antall gjelder per pasient' },
  { code: 'minimum_tidsbruk', type: 'decimal', description: 'Minste tidsbruk (minutter)' },
  { code: 'beskrivelse', type: 'string', description: 'Taksttekst (uendret)' },
  { code: 'resource_id', type: 'string', description: 'resource_id i Helserefusjon' },
  { code: 'tidsbruk_per_rep', type: 'decimal', description: 'Tidsbruk per repetisjon (minutter)' },
];

export interface TakstkoderContext {
  /** the fagområde these rows belong to (rows of other fagområder are left out with a warning) */
  fagomraade: string;
  /** its text, e.g. "Lege" (for titles and the fagomraade Coding) */
  fagomraadeBeskrivelse?: string;
  /** one source for all versions, or per version from its rows (embedded rows come from several publications) */
  source: DataSource | ((rows: readonly TakstkodeDto[]) => DataSource);
  /** `complete` for a full answer of the live API, `fragment` for the embedded extract */
  content: 'complete' | 'fragment';
}

export function toConceptTakstkode(row: TakstkodeDto, fagomraadeBeskrivelse?: string): CodeSystemConcept {
  return {
    code: row.takstkode,
    ...(row.beskrivelse !== null ? { display: row.beskrivelse } : {}),
    property: [
      ...stringProperty('takst_id', row.takst_id),
      {
        code: 'fagomraade',
        valueCoding: {
          system: FAGOMRAADER_SYSTEM,
          code: row.fagomraade,
          ...(fagomraadeBeskrivelse ? { display: fagomraadeBeskrivelse } : {}),
        },
      },
      ...dateTimeProperty('fradato', row.fradato),
      ...dateTimeProperty('tildato', row.tildato),
      ...decimalProperty('honorar', row.honorar),
      ...decimalProperty('refusjon', row.refusjon),
      ...decimalProperty('egenandel', row.egenandel),
      ...decimalProperty('pasient_egenbetaling', row.pasient_egenbetaling),
      ...integerProperty('maks_repetisjoner', row.maks_repetisjoner),
      ...decimalProperty('repetisjonsprosent', row.repetisjonsprosent),
      ...integerProperty('redusert_ref_fra_repetisjon', row.redusert_ref_fra_repetisjon),
      ...decimalProperty('redusert_repetisjonsprosent', row.redusert_repetisjonsprosent),
      ...booleanProperty('spesialisttakst', row.spesialisttakst),
      ...stringProperty('ugyldig_kombinasjon', row.ugyldig_kombinasjon),
      ...stringProperty('krever_takst', row.krever_takst),
      ...stringProperty('krever_prosedyre', row.krever_prosedyre),
      ...stringProperty('krever_diagnose', row.krever_diagnose),
      ...integerProperty('maks_antall_per_aar', row.maks_antall_per_aar),
      ...integerProperty('maks_antall_per_kalender_aar', row.maks_antall_per_kalender_aar),
      ...booleanProperty('maks_antall_gjelder_pasient', row.maks_antall_gjelder_pasient),
      ...decimalProperty('minimum_tidsbruk', row.minimum_tidsbruk),
      ...stringProperty('beskrivelse', row.beskrivelse),
      ...stringProperty('resource_id', row.resource_id),
      ...decimalProperty('tidsbruk_per_rep', row.tidsbruk_per_rep),
    ],
  };
}

/** The takstkoder of one fagområde: its CodeSystem versions and their all-codes ValueSets. */
export function toCodeSystemsTakstkoder(rows: readonly TakstkodeDto[], ctx: TakstkoderContext): VersionedResources {
  const f = ctx.fagomraade;
  const mine = rows.filter((r) => r.fagomraade === f);
  const others = rows.length - mine.length;
  const label = ctx.fagomraadeBeskrivelse ? `${f} (${ctx.fagomraadeBeskrivelse})` : f;
  const result = versionedCodeSystems({
    rows: mine,
    code: (r) => r.takstkode,
    from: (r) => r.fradato,
    to: (r) => r.tildato,
    toConcept: (r) => toConceptTakstkode(r, ctx.fagomraadeBeskrivelse),
    baseId: takstkoderId(f),
    url: takstkoderSystem(f),
    valueSetUrl: takstkoderValueSet(f),
    name: `Takstkoder${f.replace(/[^A-Za-z0-9]/g, '')}`,
    title: `Takstkoder ${label}`,
    description:
      `Takster (takstkoder) i fagområde ${label} i Helserefusjon-APIets form (/v1/takstkoder). ` +
      'En takstkode er bare entydig innenfor et fagområde, derfor ett kodesystem per fagområde; ' +
      'beløpene endres hvert år (normalt 1. juli), derfor én versjon per tariffperiode.' +
      (ctx.content === 'fragment' ? ' Utdrag: kodesystemet inneholder ikke alle takster.' : ''),
    what: `takstkoder ${f}`,
    source: ctx.source,
    content: ctx.content,
    jurisdiction: [JURISDICTION_NO],
    property: [...TAKSTKODER_PROPERTIES],
  });
  if (others > 0) result.warnings.unshift(`takstkoder ${f}: ${others} rows of other fagområder left out`);
  return result;
}

/** Rows grouped by fagområde, in first-seen order. */
export function groupByFagomraade(rows: readonly TakstkodeDto[]): Map<string, TakstkodeDto[]> {
  const out = new Map<string, TakstkodeDto[]>();
  for (const r of rows) {
    const list = out.get(r.fagomraade) ?? [];
    list.push(r);
    out.set(r.fagomraade, list);
  }
  return out;
}
