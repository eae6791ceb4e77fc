/**
 * SYNTHETIC persons in the shape of HPR's person model (research/upstream-apis.md §2.2), for the fake
 * HPR server, the tests and `npm run demo`. Nobody here exists: the HPR numbers are in the 9xxxxxxxx
 * range (no real HPR number is that large today), the names are obviously invented, the birth dates
 * are 1 January or similar, and the `nin` values have day 99, which no fødselsnummer can have.
 *
 * The codes are real Volven codes where they are known (9060 LE/SP/FT, 7704 "1" Autorisasjon,
 * 7426 "1" Allmennmedisin); 7701 (rekvisisjonsrett) and 7702 (tilleggskompetanse) are the code lists
 * public clients use (research/upstream-apis.md §2.3), with made-up displays where none is known.
 * `kodeverk.id` is sometimes a number and sometimes a string, as HPR's clients disagree on it.
 */

const kode = (verdi: string, navn: string, id: number | string, kodeverk: string) => ({
  verdi,
  navn,
  kodeverk: { id, navn: kodeverk },
});

export const KATEGORI = (verdi: string, navn: string) => kode(verdi, navn, 9060, 'Kategori helsepersonell');
export const AUTORISASJON = kode('1', 'Autorisasjon', '7704', 'Godkjenningstype HPR');
export const LISENS = kode('2', 'Lisens', 7704, 'Godkjenningstype HPR');
export const ALLMENNMEDISIN = kode('1', 'Allmennmedisin', 7426, 'HPR klassifikasjon av spesialiteter');
export const FULL_REKVISISJONSRETT = kode('1', 'Full rekvisisjonsrett', 7701, 'Rekvisisjonsrett');
export const TILLEGGSKOMPETANSE = kode('1', 'Syntetisk tilleggskompetanse', '7702', 'Tilleggskompetanse');
export const SUSPENSJON = kode('1', 'Suspensjon (syntetisk)', 7420, 'Administrative reaksjoner (syntetisk)');
export const AVSLUTTET = kode('1', 'Avsluttet (syntetisk)', 7421, 'Avsluttet status (syntetisk)');

/** A synthetic HPR person as HPR's JSON would carry it (with `nin`, which only the extended scope returns). */
export type RawHprPerson = Record<string, unknown> & { hprNummer: number | string };

function person(
  hprNummer: number,
  fornavn: string,
  mellomnavn: string | null,
  etternavn: string,
  fødselsdato: string,
  godkjenninger: unknown[],
  extra: Record<string, unknown> = {},
): RawHprPerson {
  return {
    hprNummer,
    person: {
      fornavn,
      mellomnavn,
      etternavn,
      fødselsdato,
      dødsdato: null,
      manglerNin: false,
      nin: `99${String(hprNummer).slice(-9)}`.slice(0, 11).padEnd(11, '0'),
    },
    godkjenninger,
    administrativeReaksjoner: [],
    sistOppdatert: '2024-03-01T10:15:00',
    gjelderForDato: null,
    ...extra,
  };
}

export const SYNTHETIC_PERSONS: readonly RawHprPerson[] = [
  person(900000001, 'Testa', 'Syntetisk', 'Legesen', '1970-01-01', [
    {
      helsepersonellkategori: KATEGORI('LE', 'Lege'),
      autorisasjon: AUTORISASJON,
      periode: { fra: '2000-06-01', til: null },
      godkjentTurnusDato: '1999-12-01',
      rekvisisjonsretter: [{ type: FULL_REKVISISJONSRETT, periode: { fra: '2000-06-01', til: null } }],
      spesialistgodkjenninger: [{ type: ALLMENNMEDISIN, periode: { fra: '2008-03-15', til: null } }],
      tilleggskompetanser: [],
      vilkår: [],
      avsluttetStatus: null,
      administrativeReaksjoner: [],
    },
  ]),
  person(900000002, 'Demo Demonstrasjon', null, 'Sykepleiersen', '1980-02-02', [
    {
      helsepersonellkategori: KATEGORI('SP', 'Sykepleier'),
      autorisasjon: AUTORISASJON,
      periode: { fra: '2005-08-01' },
    },
  ]),
  person(900000003, 'Prøve', null, 'Fysioterapeutsen', '1975-03-03', [
    {
      helsepersonellkategori: KATEGORI('FT', 'Fysioterapeut'),
      autorisasjon: AUTORISASJON,
      periode: { fra: '2001-01-15', til: null },
      tilleggskompetanser: [{ type: TILLEGGSKOMPETANSE, periode: { fra: '2015-05-01', til: null } }],
    },
  ]),
  person(
    900000004,
    'Suspendert',
    null,
    'Testperson',
    '1965-04-04',
    [
      {
        helsepersonellkategori: KATEGORI('LE', 'Lege'),
        autorisasjon: AUTORISASJON,
        periode: { fra: '1995-01-01', til: null },
      },
    ],
    { administrativeReaksjoner: [{ type: SUSPENSJON, periode: { fra: '2024-01-01', til: null } }] },
  ),
  person(900000005, 'Pensjonert', null, 'Eksempelsen', '1950-05-05', [
    {
      helsepersonellkategori: KATEGORI('TL', 'Tannlege'),
      autorisasjon: AUTORISASJON,
      periode: { fra: '1976-01-01', til: '2020-12-31' },
      avsluttetStatus: AVSLUTTET,
    },
  ]),
  person(900000006, 'Dobbel', null, 'Navnesen', '1985-06-06', [
    { helsepersonellkategori: KATEGORI('PS', 'Psykolog'), autorisasjon: LISENS, periode: { fra: '2012-01-01' } },
  ]),
  person(900000007, 'Tvilling', null, 'Navnesen', '1985-06-06', [
    { helsepersonellkategori: KATEGORI('JO', 'Jordmor'), autorisasjon: AUTORISASJON, periode: { fra: '2011-09-01' } },
  ]),
];

/** Synthetic person number `i` of a large set (for load tests): HPR number 910000000 + i, a nurse. */
export function bulkPerson(i: number): RawHprPerson {
  return person(910_000_000 + i, `Bulk${i}`, null, 'Syntetisk', '1990-01-01', [
    {
      helsepersonellkategori: KATEGORI('SP', 'Sykepleier'),
      autorisasjon: AUTORISASJON,
      periode: { fra: '2015-01-01' },
    },
  ]);
}
