import type { CodeSystem, ConceptMap, ValueSet } from '@medplum/fhirtypes';
import { toConceptMapsApat } from '../../mappings/apat.ts';
import { toCodeSystemFagomraader } from '../../mappings/fagomraader.ts';
import { toCodeSystemNlk } from '../../mappings/nlk.ts';
import { toCodeSystemPraksistyper, toValueSetsPraksistyperPerFagomraade } from '../../mappings/praksistyper.ts';
import { toCodeSystemsRefusjonskategorier } from '../../mappings/refusjonskategorier.ts';
import {
  helserefusjonApiSource,
  helserefusjonDocumentationSource,
  NLK_ALIASES,
  NLK_SYSTEM,
} from '../../mappings/systems.ts';
import { groupByFagomraade, toCodeSystemsTakstkoder } from '../../mappings/takstkoder.ts';
import { type FagomraadeDto, SAMHANDLERTYPER, type SkippedRows, skippedRowsOf } from '../upstream/helserefusjon.ts';
import { KODEVERK_DOCUMENT_DATE, type TerminologyAlias, todayInNorway } from './embedded.ts';
import type { HelserefusjonData } from './live-fetch.ts';

/**
 * The Helserefusjon resources of one retrieval from the API (live mode, or its snapshot): the rows
 * of every dataset mapped to FHIR by the same mappings as the embedded data, with what the status
 * and the checks need (provenance per dataset, distinct codes per dataset). Pure: no I/O, no clock
 * but the retrieval's own time. live.ts fetches, checks (check.ts) and swaps; both import the
 * types from here, so the imports point one way.
 */

/** Where the Helserefusjon data served came from. */
export type HelserefusjonMode = 'embedded' | 'live' | 'snapshot';

/** One dataset in the status output. */
export interface HelserefusjonDatasetInfo {
  name: string;
  version?: string;
  /** the newest date the data state (period start, change date, document date) */
  date?: string;
  /** distinct codes (or combinations) */
  codes?: number;
  /** embedded data files (embedded mode) */
  files?: string[];
  /** set when this dataset comes from the embedded tables although the rest is live */
  source?: 'embedded';
}

export interface HelserefusjonProvenance {
  mode: HelserefusjonMode;
  /** when the data were fetched from the upstream (live and snapshot) */
  fetchedAt?: string;
  /** the newest dataset date (yyyy-MM-dd) */
  date: string;
  datasets: HelserefusjonDatasetInfo[];
}

/** The names of the counts the collapse rule compares (check.ts). */
export const DATASET_NAMES = [
  'fagomraader',
  'praksistyper',
  'takstkoder',
  'nlk',
  'refusjonskategorier',
  'apatkombinasjoner',
] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** The Helserefusjon resources of one retrieval (or of the embedded data), ready to be served. */
export interface HelserefusjonResources {
  codeSystems: CodeSystem[];
  valueSets: ValueSet[];
  conceptMaps: ConceptMap[];
  aliases: TerminologyAlias[];
  warnings: string[];
  /** rows of the upstream's lists that could not be read and were left out (live and snapshot) */
  skippedRows?: SkippedRows[];
  provenance: HelserefusjonProvenance;
  /** distinct codes per dataset as the upstream sent them (live and snapshot only) */
  counts?: Record<DatasetName, number>;
}

export interface LiveResourcesContext {
  mode: 'live' | 'snapshot';
  /**
   * The fagområder with their praksistyper from the API documentation's tables (the embedded
   * kodeverk file). Used for the praksistyper when the API's fagområder nest none: the nested key
   * names are inferred (research/upstream-apis.md §1.7), so an answer without them is possible.
   */
  documentedFagomraader?: readonly FagomraadeDto[];
}

/**
 * The FHIR resources of one retrieval, built with the same mappings as the embedded data. Every
 * resource says in `copyright` that it comes from the API and on which day; code systems the API
 * gives in full are `content: complete`, and NLK, fagområder and praksistyper get the retrieval day
 * as their version (the API names no release).
 */
export function toHelserefusjonResources(data: HelserefusjonData, ctx: LiveResourcesContext): HelserefusjonResources {
  const retrieved = todayInNorway(new Date(data.fetchedAt));
  const source = helserefusjonApiSource(retrieved);
  const out: HelserefusjonResources = {
    codeSystems: [],
    valueSets: [],
    conceptMaps: [],
    aliases: NLK_ALIASES.map((alias) => ({ type: 'CodeSystem', alias, url: NLK_SYSTEM })),
    warnings: [],
    skippedRows: [],
    provenance: { mode: ctx.mode, fetchedAt: data.fetchedAt, date: '', datasets: [] },
  };
  const datasets = out.provenance.datasets;
  const skipped = skippedRowsIn(data);
  out.skippedRows = skipped;
  for (const s of skipped) {
    out.warnings.push(
      `${s.what}: ${s.skipped} of ${s.total} rows could not be read and were left out; first: ${s.first}`,
    );
  }

  // fagområder
  const fag = toCodeSystemFagomraader(data.fagomraader, {
    version: retrieved,
    date: retrieved,
    source,
    content: 'complete',
  });
  out.codeSystems.push(fag.codeSystem);
  out.valueSets.push(fag.valueSet);
  const fagCodes = distinct(data.fagomraader.map((f) => f.fagomraadekode));
  // the API states no date for its code lists: the version is the day of retrieval, and no data date
  datasets.push({ name: 'fagomraader', version: retrieved, codes: fagCodes });

  // praksistyper: the API's when it nests them, else the documented tables
  const livePraksistyper = distinct(data.fagomraader.flatMap((f) => f.praksistyper.map((p) => p.praksis_type_kode)));
  if (livePraksistyper > 0) {
    const praksisCtx = { version: retrieved, date: retrieved, source, content: 'complete' as const };
    const praksis = toCodeSystemPraksistyper(data.fagomraader, praksisCtx);
    out.codeSystems.push(praksis.codeSystem);
    out.valueSets.push(praksis.valueSet, ...toValueSetsPraksistyperPerFagomraade(data.fagomraader, praksisCtx));
    datasets.push({ name: 'praksistyper', version: retrieved, codes: livePraksistyper });
  } else if (ctx.documentedFagomraader?.some((f) => f.praksistyper.length > 0)) {
    const documented = ctx.documentedFagomraader;
    const docCtx = {
      version: KODEVERK_DOCUMENT_DATE,
      date: KODEVERK_DOCUMENT_DATE,
      source: helserefusjonDocumentationSource(KODEVERK_DOCUMENT_DATE),
      content: 'fragment' as const,
    };
    const praksis = toCodeSystemPraksistyper(documented, docCtx);
    out.codeSystems.push(praksis.codeSystem);
    out.valueSets.push(praksis.valueSet, ...toValueSetsPraksistyperPerFagomraade(documented, docCtx));
    out.warnings.push('praksistyper: the API nests none in its fagområder; serving the documented tables');
    datasets.push({
      name: 'praksistyper',
      version: KODEVERK_DOCUMENT_DATE,
      date: KODEVERK_DOCUMENT_DATE,
      codes: praksis.codeSystem.count ?? 0,
      source: 'embedded',
    });
  } else {
    out.warnings.push('praksistyper: the API nests none in its fagområder; none served');
  }

  // takstkoder: one CodeSystem per fagområde, one version per tariff period
  const fagText = new Map(data.fagomraader.map((f) => [f.fagomraadekode, f.beskrivelse ?? undefined]));
  let newestPeriod = '';
  for (const [fagomraade, rows] of groupByFagomraade(data.takstkoder)) {
    const res = toCodeSystemsTakstkoder(rows, {
      fagomraade,
      fagomraadeBeskrivelse: fagText.get(fagomraade),
      content: 'complete',
      source,
    });
    out.codeSystems.push(...res.codeSystems);
    out.valueSets.push(...res.valueSets);
    out.warnings.push(...res.warnings);
    for (const cs of res.codeSystems) if (cs.date && cs.date > newestPeriod) newestPeriod = cs.date;
  }
  const takstCodes = distinct(data.takstkoder.map((r) => `${r.fagomraade}|${r.takstkode}`));
  datasets.push({
    name: 'takstkoder',
    version: newestPeriod || undefined,
    date: newestPeriod || undefined,
    codes: takstCodes,
  });

  // NLK, with the refusjonskategori per samhandlertype
  const nlk = toCodeSystemNlk(data.nlkkoder, {
    version: retrieved,
    source,
    refusjon: data.nlkkoderPerSamhandlertype,
  });
  out.codeSystems.push(nlk.codeSystem);
  out.valueSets.push(nlk.valueSet);
  out.conceptMaps.push(nlk.conceptMap);
  out.warnings.push(...nlk.warnings);
  const nlkCodes = distinct(data.nlkkoder.map((r) => r.nlkKode));
  datasets.push({ name: 'NLK', version: retrieved, date: nlk.codeSystem.date, codes: nlkCodes });

  // refusjonskategorier (rates per period) and APAT combinations, per samhandlertype, where given
  let kategorier = 0;
  let kombinasjoner = 0;
  for (const st of SAMHANDLERTYPER) {
    const satser = data.refusjonskategorisatser[st];
    const res = toCodeSystemsRefusjonskategorier(satser, { samhandlertype: st, source, content: 'complete' });
    out.codeSystems.push(...res.codeSystems);
    out.valueSets.push(...res.valueSets);
    out.warnings.push(...res.warnings);
    kategorier += distinct(satser.map((r) => r.refusjonskategori));

    // rows without a category map to nothing; leaving them out here keeps versions from being empty
    const apat = data.apatkombinasjoner[st];
    const mapped = apat.filter((r) => r.refusjonskategori !== null);
    if (mapped.length < apat.length) {
      out.warnings.push(
        `apatkombinasjoner ${st}: ${apat.length - mapped.length} rows without refusjonskategori left out`,
      );
    }
    const maps = toConceptMapsApat(mapped, { samhandlertype: st, source });
    out.conceptMaps.push(...maps.conceptMaps);
    out.warnings.push(...maps.warnings);
    kombinasjoner += distinct(mapped.map((r) => `${r.t_kode}|${r.p_kode}`));
  }
  datasets.push({ name: 'refusjonskategorier', codes: kategorier });
  datasets.push({ name: 'apatkombinasjoner', codes: kombinasjoner });

  out.counts = {
    fagomraader: fagCodes,
    praksistyper: livePraksistyper,
    takstkoder: takstCodes,
    nlk: nlkCodes,
    refusjonskategorier: kategorier,
    apatkombinasjoner: kombinasjoner,
  };
  out.provenance.date =
    datasets
      .map((d) => d.date ?? '')
      .sort()
      .at(-1) ?? '';
  return out;
}

/** The lists of a retrieval that had rows left out (upstream/helserefusjon.ts, rowAllowance). */
function skippedRowsIn(data: HelserefusjonData): SkippedRows[] {
  const lists: (readonly unknown[])[] = [
    data.fagomraader,
    data.takstkoder,
    data.nlkkoder,
    ...Object.values(data.nlkkoderPerSamhandlertype),
    ...Object.values(data.refusjonskategorisatser),
    ...Object.values(data.apatkombinasjoner),
  ];
  return lists.map((l) => skippedRowsOf(l)).filter((s): s is SkippedRows => s !== undefined);
}

function distinct(values: readonly string[]): number {
  return new Set(values).size;
}
