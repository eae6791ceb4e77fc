/**
 * The labels of the browsable HTML view, in Norwegian (bokmål) and English, chosen by
 * `Accept-Language` (RFC 9110 §12.5.4: the highest-weighted supported language; Norwegian when the
 * header names neither). Only the labels are translated: code system content is shown as published.
 */

export type Lang = 'nb' | 'en';

const NB = {
  home: 'Forside',
  title: 'FHIR-terminologi og -katalog for norske helsedata',
  intro:
    'Kodeverk, verdisett og konseptkart som denne tjenesten serverer, med oppslag og validering. ' +
    'Hver side finnes også som FHIR JSON og XML.',
  codeSystems: 'Kodeverk',
  valueSets: 'Verdisett',
  conceptMaps: 'Konseptkart',
  search: 'Søk',
  searchHint: 'tittel, URL eller OID',
  lookup: 'Slå opp en kode',
  validate: 'Valider en kode',
  expand: 'Utvid et verdisett',
  system: 'Kodeverk (URL eller OID)',
  code: 'Kode',
  display: 'Visningsnavn',
  valueSet: 'Verdisett (URL)',
  filter: 'Filter (tekst)',
  count: 'Antall',
  submit: 'Send',
  type: 'Type',
  name: 'Navn',
  url: 'URL',
  version: 'Versjon',
  versions: 'Versjoner',
  status: 'Status',
  publisher: 'Utgiver',
  copyright: 'Opphavsrett og kilde',
  source: 'Kilde (meta.source)',
  licence: 'Lisens',
  content: 'Innhold',
  identifiers: 'Identifikatorer',
  description: 'Beskrivelse',
  date: 'Dato',
  concepts: 'Koder',
  definition: 'Definisjon',
  page: 'Side',
  of: 'av',
  previous: 'Forrige',
  next: 'Neste',
  results: 'Treff',
  noResults: 'Ingen treff',
  asJson: 'Som FHIR JSON',
  asXml: 'Som FHIR XML',
  result: 'Resultat',
  parameter: 'Parameter',
  value: 'Verdi',
  issues: 'Meldinger',
  severity: 'Alvorlighet',
  element: 'Element',
  include: 'Tar med',
  target: 'Mål',
  relationship: 'Forhold',
  groups: 'Grupper',
  total: 'Totalt',
  operations: 'Operasjoner',
  notFound: 'Ikke funnet',
} as const;

export type Labels = { readonly [K in keyof typeof NB]: string };

const EN: Labels = {
  home: 'Home',
  title: 'FHIR terminology and directory for Norwegian health data',
  intro:
    'The code systems, value sets and concept maps this service serves, with look-up and validation. ' +
    'Every page is also available as FHIR JSON and XML.',
  codeSystems: 'Code systems',
  valueSets: 'Value sets',
  conceptMaps: 'Concept maps',
  search: 'Search',
  searchHint: 'title, URL or OID',
  lookup: 'Look up a code',
  validate: 'Validate a code',
  expand: 'Expand a value set',
  system: 'Code system (URL or OID)',
  code: 'Code',
  display: 'Display',
  valueSet: 'Value set (URL)',
  filter: 'Filter (text)',
  count: 'Count',
  submit: 'Submit',
  type: 'Type',
  name: 'Name',
  url: 'URL',
  version: 'Version',
  versions: 'Versions',
  status: 'Status',
  publisher: 'Publisher',
  copyright: 'Copyright and source',
  source: 'Source (meta.source)',
  licence: 'Licence',
  content: 'Content',
  identifiers: 'Identifiers',
  description: 'Description',
  date: 'Date',
  concepts: 'Codes',
  definition: 'Definition',
  page: 'Page',
  of: 'of',
  previous: 'Previous',
  next: 'Next',
  results: 'Results',
  noResults: 'No results',
  asJson: 'As FHIR JSON',
  asXml: 'As FHIR XML',
  result: 'Result',
  parameter: 'Parameter',
  value: 'Value',
  issues: 'Messages',
  severity: 'Severity',
  element: 'Element',
  include: 'Includes',
  target: 'Target',
  relationship: 'Relationship',
  groups: 'Groups',
  total: 'Total',
  operations: 'Operations',
  notFound: 'Not found',
};

export function labels(lang: Lang): Labels {
  return lang === 'en' ? EN : NB;
}

/** The language of the labels: the highest-weighted of nb/nn/no (Norwegian) and en; Norwegian by default. */
export function pickLang(acceptLanguage: string | undefined): Lang {
  if (!acceptLanguage) return 'nb';
  let best: { lang: Lang; q: number } | undefined;
  for (const part of acceptLanguage.split(',')) {
    const [tag, ...params] = part.trim().split(';');
    const q = Number(
      params
        .find((p) => p.trim().startsWith('q='))
        ?.trim()
        .slice(2) ?? '1',
    );
    if (!(q > 0)) continue;
    const primary = tag.trim().toLowerCase().split('-')[0];
    const lang: Lang | undefined = primary === 'en' ? 'en' : ['nb', 'nn', 'no'].includes(primary) ? 'nb' : undefined;
    if (lang && (best === undefined || q > best.q)) best = { lang, q };
  }
  return best?.lang ?? 'nb';
}
