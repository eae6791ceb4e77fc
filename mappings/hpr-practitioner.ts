import type {
  CodeableConcept,
  Coding,
  HumanName,
  Meta,
  Period,
  Practitioner,
  PractitionerQualification,
} from '@medplum/fhirtypes';
import type {
  HprAdministrativReaksjonDto,
  HprGodkjenningDto,
  HprKodeDto,
  HprPeriodeDto,
  HprPersonDto,
  HprPersonNavnDto,
  HprRettighetDto,
} from '../src/upstream/hpr.ts';
import { datePart, toFhirDateTime } from './common.ts';
import {
  DATA_SOURCE_TAG_SYSTEM,
  GODKJENNINGSTYPE_SYSTEM,
  HELSEPERSONELLKATEGORI_SYSTEM,
  HPR_API_NAME,
  HPR_IDENTIFIER_SYSTEM,
  hprSource,
  licenceExtension,
  NLOD_2_0_LICENCE,
  NO_BASIS_MIDDLENAME_EXTENSION,
  NO_BASIS_PRACTITIONER_PROFILE,
  SPESIALITET_SYSTEM,
  SYNTHETIC_DATA_TAG,
  volvenSystem,
} from './systems.ts';

/**
 * HPR person → no-basis-Practitioner (pure). research/norway-fhir.md §1.2 and §4; the profile is
 * shared/fhir/no-basis/package/StructureDefinition-no-basis-Practitioner.json (2.0.17):
 * - `identifier` slice HPR: system `urn:oid:2.16.578.1.12.4.1.4.4`, value the HPR number;
 * - `name` as no-basis-HumanName: `given` without the middle name, which goes to the
 *   no-basis-middlename extension ("In Norway Given name does not include middlenames");
 * - `qualification.code.coding` slices with fixed systems and a required code: one qualification
 *   per godkjenning with 9060 (helsepersonellkategori) and 7704 (godkjenningstype), one per
 *   spesialistgodkjenning with 7426, one per tilleggskompetanse and rekvisisjonsrett with the code
 *   system HPR names (`kodeverk.id`), each with its period.
 * A fødselsnummer is never emitted: the DTO has no field for it.
 *
 * Source and licence: `meta.source` is the HPR URL the data came from, `meta.tag` names HPR, the
 * `meta` extension source-licence states the licence, and the narrative ends with the source
 * statement (Helsedirektoratet's terms, seed 000: name the source next to the content, never appear
 * to be Helsedirektoratet, do not change the content). Nothing names this service as publisher or author.
 */

export interface PractitionerContext {
  /** today in Norway (`yyyy-MM-dd`): the day `active` is computed for */
  today: string;
  /** where the data was read (`meta.source`), e.g. `https://api.offentlig.hpr.nhn.no/v1/personer/9144889` */
  source: string;
  /** the data is synthetic (demo, HPR's test environment): tagged HTEST */
  synthetic?: boolean;
}

/** `meta.tag` naming HPR as the source of the data (the code is the upstream's short name). */
export const HPR_SOURCE_TAG: Coding = {
  system: DATA_SOURCE_TAG_SYSTEM,
  code: 'hpr',
  display:
    `Kilde: Helsepersonellregisteret (HPR), Helsedirektoratet; hentet fra «${HPR_API_NAME}» (Norsk helsenett) og gjengitt uendret. ` +
    'Ikke utgitt eller godkjent av Helsedirektoratet eller Norsk helsenett i denne FHIR-formen.',
};

/** Synthetic persons name no real source: they carry HTEST and this tag instead of HPR's tags. */
export const SYNTHETIC_HPR_TAG: Coding = {
  system: DATA_SOURCE_TAG_SYSTEM,
  code: 'synthetic',
  display: 'Syntetiske testdata i HPRs format: oppdiktede personer, ikke opplysninger fra HPR',
};

/**
 * Administrative reactions that take away the right to practise. ASSUMPTION from NAV's rules
 * (navikt/tsm-behandler `Behandler.kt`, research/upstream-apis.md §2.2): codes 1, 5 and 8 of HPR's
 * reaction list are suspensions; others (e.g. a warning) are not.
 */
export const SUSPENDING_REACTION_CODES: ReadonlySet<string> = new Set(['1', '5', '8']);

export function toPractitioner(dto: HprPersonDto, ctx: PractitionerContext): Practitioner {
  const name = dto.person ? toName(dto.person) : undefined;
  const birthDate = dto.person?.fødselsdato ? datePart(dto.person.fødselsdato) : undefined;
  const qualification = qualifications(dto);
  const meta: Meta = {
    // the licence as every directory resource states it (systems.ts, directoryMeta); none for synthetic data
    ...(ctx.synthetic ? {} : { extension: [licenceExtension(NLOD_2_0_LICENCE)] }),
    profile: [NO_BASIS_PRACTITIONER_PROFILE],
    ...(dto.sistOppdatert ? { lastUpdated: toInstant(dto.sistOppdatert) } : {}),
    source: ctx.source,
    tag: ctx.synthetic ? [{ ...SYNTHETIC_DATA_TAG }, SYNTHETIC_HPR_TAG] : [HPR_SOURCE_TAG],
  };
  return {
    resourceType: 'Practitioner',
    id: dto.hprNummer,
    meta,
    text: { status: 'generated', div: narrative(dto, name, qualification, ctx.synthetic === true) },
    identifier: [{ use: 'official', system: HPR_IDENTIFIER_SYSTEM, value: dto.hprNummer }],
    active: isActive(dto, ctx.today),
    ...(name ? { name: [name] } : {}),
    ...(birthDate ? { birthDate } : {}),
    ...(qualification.length ? { qualification } : {}),
  };
}

// --- Name ----------------------------------------------------------------------------------------

function clean(s: string | null | undefined): string | undefined {
  const t = s?.trim().replace(/\s+/g, ' ');
  return t ? t : undefined;
}

function toName(p: HprPersonNavnDto): HumanName | undefined {
  const fornavn = clean(p.fornavn);
  const mellomnavn = clean(p.mellomnavn);
  const etternavn = clean(p.etternavn);
  if (!fornavn && !mellomnavn && !etternavn) return undefined;
  return {
    ...(mellomnavn ? { extension: [{ url: NO_BASIS_MIDDLENAME_EXTENSION, valueString: mellomnavn }] } : {}),
    use: 'official',
    text: [fornavn, mellomnavn, etternavn].filter(Boolean).join(' '),
    ...(etternavn ? { family: etternavn } : {}),
    // several given names are legal and are separate `given` values; the middle name is not one
    ...(fornavn ? { given: fornavn.split(' ') } : {}),
  };
}

// --- Qualifications --------------------------------------------------------------------------

function coding(k: HprKodeDto | null, system: string): Coding | undefined {
  if (!k?.verdi) return undefined;
  return { system, code: k.verdi, ...(k.navn ? { display: k.navn } : {}) };
}

/** The code system HPR names for a value: `kodeverk.id` is the Volven OID number (e.g. 7702). */
function namedSystem(k: HprKodeDto | null): string | undefined {
  const id = k?.kodeverk?.id?.trim();
  if (!id) return undefined;
  if (/^\d{1,6}$/.test(id)) return volvenSystem(id);
  if (/^urn:oid:[0-2](\.\d+)+$/.test(id)) return id;
  if (/^[0-2](\.\d+)+$/.test(id)) return `urn:oid:${id}`;
  return undefined;
}

function concept(
  codings: (Coding | undefined)[],
  fallbackText: (string | null | undefined)[],
): CodeableConcept | undefined {
  const coded = codings.filter((c): c is Coding => c !== undefined);
  if (coded.length) return { coding: coded };
  // a value without a code cannot fill a no-basis slice (code 1..1): keep its name as text
  const text = fallbackText.map(clean).filter(Boolean).join(', ');
  return text ? { text } : undefined;
}

function toPeriod(p: HprPeriodeDto | null): Period | undefined {
  if (!p?.fra && !p?.til) return undefined;
  const start = p.fra ? toFhirDateTime(p.fra) : undefined;
  let end = p.til ? toFhirDateTime(p.til) : undefined;
  // FHIR per-1: start ≤ end. A reversed period keeps its start only.
  if (start && end && datePart(end) < datePart(start)) end = undefined;
  return { ...(start ? { start } : {}), ...(end ? { end } : {}) };
}

/**
 * Whether a right is left out: one HPR marks as ended (`avsluttetStatus`) but without an end date
 * would read as still valid, so it is dropped. An ended right with an end date stays: its period
 * says that it ended.
 */
function endedWithoutEnd(avsluttetStatus: HprKodeDto | null, periode: HprPeriodeDto | null): boolean {
  return avsluttetStatus !== null && !periode?.til;
}

function qualification(code: CodeableConcept | undefined, periode: HprPeriodeDto | null) {
  if (!code) return [];
  const period = toPeriod(periode);
  return [{ code, ...(period ? { period } : {}) } satisfies PractitionerQualification];
}

function rightQualifications(rights: HprRettighetDto[], system: (r: HprRettighetDto) => string | undefined) {
  return rights.flatMap((r) => {
    if (endedWithoutEnd(r.avsluttetStatus, r.periode)) return [];
    const s = system(r);
    return qualification(concept([s ? coding(r.type, s) : undefined], [r.type?.navn]), r.periode);
  });
}

function godkjenningQualifications(g: HprGodkjenningDto): PractitionerQualification[] {
  const own = endedWithoutEnd(g.avsluttetStatus, g.periode)
    ? []
    : qualification(
        concept(
          [
            coding(g.helsepersonellkategori, HELSEPERSONELLKATEGORI_SYSTEM),
            coding(g.autorisasjon, GODKJENNINGSTYPE_SYSTEM),
          ],
          [g.helsepersonellkategori?.navn, g.autorisasjon?.navn],
        ),
        g.periode,
      );
  return [
    ...own,
    ...rightQualifications(g.spesialistgodkjenninger, () => SPESIALITET_SYSTEM),
    ...rightQualifications(g.tilleggskompetanser, (r) => namedSystem(r.type)),
    ...rightQualifications(g.rekvisisjonsretter, (r) => namedSystem(r.type)),
  ];
}

function qualifications(dto: HprPersonDto): PractitionerQualification[] {
  return dto.godkjenninger.flatMap(godkjenningQualifications);
}

// --- active ----------------------------------------------------------------------------------

function covers(p: HprPeriodeDto | null, today: string): boolean {
  if (!p) return true;
  return (!p.fra || datePart(p.fra) <= today) && (!p.til || datePart(p.til) >= today);
}

function suspended(reactions: HprAdministrativReaksjonDto[], today: string): boolean {
  return reactions.some((r) => SUSPENDING_REACTION_CODES.has(r.type?.verdi ?? '') && covers(r.periode, today));
}

/** A godkjenning in force today: its period covers today, it is not ended and not suspended. */
export function isCurrentGodkjenning(g: HprGodkjenningDto, today: string): boolean {
  return (
    g.periode !== null &&
    covers(g.periode, today) &&
    g.avsluttetStatus === null &&
    !suspended(g.administrativeReaksjoner, today)
  );
}

/**
 * `Practitioner.active`: the person holds at least one godkjenning in force today, is not suspended
 * as a person, and is not registered as dead.
 */
export function isActive(dto: HprPersonDto, today: string): boolean {
  if (dto.person?.dødsdato && datePart(dto.person.dødsdato) <= today) return false;
  if (suspended(dto.administrativeReaksjoner, today)) return false;
  return dto.godkjenninger.some((g) => isCurrentGodkjenning(g, today));
}

// --- Dates -----------------------------------------------------------------------------------

const OSLO = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Oslo', timeZoneName: 'longOffset' });

function osloOffsetMinutes(utcMs: number): number {
  const name = OSLO.formatToParts(new Date(utcMs)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

/**
 * A normalised HPR date-time (local Norwegian time, no zone) as a FHIR instant, which needs a zone:
 * the Europe/Oslo offset of that wall-clock time. A date alone is midnight; a zone given is kept.
 */
export function toInstant(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(value);
  if (!m) throw new Error(`not a normalised date: ${value}`);
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = m;
  const wall = `${y}-${mo}-${d}T${h}:${mi}:${s}${frac}`;
  if (zone) return `${wall}${zone}`;
  const asUtc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  let off = osloOffsetMinutes(asUtc);
  off = osloOffsetMinutes(asUtc - off * 60_000);
  const abs = Math.abs(off);
  const sign = off < 0 ? '-' : '+';
  return `${wall}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

// --- Narrative -------------------------------------------------------------------------------

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function describe(q: PractitionerQualification): string {
  const what = q.code.coding?.map((c) => c.display ?? c.code).join(', ') || q.code.text || 'ukjent';
  const { start, end } = q.period ?? {};
  const when = start || end ? ` (${start ?? '…'} – ${end ?? ''})`.replace(' – )', ' –)') : '';
  return `${what}${when}`;
}

/** The narrative: who, the qualifications, and the source statement (next to the content, as the terms ask). */
function narrative(
  dto: HprPersonDto,
  name: HumanName | undefined,
  qs: PractitionerQualification[],
  synthetic: boolean,
): string {
  const who = name?.text ? `${esc(name.text)}, HPR-nummer ${dto.hprNummer}` : `HPR-nummer ${dto.hprNummer}`;
  const items = qs.map((q) => `<li>${esc(describe(q))}</li>`).join('');
  return (
    '<div xmlns="http://www.w3.org/1999/xhtml">' +
    `<p>${who}</p>` +
    (items ? `<ul>${items}</ul>` : '') +
    `<p>${esc(synthetic ? (SYNTHETIC_HPR_TAG.display ?? '') : hprSource().copyright)}</p>` +
    '</div>'
  );
}
