import type { CodeSystemConcept, CodeSystemProperty } from '@medplum/fhirtypes';
import type { RefusjonskategorisatsDto, Samhandlertype } from '../src/upstream/helserefusjon.ts';
import {
  dateTimeProperty,
  decimalProperty,
  stringProperty,
  type VersionedResources,
  versionedCodeSystems,
} from './common.ts';
import {
  type DataSource,
  JURISDICTION_NO,
  refusjonskategorierId,
  refusjonskategorierSystem,
  refusjonskategorierValueSet,
} from './systems.ts';

/**
 * Helserefusjon `/v1/refusjonskategorisatser` (refusjonskategorier for NLK, NCRP and pathology,
 * with their rates) → one CodeSystem per samhandlertype (`refusjonskategorier-po`; the API answers
 * per samhandlertype and the rates may differ), one version per rate period (like takstkoder).
 * code = `refusjonskategori`; the API documents no text for a category, so concepts have no
 * display. Properties carry the upstream fields: `refusjonssats` (decimal, NOK), `fradato`,
 * `tildato` (dateTime), `refusjonskategoriid` (string).
 * No embedded data exists for this (no real payload has been seen): it maps live answers only.
 */

export const REFUSJONSKATEGORIER_PROPERTIES: readonly CodeSystemProperty[] = [
  { code: 'refusjonskategoriid', type: 'string', description: 'Radens id i Helserefusjon' },
  { code: 'refusjonssats', type: 'decimal', description: 'Refusjonssats (kr)' },
  { code: 'fradato', type: 'dateTime', description: 'Første gyldighetsdag' },
  { code: 'tildato', type: 'dateTime', description: 'Siste gyldighetsdag (til og med)' },
];

export interface RefusjonskategorierContext {
  samhandlertype: Samhandlertype;
  source: DataSource;
  content: 'complete' | 'fragment';
}

export function toConceptRefusjonskategori(row: RefusjonskategorisatsDto): CodeSystemConcept {
  return {
    code: row.refusjonskategori,
    property: [
      ...stringProperty('refusjonskategoriid', row.refusjonskategoriid),
      ...decimalProperty('refusjonssats', row.refusjonssats),
      ...dateTimeProperty('fradato', row.fradato),
      ...dateTimeProperty('tildato', row.tildato),
    ],
  };
}

const SAMHANDLERTYPE_TEXT: Readonly<Record<Samhandlertype, string>> = {
  PO: 'Poliklinikk',
  LR: 'Privat lab/radiologi',
};

export function toCodeSystemsRefusjonskategorier(
  rows: readonly RefusjonskategorisatsDto[],
  ctx: RefusjonskategorierContext,
): VersionedResources {
  const st = ctx.samhandlertype;
  const label = `${st} (${SAMHANDLERTYPE_TEXT[st]})`;
  return versionedCodeSystems({
    rows,
    code: (r) => r.refusjonskategori,
    from: (r) => r.fradato,
    to: (r) => r.tildato,
    toConcept: toConceptRefusjonskategori,
    baseId: refusjonskategorierId(st),
    url: refusjonskategorierSystem(st),
    valueSetUrl: refusjonskategorierValueSet(st),
    name: `Refusjonskategorier${st}`,
    title: `Refusjonskategorier for samhandlertype ${label}`,
    description:
      `Refusjonskategorier for NLK, NCRP og patologi med refusjonssatser for samhandlertype ${label} ` +
      '(Helserefusjon /v1/refusjonskategorisatser); én versjon per satsperiode.',
    what: `refusjonskategorier ${st}`,
    source: ctx.source,
    content: ctx.content,
    jurisdiction: [JURISDICTION_NO],
    property: [...REFUSJONSKATEGORIER_PROPERTIES],
  });
}
