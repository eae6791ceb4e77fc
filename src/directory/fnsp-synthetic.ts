import { type FnspDatasettDto, type Parsed, parseDatasett } from '../upstream/fnsp-dto.ts';

/**
 * A small, invented FNSP dataset for the demo mode (FNSP_DEMO=true) and for `npm run demo`: two
 * fictional trusts in a fictional region, three procedures, a few meeting places and sites. It is
 * written in the same (assumed) upstream shape as the live download, so the demo runs the real
 * parser and mappings; every resource made from it is tagged synthetic (syntheticFnspProvenance).
 *
 * Nothing here describes a real hospital: names, org.nr, RESH-ids, addresses, phone numbers and
 * URLs are made up (`.example` domains, RFC 2606). The codes stay valid all the same, so that the
 * resources pass the no-basis rules: the org.nr have a right mod-11 check digit, and the places lie
 * in real municipalities (Kartverket's kommunenummer: 4601 Bergen, 3403 Hamar). The SNOMED CT codes are real concept ids
 * (73761001 Colonoscopy, 52734007 Total replacement of hip) so that code searches can be tried.
 */

const REGION = { navn: 'Syntetisk Helse Nord-Vest RHF', orgnr: '999000010' };
const FJORDBY = { navn: 'Syntetisk Sykehus Fjordby HF', orgnr: '999000029', reshId: '9900001', helseregion: REGION };
const INNLAND = { navn: 'Syntetisk Sykehus Innland HF', orgnr: '999000037', reshId: '9900002', helseregion: REGION };

const SYNTHETIC = 'Syntetiske demodata: ikke ekte pasientinformasjon.';

const ENDOSKOPI_FJORDBY = {
  id: 'fjordby-endoskopi',
  navn: 'Endoskopienheten, Syntetisk Sykehus Fjordby',
  beskrivelse: 'Ta heisen til 2. etasje og følg skiltene til endoskopi. (Syntetisk)',
  adresse: {
    adresselinjer: ['Fjordveien 1'],
    postnummer: '9990',
    poststed: 'FJORDBY',
    kommune: 'Bergen',
    kommunenummer: '4601',
  },
  telefon: '+47 00 00 00 01',
};

const ORTOPEDI_FJORDBY = {
  id: 'fjordby-ortopedi',
  navn: 'Ortopedisk poliklinikk, Syntetisk Sykehus Fjordby',
  beskrivelse: 'Inngang B, 1. etasje. (Syntetisk)',
  adresse: {
    adresselinjer: ['Fjordveien 1'],
    postnummer: '9990',
    poststed: 'FJORDBY',
    kommune: 'Bergen',
    kommunenummer: '4601',
  },
};

const INNLAND_POLIKLINIKK = {
  id: 'innland-poliklinikk',
  navn: 'Poliklinikken, Syntetisk Sykehus Innland',
  beskrivelse: 'Meld deg i skranken i vestibylen. (Syntetisk)',
  adresse: {
    adresselinjer: ['Skogstien 12', 'Bygg 3'],
    postnummer: '9980',
    poststed: 'INNBYGD',
    kommune: 'Hamar',
    kommunenummer: '3403',
  },
  telefon: '+47 00 00 00 02',
  epost: 'poliklinikk@innland.example',
};

/** The synthetic dataset in the assumed FNSP download shape (see src/upstream/fnsp-dto.ts). */
export const SYNTHETIC_FNSP_DATASET = {
  generert: '2026-01-01T00:00:00Z',
  prosedyrer: [
    {
      id: 'koloskopi',
      navn: 'Koloskopi',
      snomed: [{ kode: '73761001', tekst: 'Colonoscopy' }],
      foretak: [
        {
          foretak: FJORDBY,
          tittel: 'Koloskopi (tykktarmsundersøkelse)',
          ingress: `Undersøkelse av tykktarmen med et tynt, bøyelig instrument. ${SYNTHETIC}`,
          tekster: [
            { type: 'foer', overskrift: 'Før undersøkelsen', tekst: 'Du må tømme tarmen dagen før. (Syntetisk)' },
            {
              type: 'under',
              overskrift: 'Under undersøkelsen',
              tekst: 'Undersøkelsen tar om lag 30 minutter. (Syntetisk)',
            },
            { type: 'etter', overskrift: 'Etter undersøkelsen', tekst: 'Du kan spise som vanlig etterpå. (Syntetisk)' },
          ],
          url: 'https://fjordby-sykehus.example/behandlinger/koloskopi',
          oppmotesteder: [ENDOSKOPI_FJORDBY],
          helsehjelpsomraader: [{ kode: 'S03', tekst: 'Indremedisin' }],
        },
        {
          foretak: INNLAND,
          tittel: 'Koloskopi',
          ingress: `Kikkertundersøkelse av tykktarmen. ${SYNTHETIC}`,
          tekster: [{ type: 'foer', tekst: 'Følg tømmingsanvisningen du får tilsendt. (Syntetisk)' }],
          url: 'https://innland-sykehus.example/koloskopi',
          oppmotesteder: [INNLAND_POLIKLINIKK],
        },
      ],
    },
    {
      id: 'hofteprotese',
      navn: 'Hofteprotese',
      snomed: [{ kode: '52734007', tekst: 'Total replacement of hip' }],
      foretak: [
        {
          foretak: FJORDBY,
          tittel: 'Innsetting av hofteprotese',
          ingress: `Operasjon der hofteleddet erstattes med en protese. ${SYNTHETIC}`,
          tekster: [
            { type: 'etter', overskrift: 'Opptrening', tekst: 'Du får et treningsprogram med hjem. (Syntetisk)' },
          ],
          url: 'https://fjordby-sykehus.example/behandlinger/hofteprotese',
          oppmotesteder: [ORTOPEDI_FJORDBY],
          helsehjelpsomraader: [{ kode: 'S0208', tekst: 'Ortopedisk kirurgi' }],
        },
      ],
    },
    {
      id: 'mr-hode',
      navn: 'MR av hodet',
      foretak: [
        {
          foretak: INNLAND,
          tittel: 'MR-undersøkelse av hodet',
          ingress: `Bildeundersøkelse med magnetfelt. ${SYNTHETIC}`,
          url: 'https://innland-sykehus.example/mr-hode',
          oppmotesteder: [INNLAND_POLIKLINIKK],
        },
      ],
    },
  ],
  nettsteder: [
    {
      navn: FJORDBY.navn,
      url: 'https://fjordby-sykehus.example/',
      spraak: 'nb',
      helseregion: REGION.navn,
      orgnr: FJORDBY.orgnr,
    },
    {
      navn: FJORDBY.navn,
      url: 'https://fjordby-sykehus.example/en/',
      spraak: 'en',
      helseregion: REGION.navn,
      orgnr: FJORDBY.orgnr,
    },
    { navn: INNLAND.navn, url: 'https://innland-sykehus.example/', spraak: 'nb', helseregion: REGION.navn },
  ],
};

/** The synthetic dataset, parsed as a live download would be. */
export function loadSyntheticFnspDataset(): Parsed<FnspDatasettDto> {
  return parseDatasett(structuredClone(SYNTHETIC_FNSP_DATASET));
}
