/**
 * Canonical URLs, identifier systems and the publisher/licence wording of the resources the
 * mappings emit: named once, here.
 *
 * National identifiers are used where they exist (NLK has a Volven OID). For the Helserefusjon code
 * lists (takstkoder, fagområder, praksistyper, refusjonskategorier, APAT combinations) no national
 * OID or FHIR canonical exists (research/norway-fhir.md §3.3 and §8.7: HELFO's fagområde is not
 * Volven 8451), so they get canonicals under this service's own base. Those canonicals are ours:
 * they must not look as if Helfo or Helsedirektoratet published them (no helfo.no or helsedir.no).
 */

/**
 * The default base of the canonicals this service mints: `.example` (RFC 2606) is reserved, so it
 * can never collide with anyone's real URLs, and it never changes between releases.
 */
export const DEFAULT_CANONICAL_BASE = 'https://no-fhir-facade.example/fhir';

/**
 * The base of the canonicals this service mints (code systems, value sets, concept maps, property
 * and extension URLs): DEFAULT_CANONICAL_BASE, or `CANONICAL_BASE` for a deployment that owns a
 * domain. Read once, when this module is first loaded, so that every url below moves with it and
 * every answer (and every worker thread) uses the same one; src/config.ts checks the setting and
 * stops start-up with a message when it is not a usable base (then this falls back to the default).
 */
export const FACADE_CANONICAL_BASE = canonicalBaseOf(process.env.CANONICAL_BASE);

/** Why `raw` cannot be the canonical base (undefined when it can, or when it is not set). */
export function canonicalBaseProblem(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return `CANONICAL_BASE must be an absolute http(s) URL, got '${raw}'`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `CANONICAL_BASE must be an absolute http(s) URL, got '${raw}'`;
  if (url.username || url.password) return 'CANONICAL_BASE must not carry credentials';
  if (url.search || url.hash) return `CANONICAL_BASE must not have a query or fragment, got '${raw}'`;
  return undefined;
}

/** The canonical base a setting gives: itself without a trailing slash, or the default. */
export function canonicalBaseOf(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '' || canonicalBaseProblem(raw) !== undefined) return DEFAULT_CANONICAL_BASE;
  return raw.trim().replace(/\/+$/, '');
}

const cs = (id: string) => `${FACADE_CANONICAL_BASE}/CodeSystem/${id}`;
const vs = (id: string) => `${FACADE_CANONICAL_BASE}/ValueSet/${id}`;
const cm = (id: string) => `${FACADE_CANONICAL_BASE}/ConceptMap/${id}`;

// --- NLK, Norsk laboratoriekodeverk (Volven 7280) --------------------------------------------

export const NLK_OID = '2.16.578.1.12.4.1.1.7280';
/** The NLK system as instances carry it (no-basis uses `urn:oid:` for Volven code systems). */
export const NLK_SYSTEM = `urn:oid:${NLK_OID}`;
/**
 * Other canonicals of the same code system (research/norway-fhir.md §3.3): HL7 Norway's kodeverk
 * IG (current pattern), its older ehelse.no pattern used by NILAR, and NHN's FHIRCodeAndMore build.
 * Register them as CodeSystem aliases of NLK_SYSTEM.
 */
export const NLK_ALIASES: readonly string[] = [
  'http://helsedir.no/fhir/CodeSystem/no-kodeverk-7280-nlk',
  'http://ehelse.no/fhir/CodeSystem/no-kodeverk-7280-nlk',
  'http://helsenorge.no/fhir/CodeSystem/no-kodeverk-7280-nlk.codesystem',
];
export const NLK_ID = 'nlk-7280';
/** The all-codes ValueSet of NLK (CodeSystem.valueSet). */
export const NLK_VALUESET = vs(NLK_ID);
/** NLK → NLK replacements (`erstattes_av`). */
export const NLK_REPLACED_BY_CONCEPTMAP = cm('nlk-7280-erstattes-av');

// --- Helserefusjon code lists ----------------------------------------------------------------

export const FAGOMRAADER_ID = 'fagomraader';
export const FAGOMRAADER_SYSTEM = cs(FAGOMRAADER_ID);
export const FAGOMRAADER_VALUESET = vs(FAGOMRAADER_ID);

export const PRAKSISTYPER_ID = 'praksistyper';
export const PRAKSISTYPER_SYSTEM = cs(PRAKSISTYPER_ID);
export const PRAKSISTYPER_VALUESET = vs(PRAKSISTYPER_ID);
/** Resource id of the ValueSet of the praksistyper of one fagområde, e.g. `praksistyper-le`. */
export const praksistyperForFagomraadeId = (fagomraade: string) => `${PRAKSISTYPER_ID}-${fagomraade.toLowerCase()}`;
export const praksistyperForFagomraadeValueSet = (fagomraade: string) => vs(praksistyperForFagomraadeId(fagomraade));

/** Takstkoder are unique only within a fagområde: one code system per fagområde (`takstkoder-le`). */
export const takstkoderId = (fagomraade: string) => `takstkoder-${fagomraade.toLowerCase()}`;
export const takstkoderSystem = (fagomraade: string) => cs(takstkoderId(fagomraade));
export const takstkoderValueSet = (fagomraade: string) => vs(takstkoderId(fagomraade));

/** Refusjonskategorier and their rates, per samhandlertype (PO, LR): `refusjonskategorier-po`. */
export const refusjonskategorierId = (samhandlertype: string) => `refusjonskategorier-${samhandlertype.toLowerCase()}`;
export const refusjonskategorierSystem = (samhandlertype: string) => cs(refusjonskategorierId(samhandlertype));
export const refusjonskategorierValueSet = (samhandlertype: string) => vs(refusjonskategorierId(samhandlertype));

/** APAT (pathology) T-code + P-code → refusjonskategori, per samhandlertype: `apatkombinasjoner-po`. */
export const apatkombinasjonerId = (samhandlertype: string) => `apatkombinasjoner-${samhandlertype.toLowerCase()}`;
export const apatkombinasjonerConceptMap = (samhandlertype: string) => cm(apatkombinasjonerId(samhandlertype));
/**
 * The T-codes (topografi) and P-codes (prosedyre) of the APAT rows. No verified national OID was
 * found for them, so these are placeholders under our base; replace them when one is confirmed.
 */
export const APAT_T_KODE_SYSTEM = cs('apat-t-kode');
export const APAT_P_KODE_SYSTEM = cs('apat-p-kode');
/** `ConceptMap.group.element.target.product.property` carrying the amount (`belop`) of a combination. */
export const APAT_BELOP_PROPERTY = `${FACADE_CANONICAL_BASE}/ConceptMap/apatkombinasjoner#belop`;

// --- FHIR-defined URLs used by the mappings ---------------------------------------------------

export const CONCEPT_PROPERTIES = 'http://hl7.org/fhir/concept-properties';
/**
 * Concept properties holding a concept's first and last valid day (`uri` of a CodeSystem.property).
 * FHIR's concept-properties have none that mean this, so they are ours, under FACADE_CANONICAL_BASE;
 * the terminology engine judges concepts by them (src/terminology/validity.ts).
 */
export const VALID_FROM_PROPERTY_URI = `${FACADE_CANONICAL_BASE}/concept-properties#validFrom`;
/** The last valid day (inclusive), as VALID_FROM_PROPERTY_URI the first. */
export const VALID_TO_PROPERTY_URI = `${FACADE_CANONICAL_BASE}/concept-properties#validTo`;
/** Validity period of a resource version, so the engine can pick the version for a date. */
export const EXT_EFFECTIVE_PERIOD = 'http://hl7.org/fhir/StructureDefinition/resource-effectivePeriod';
/** R4 extension on CodeSystem.concept: the code that replaces this one. */
export const EXT_REPLACED_BY = 'http://hl7.org/fhir/StructureDefinition/codesystem-replacedby';
export const URN_IETF_RFC_3986 = 'urn:ietf:rfc:3986';
export const JURISDICTION_NO = { coding: [{ system: 'urn:iso:std:iso:3166', code: 'NO', display: 'Norway' }] };

// --- Publisher and licence wording ------------------------------------------------------------
//
// The Helsedirektoratet API terms (shared/seeds/000) require: name Helsedirektoratet as the source,
// clearly and next to the content; never appear to be Helsedirektoratet; never change the
// professional content; follow NLOD. The Helserefusjon API documentation (seed 003) names NLOD
// (https://data.norge.no/nlod/no, today version 2.0). So every resource says, in `publisher`, that
// this service published the FHIR form of someone else's data ("data fra …"), and in `copyright`
// where the data comes from, under which licence, that texts are reproduced unchanged, and that the
// source did not publish or endorse the FHIR resource.

/** The name this service publishes under. */
export const FACADE_PUBLISHER = 'no-fhir-facade';
export const NLOD_2_0 = {
  name: 'Norsk lisens for offentlige data (NLOD) 2.0',
  url: 'https://data.norge.no/nlod/no/2.0',
};
export const HELSEREFUSJON_API_NAME = 'Helserefusjon – åpne data';
export const HELSEREFUSJON_API_URL = 'https://opne-data-api.helserefusjon.no';

/** Where a resource's data comes from: the wording of its `publisher` and `copyright`. */
export interface DataSource {
  /** the source as named in `publisher` ("no-fhir-facade (data fra <origin>)") */
  origin: string;
  /** the full statement for `copyright` (markdown) */
  copyright: string;
}

export function publisherFor(source: DataSource): string {
  return `${FACADE_PUBLISHER} (data fra ${source.origin})`;
}

const NOT_ENDORSED = (who: string) =>
  `Denne FHIR-ressursen er laget av ${FACADE_PUBLISHER}; den er ikke utgitt, kontrollert eller godkjent av ${who}.`;

/** Rows fetched from the live Helserefusjon API (Helfo / Helsedirektoratet), on `retrieved` (yyyy-MM-dd). */
export function helserefusjonApiSource(retrieved: string): DataSource {
  return {
    origin: 'Helsedirektoratet/Helfo, Helserefusjon – åpne data',
    copyright:
      `Kilde: Helsedirektoratet/Helfo, «${HELSEREFUSJON_API_NAME}» (${HELSEREFUSJON_API_URL}), hentet ${retrieved}. ` +
      `Lisens: ${NLOD_2_0.name}, ${NLOD_2_0.url}. Koder og tekster er gjengitt uendret. ` +
      NOT_ENDORSED('Helsedirektoratet eller Helfo'),
  };
}

/** The NLK release file (Helsedirektoratet, formerly Direktoratet for e-helse). */
export function nlkReleaseSource(release: string): DataSource {
  return {
    origin: `Helsedirektoratet, Norsk laboratoriekodeverk ${release}`,
    copyright:
      `Kilde: Helsedirektoratet (tidligere Direktoratet for e-helse), Norsk laboratoriekodeverk (NLK, OID ${NLK_OID}), utgave ${release}. ` +
      `Lisens: ${NLOD_2_0.name}, ${NLOD_2_0.url}; de samme kodene publiseres som åpne data i «${HELSEREFUSJON_API_NAME}». ` +
      'NPU-kodene og de engelske definisjonene kommer fra NPU-terminologien (IFCC/IUPAC). ' +
      'Koder, bruksnavn og definisjoner er gjengitt uendret. ' +
      NOT_ENDORSED('Helsedirektoratet'),
  };
}

/**
 * Tariff rows transcribed from the published tariffs (embedded data; see data/helserefusjon). The
 * codes, texts and amounts are set by regulation (forskrifter under folketrygdloven kapittel 5),
 * which is not protected by copyright (åndsverkloven § 14); `origins` names the publications.
 */
export function tariffPublicationSource(origins: readonly string[], urls: readonly string[]): DataSource {
  return {
    origin: origins.join('; '),
    copyright:
      `Kilde: ${origins.join('; ')}${urls.length ? ` (${urls.join(', ')})` : ''}. ` +
      'Takstkoder, takstTEKST og beløp er fastsatt i forskriftene om stønad etter folketrygdloven kapittel 5 og er ikke vernet etter åndsverkloven § 14. ' +
      `De samme dataene publiseres av Helsedirektoratet/Helfo som åpne data i «${HELSEREFUSJON_API_NAME}» under ${NLOD_2_0.name} (${NLOD_2_0.url}). ` +
      'Tekstene er gjengitt uendret; dataene er et utdrag og ikke en fullstendig tariff. ' +
      NOT_ENDORSED('Helfo, Helsedirektoratet eller Den norske legeforening'),
  };
}

/** The code tables of the Helserefusjon API documentation (navikt/Helserefusjon-apne-data). */
export function helserefusjonDocumentationSource(documentDate: string): DataSource {
  return {
    origin: `Helsedirektoratet/Helfo, dokumentasjonen av ${HELSEREFUSJON_API_NAME}`,
    copyright:
      `Kilde: Helsedirektoratet/Helfo, kodetabellene i API-dokumentasjonen for «${HELSEREFUSJON_API_NAME}» ` +
      `(https://github.com/navikt/Helserefusjon-apne-data, ${documentDate}). Lisens: ${NLOD_2_0.name}, ${NLOD_2_0.url}. ` +
      'Koder og tekster er gjengitt uendret. ' +
      NOT_ENDORSED('Helsedirektoratet eller Helfo'),
  };
}

// --- HPR, Helsepersonellregisteret (Practitioner) ----------------------------------------------
//
// Identifier and code systems as no-basis-Practitioner fixes them (research/norway-fhir.md §1.2, §4):
// Volven code systems as `urn:oid:2.16.578.1.12.4.1.1.<nr>`, person identifiers as `…4.1.4.<n>`.

/** HPR-nummer (no-basis NamingSystem HPR; the `HPR` identifier slice of no-basis-Practitioner). */
export const HPR_IDENTIFIER_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.4';
/** The Volven code system of an OID number (HPR names its code lists by it: `kodeverk.id`). */
export const volvenSystem = (oid: string | number) => `urn:oid:2.16.578.1.12.4.1.1.${oid}`;
/** Kategori helsepersonell (slice healthPersonnellCategory). */
export const HELSEPERSONELLKATEGORI_SYSTEM = volvenSystem(9060);
/** Godkjenningstype HPR: autorisasjon, lisens, … (slice approvalType). */
export const GODKJENNINGSTYPE_SYSTEM = volvenSystem(7704);
/** HPR klassifikasjon av spesialiteter (slice healthPersonnelSpecialization). */
export const SPESIALITET_SYSTEM = volvenSystem(7426);
export const NO_BASIS_PRACTITIONER_PROFILE = 'http://hl7.no/fhir/StructureDefinition/no-basis-Practitioner';
/** no-basis-HumanName's middle-name extension ("mellomnavn", lov om personnavn). */
export const NO_BASIS_MIDDLENAME_EXTENSION = 'http://hl7.no/fhir/StructureDefinition/no-basis-middlename';
export const HPR_API_NAME = 'Helsepersonellregisteret Offentlig API';
/** Tags naming where a directory resource's data comes from (`meta.tag`); codes are upstream short names. */
export const DATA_SOURCE_TAG_SYSTEM = `${FACADE_CANONICAL_BASE}/CodeSystem/datakilde`;
/** FHIR's tag for test data (v3 ActReason HTEST): synthetic persons carry it. */
export const SYNTHETIC_DATA_TAG = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  code: 'HTEST',
  display: 'test health data',
} as const;

/**
 * Persons from HPR (Helsedirektoratet owns the register; Norsk helsenett runs the API). Seed 002 does
 * not name a licence for the open HPR data; Helsedirektoratet's API terms (seed 000) apply to what it
 * publishes: NLOD, name Helsedirektoratet as the source next to the content, never appear to be
 * Helsedirektoratet, never change the content. So every Practitioner says so.
 */
export function hprSource(): DataSource {
  return {
    origin: 'Helsedirektoratet, Helsepersonellregisteret (HPR)',
    copyright:
      `Kilde: Helsepersonellregisteret (HPR), Helsedirektoratet, hentet fra «${HPR_API_NAME}» (Norsk helsenett). ` +
      `Vilkår: Helsedirektoratets vilkår for bruk av API-ene og ${NLOD_2_0.name} (${NLOD_2_0.url}). ` +
      'Opplysningene er gjengitt uendret. ' +
      NOT_ENDORSED('Helsedirektoratet eller Norsk helsenett'),
  };
}

// --- Directory resources: FNSP (HealthcareService, Organization, Location) and Helfo's bandagists ---
//
// Identifier and code systems as no-basis 2.2.2 fixes them (research/norway-fhir.md §1.2, §1.4, §3.2).

export const ENH_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.101';
/** RESH-id; the `.4.1026` in HL7Norway/best-practice is a typo (research/norway-fhir.md §8.2). */
export const RESH_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.102';
/** Kommunenummer as the no-basis-municipalitycode extension carries it in the published examples. */
export const KOMMUNENUMMER_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.3402';
/** Organisatorisk nivå: 1 RHF, 2 HF (no-basis-Organization.type slice organisatoriskNiva). */
export const ORGANISATORISK_NIVAA_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.8628';
/** Helsehjelpsområde (no-basis-HealthcareService.specialty slice 8655). */
export const HELSEHJELPSOMRAADE_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.8655';
export const SNOMED_CT_SYSTEM = 'http://snomed.info/sct';
export const EXT_NO_BASIS_MUNICIPALITYCODE = 'http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode';
export const noBasisProfile = (name: 'Organization' | 'HealthcareService' | 'Location') =>
  `http://hl7.no/fhir/StructureDefinition/no-basis-${name}`;

/**
 * Helfo's samhandlerregister (SAR) id of a bandagist. No national OID or NamingSystem is known, so
 * the system is ours (under FACADE_CANONICAL_BASE, never helfo.no).
 */
export const HELFO_SAR_ID_SYSTEM = `${FACADE_CANONICAL_BASE}/NamingSystem/helfo-sar-id`;
/** Roles in this directory that no Volven code list names (a bandagist with direct settlement). */
export const DIRECTORY_ORGANIZATION_TYPE_SYSTEM = cs('directory-organization-type');
/** Extension on Organization: the validity of a bandagist's direct-settlement agreement (gyldig_fra/til). */
export const EXT_DIRECT_SETTLEMENT_PERIOD = `${FACADE_CANONICAL_BASE}/StructureDefinition/direct-settlement-period`;

/**
 * Provenance of directory resources, carried in `meta` (valid R4, readable by any client):
 * `meta.source` is the upstream API; `meta.tag` names the source (DATA_SOURCE_TAG_SYSTEM, code = the
 * upstream short name); the licence is stated in the `meta` extension EXT_SOURCE_LICENCE, as on the
 * terminology resources copied from packages. (Not as an SPDX tag: `NLOD-2.0` is younger than the
 * SPDX list FHIR R4 carries, so `http://hl7.org/fhir/spdx-license#NLOD-2.0` is an unknown code in R4
 * and a validator reports it.) Directory resources have no `publisher`, so nothing presents this
 * service as the author. Synthetic data carries SYNTHETIC_DATA_TAG (HTEST) and SYNTHETIC_SOURCE_TAG,
 * never the licence of a real source.
 */
/** `Meta.extension`: the terms under which the resource's content is served (valueString). */
export const EXT_SOURCE_LICENCE = `${FACADE_CANONICAL_BASE}/StructureDefinition/source-licence`;
/** The licence statement of NLOD 2.0 data (Helsedirektoratet's APIs, FNSP). */
export const NLOD_2_0_LICENCE = `${NLOD_2_0.name} (${NLOD_2_0.url})`;
/** The `meta` extension stating a licence. */
export function licenceExtension(licence: string): { url: string; valueString: string } {
  return { url: EXT_SOURCE_LICENCE, valueString: licence };
}
export const SYNTHETIC_SOURCE_TAG = {
  system: DATA_SOURCE_TAG_SYSTEM,
  code: 'synthetic',
  display: 'Syntetiske testdata: oppdiktet, ikke hentet fra FNSP eller noen annen kilde',
};
export const FNSP_NAME = 'Felles nettløsning for spesialisthelsetjenesten (FNSP)';
export const FNSP_OPEN_DATA_URL = 'https://fnsp.no/apne-data';
export const BANDASJISTER_PATH = '/v1/bandasjister';

export interface ProvenanceCoding {
  system: string;
  code: string;
  display: string;
}

/** What `meta` says about where a directory resource comes from. */
export interface DirectoryProvenance {
  /** meta.source: the upstream system */
  source: string;
  tag: ProvenanceCoding[];
  /** the licence of the data (none for synthetic data) */
  licence?: string;
}

/** FNSP open data (seed 004: NLOD; texts approved by each trust); `sourceUrl` is the API used. */
export function fnspProvenance(sourceUrl: string): DirectoryProvenance {
  return {
    source: sourceUrl,
    tag: [
      {
        system: DATA_SOURCE_TAG_SYSTEM,
        code: 'fnsp',
        display: `Kilde: ${FNSP_NAME}, åpne data (${FNSP_OPEN_DATA_URL}); tekstene er godkjent i det enkelte helseforetaket og gjengitt uendret. Ikke utgitt eller godkjent av FNSP eller helseforetaket i denne FHIR-formen.`,
      },
    ],
    licence: NLOD_2_0_LICENCE,
  };
}

/** The synthetic FNSP-shaped demo data (src/directory/fnsp-synthetic.ts). */
export function syntheticFnspProvenance(): DirectoryProvenance {
  return {
    source: `${FACADE_CANONICAL_BASE}/synthetic/fnsp`,
    tag: [{ ...SYNTHETIC_DATA_TAG }, SYNTHETIC_SOURCE_TAG],
  };
}

/** Helfo's list of bandagists with direct settlement (seed 003, NLOD); `baseUrl` of the API used. */
export function bandasjisterProvenance(baseUrl: string = HELSEREFUSJON_API_URL): DirectoryProvenance {
  return {
    source: `${baseUrl.replace(/\/+$/, '')}${BANDASJISTER_PATH}`,
    tag: [
      {
        system: DATA_SOURCE_TAG_SYSTEM,
        code: 'helserefusjon',
        display: `Kilde: Helsedirektoratet/Helfo, «${HELSEREFUSJON_API_NAME}», bandasjister med direkte oppgjørsavtale (Helfos samhandlerregister). Ikke utgitt eller godkjent av Helfo eller Helsedirektoratet i denne FHIR-formen.`,
      },
    ],
    licence: NLOD_2_0_LICENCE,
  };
}

/** `meta` of a directory resource: profile, source and tags (copies, so resources never share objects). */
export function directoryMeta(
  p: DirectoryProvenance,
  profile: string,
): {
  extension?: { url: string; valueString: string }[];
  source: string;
  profile: string[];
  tag: ProvenanceCoding[];
} {
  return {
    ...(p.licence !== undefined ? { extension: [licenceExtension(p.licence)] } : {}),
    source: p.source,
    profile: [profile],
    tag: p.tag.map((t) => ({ ...t })),
  };
}
