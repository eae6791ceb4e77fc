import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CodeSystem, ConceptMap, ValueSet } from '@medplum/fhirtypes';
import { toCodeSystemFagomraader } from '../../mappings/fagomraader.ts';
import { fromNlkReleaseRow, toCodeSystemNlk } from '../../mappings/nlk.ts';
import { toCodeSystemPraksistyper, toValueSetsPraksistyperPerFagomraade } from '../../mappings/praksistyper.ts';
import {
  helserefusjonDocumentationSource,
  NLK_ALIASES,
  NLK_SYSTEM,
  nlkReleaseSource,
  tariffPublicationSource,
} from '../../mappings/systems.ts';
import { groupByFagomraade, toCodeSystemsTakstkoder } from '../../mappings/takstkoder.ts';
import { UpstreamError } from '../upstream/errors.ts';
import { parseFagomraader, parseTakstkoder, skippedRowsOf, type TakstkodeDto } from '../upstream/helserefusjon.ts';
import { osloDate } from '../upstream/values.ts';
import { parseNlkReleaseCsv } from './nlk-release.ts';

/**
 * The Helserefusjon code systems built from the data shipped in the repository
 * (data/helserefusjon, see its SOURCE.md files), so the service works offline: NLK from the
 * release CSV, takstkoder from the transcribed tariff rows, fagområder and praksistyper from the
 * API documentation's tables. File reading and parsing happen here (the edge); everything else is
 * the pure mappings. The embedded JSON is in the API's row shape and goes through the same parsers
 * as live answers.
 *
 * Layout of `dataDir`:
 *   nlk/nlk-<release>.csv          NLK release (exactly one)
 *   takstkoder/*.json              { "takstkoder": [rows], "source", "retrieved_from", ... }
 *   kodeverk/fagomraader.json      { "fagomraader": [{ fagomraadekode, beskrivelse, praksistyper }] }
 */

/** The date of the API documentation the fagområder/praksistyper tables were transcribed from. */
export const KODEVERK_DOCUMENT_DATE = '2025-06-04';

export interface TerminologyAlias {
  type: 'CodeSystem';
  /** another canonical URL of the same code system */
  alias: string;
  /** the canonical URL it stands for */
  url: string;
}

export interface EmbeddedDataset {
  name: string;
  version: string;
  /** the newest date the data states (release change date, period start, document date) */
  date: string;
  files: string[];
}

export interface EmbeddedHelserefusjon {
  codeSystems: CodeSystem[];
  valueSets: ValueSet[];
  conceptMaps: ConceptMap[];
  /** register each with `store.addAlias(a.type, a.alias, a.url)` */
  aliases: TerminologyAlias[];
  provenance: {
    source: 'embedded';
    /** the newest dataset date (yyyy-MM-dd) */
    date: string;
    datasets: EmbeddedDataset[];
  };
  /** data oddities worth a log line (merged duplicate codes, overlapping rows, …) */
  warnings: string[];
}

/** A data file that cannot be used; start-up should stop with this message. */
export class EmbeddedDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedDataError';
  }
}

/** Today's date in Europe/Oslo, `yyyy-MM-dd`. */
export function todayInNorway(now: Date = new Date()): string {
  return osloDate(now.getTime());
}

export function loadEmbeddedHelserefusjon(dataDir: string): EmbeddedHelserefusjon {
  const out: EmbeddedHelserefusjon = {
    codeSystems: [],
    valueSets: [],
    conceptMaps: [],
    aliases: NLK_ALIASES.map((alias) => ({ type: 'CodeSystem', alias, url: NLK_SYSTEM })),
    provenance: { source: 'embedded', date: '', datasets: [] },
    warnings: [],
  };

  // fagområder and praksistyper (the fagområde texts are also used by the takstkoder titles)
  const kodeverkFile = join(dataDir, 'kodeverk', 'fagomraader.json');
  const fagomraader = parsed(kodeverkFile, () => parseFagomraader(readJson(kodeverkFile)));
  const docSource = helserefusjonDocumentationSource(KODEVERK_DOCUMENT_DATE);
  const fag = toCodeSystemFagomraader(fagomraader, {
    version: KODEVERK_DOCUMENT_DATE,
    date: KODEVERK_DOCUMENT_DATE,
    source: docSource,
    content: 'complete',
  });
  // Newer praksistyper exist (e.g. KOLE, KNFL in navikt/kuhr-krav-api-dokumentasjon), so the
  // documented table is not the whole list.
  const praksisCtx = {
    version: KODEVERK_DOCUMENT_DATE,
    date: KODEVERK_DOCUMENT_DATE,
    source: docSource,
    content: 'fragment' as const,
  };
  const praksis = toCodeSystemPraksistyper(fagomraader, praksisCtx);
  out.codeSystems.push(fag.codeSystem, praksis.codeSystem);
  out.valueSets.push(fag.valueSet, praksis.valueSet, ...toValueSetsPraksistyperPerFagomraade(fagomraader, praksisCtx));
  out.provenance.datasets.push({
    name: 'fagomraader og praksistyper',
    version: KODEVERK_DOCUMENT_DATE,
    date: KODEVERK_DOCUMENT_DATE,
    files: [relativeName(dataDir, kodeverkFile)],
  });
  const fagomraadeText = new Map(fagomraader.map((f) => [f.fagomraadekode, f.beskrivelse ?? undefined]));

  // takstkoder: one CodeSystem per fagområde, one version per tariff period
  const takstDir = join(dataDir, 'takstkoder');
  const takstFiles = listFiles(takstDir, '.json');
  if (takstFiles.length === 0) throw new EmbeddedDataError(`${takstDir}: no takstkoder files`);
  const rows: TakstkodeDto[] = [];
  const fileOf = new Map<TakstkodeDto, TariffFile>();
  for (const file of takstFiles) {
    const json = readJson(file);
    const meta = tariffFileMeta(json, file);
    for (const row of parsed(file, () => parseTakstkoder(json))) {
      rows.push(row);
      fileOf.set(row, meta);
    }
  }
  let newestPeriod = '';
  // the publisher/copyright of a version name the publications its own rows come from
  const sourceOf = (versionRows: readonly TakstkodeDto[]) => {
    const files = [...new Set(versionRows.map((r) => fileOf.get(r)!))];
    return tariffPublicationSource(unique(files.map((f) => f.origin)), unique(files.flatMap((f) => f.urls)));
  };
  for (const [fagomraade, list] of groupByFagomraade(rows)) {
    const res = toCodeSystemsTakstkoder(list, {
      fagomraade,
      fagomraadeBeskrivelse: fagomraadeText.get(fagomraade),
      content: 'fragment',
      source: sourceOf,
    });
    out.codeSystems.push(...res.codeSystems);
    out.valueSets.push(...res.valueSets);
    out.warnings.push(...res.warnings);
    for (const cs of res.codeSystems) if (cs.date && cs.date > newestPeriod) newestPeriod = cs.date;
  }
  out.provenance.datasets.push({
    name: 'takstkoder',
    version: newestPeriod,
    date: newestPeriod,
    files: takstFiles.map((f) => relativeName(dataDir, f)),
  });

  // NLK
  const nlkDir = join(dataDir, 'nlk');
  const nlkFiles = listFiles(nlkDir, '.csv');
  if (nlkFiles.length !== 1)
    throw new EmbeddedDataError(`${nlkDir}: expected one NLK release CSV, found ${nlkFiles.length}`);
  const nlkFile = nlkFiles[0];
  const release = /^nlk-(\d+\.\d+)\.csv$/.exec(basename(nlkFile))?.[1];
  if (!release) throw new EmbeddedDataError(`${nlkFile}: the name must be nlk-<release>.csv, e.g. nlk-7280.77.csv`);
  let nlkRows: ReturnType<typeof parseNlkReleaseCsv>;
  try {
    nlkRows = parseNlkReleaseCsv(readFileSync(nlkFile, 'utf8'), basename(nlkFile));
  } catch (err) {
    throw new EmbeddedDataError(`${nlkFile}: ${(err as Error).message}`);
  }
  const nlk = toCodeSystemNlk(nlkRows.map(fromNlkReleaseRow), {
    version: release,
    source: nlkReleaseSource(release),
  });
  out.codeSystems.push(nlk.codeSystem);
  out.valueSets.push(nlk.valueSet);
  out.conceptMaps.push(nlk.conceptMap);
  out.warnings.push(...nlk.warnings);
  out.provenance.datasets.push({
    name: 'NLK',
    version: release,
    date: nlk.codeSystem.date ?? '',
    files: [relativeName(dataDir, nlkFile)],
  });

  out.provenance.date =
    out.provenance.datasets
      .map((d) => d.date)
      .sort()
      .at(-1) ?? '';
  return out;
}

interface TariffFile {
  /** short name of the publication, for `publisher` */
  origin: string;
  urls: string[];
}

/** The provenance fields of our tariff file wrapper (`source`, `retrieved_from`). */
function tariffFileMeta(json: unknown, file: string): TariffFile {
  const o = (typeof json === 'object' && json !== null ? json : {}) as { source?: unknown; retrieved_from?: unknown };
  if (typeof o.source !== 'string' || o.source.trim() === '') {
    throw new EmbeddedDataError(`${file}: no "source" (every tariff file names its publication)`);
  }
  const urls = Array.isArray(o.retrieved_from)
    ? o.retrieved_from.filter((u): u is string => typeof u === 'string')
    : [];
  // "Normaltariffen (Den norske legeforening, …) – gjengivelse av forskrift …" → the part before " – "
  return { origin: o.source.split(' – ')[0].trim(), urls };
}

function parsed<T>(file: string, parse: () => T): T {
  let result: T;
  try {
    result = parse();
  } catch (err) {
    if (err instanceof UpstreamError) throw new EmbeddedDataError(`${file}: ${err.reason ?? err.message}`);
    throw err;
  }
  // the embedded files are ours: a row that cannot be read is an error, not a row to leave out
  const skipped = Array.isArray(result) ? skippedRowsOf(result) : undefined;
  if (skipped) {
    throw new EmbeddedDataError(
      `${file}: ${skipped.skipped} of ${skipped.total} rows cannot be read; first: ${skipped.first}`,
    );
  }
  return result;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EmbeddedDataError(`${file} cannot be read: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new EmbeddedDataError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function listFiles(dir: string, ext: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(ext))
      .sort()
      .map((f) => join(dir, f));
  } catch (err) {
    throw new EmbeddedDataError(`${dir} cannot be read: ${(err as Error).message}`);
  }
}

function relativeName(dataDir: string, file: string): string {
  return file.startsWith(dataDir) ? file.slice(dataDir.length).replace(/^[/\\]+/, '') : file;
}

function unique<T>(list: readonly T[]): T[] {
  return [...new Set(list)];
}
