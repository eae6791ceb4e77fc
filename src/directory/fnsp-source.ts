import type { Dispatcher } from 'undici';
import { directoryOrigin } from '../../mappings/observed-codesystem.ts';
import {
  type DirectoryProvenance,
  FNSP_OPEN_DATA_URL,
  fnspProvenance,
  syntheticFnspProvenance,
} from '../../mappings/systems.ts';
import type { Logger } from '../http/log.ts';
import type { SharedRefresh } from '../shared/shared-refresh.ts';
import { createFnspClient } from '../upstream/fnsp.ts';
import {
  type FnspDatasettDto,
  type FnspNettstedDto,
  type Parsed,
  parseDatasett,
  parseNettsteder,
} from '../upstream/fnsp-dto.ts';
import type { UpstreamCallObserver, UpstreamHttpOptions } from '../upstream/http.ts';
import type { FnspConfig } from './directory-config.ts';
import { RefreshingDataset } from './directory-refresh.ts';
import { DirectoryIndex } from './directory-search.ts';
import { type DirectorySource, datasetSource, unconfiguredSource } from './directory-service.ts';
import { buildFnspDirectory } from './fnsp-dataset.ts';
import { loadSyntheticFnspDataset } from './fnsp-synthetic.ts';
import type { ObservedCodes } from './observed-codes.ts';

/**
 * The FNSP source of the directory: HealthcareService, Location and the trusts' Organizations.
 * - live: the full dataset (plus the sites, when the download does not include them) is downloaded,
 *   mapped and indexed, and downloaded again when older than FNSP_REFRESH;
 * - demo: the synthetic dataset, mapped the same way and tagged synthetic;
 * - unconfigured: every request is a 503 naming the missing settings.
 */

export const FNSP_TYPES = ['HealthcareService', 'Organization', 'Location'] as const;
export const FNSP_ID_PREFIX = 'fnsp-';

export interface FnspData {
  index: DirectoryIndex;
  /** warnings of parsing and mapping (rows left out, disagreements) */
  warnings: string[];
  /** when FNSP generated the file, if it says */
  generated: string | null;
  synthetic: boolean;
  /** when the download was made, when another replica made it (shared through Redis) */
  fetchedAt?: number;
}

/** One FNSP download as the replicas share it in Redis: the parsed rows, read back by the same parsers. */
interface FnspDownload {
  fetchedAt: number;
  parsed: Parsed<FnspDatasettDto>;
  sites: FnspNettstedDto[];
}

function decodeDownload(text: string): FnspDownload {
  const json = JSON.parse(text) as { fetchedAt?: unknown; datasett?: unknown; nettsteder?: unknown };
  if (typeof json.fetchedAt !== 'number') throw new Error('no fetchedAt');
  return { fetchedAt: json.fetchedAt, parsed: parseDatasett(json.datasett), sites: parseNettsteder(json.nettsteder) };
}

export interface FnspSourceDeps {
  /** required in live mode */
  dispatcher?: Dispatcher;
  now?: () => number;
  logger?: Logger;
  /** upstream request tuning for tests (retries, sleep) */
  http?: Pick<UpstreamHttpOptions, 'retries' | 'sleep' | 'random' | 'backoffBaseMs' | 'maxRetryAfterMs'>;
  /** how long a request waits for the first load (default 15 s) */
  firstLoadWaitMs?: number;
  /** notes the Volven codes of every dataset loaded (the code systems built from FNSP's codes) */
  observed?: ObservedCodes;
  /** told of every call to FNSP (metrics) */
  onUpstreamCall?: UpstreamCallObserver;
  /** with several replicas on Redis: one downloads (a lease), the others take its download */
  shared?: SharedRefresh;
}

/** Maps and indexes one parsed dataset. */
export function fnspData(
  parsed: Parsed<FnspDatasettDto>,
  sites: readonly FnspNettstedDto[],
  provenance: DirectoryProvenance,
  synthetic: boolean,
  observed?: ObservedCodes,
): FnspData {
  const built = buildFnspDirectory(parsed.value, sites, { provenance });
  const label = synthetic ? 'syntetiske FNSP-data' : 'FNSP (åpne data)';
  observed?.record(
    built.resources,
    directoryOrigin(synthetic ? 'synthetic-fnsp' : 'fnsp', label, provenance, synthetic),
  );
  return {
    index: new DirectoryIndex(built.resources),
    warnings: [...parsed.warnings, ...built.warnings],
    generated: parsed.value.generert,
    synthetic,
  };
}

export function createFnspSource(config: FnspConfig, deps: FnspSourceDeps = {}): DirectorySource {
  const base = { name: 'fnsp', label: 'FNSP', types: FNSP_TYPES, idPrefix: FNSP_ID_PREFIX };
  if (config.mode === 'unconfigured') {
    return unconfiguredSource({ ...base, missing: config.missing, hint: 'or FNSP_DEMO=true for synthetic data' });
  }

  let load: (signal: AbortSignal) => Promise<FnspData>;
  if (config.mode === 'demo') {
    load = async () => {
      const parsed = loadSyntheticFnspDataset();
      return fnspData(parsed, parsed.value.nettsteder ?? [], syntheticFnspProvenance(), true, deps.observed);
    };
  } else {
    if (!deps.dispatcher) throw new Error('the FNSP source needs an undici dispatcher in live mode');
    const client = createFnspClient({
      ...deps.http,
      dispatcher: deps.dispatcher,
      ...config.live,
      timeoutMs: config.timeoutMs,
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.onUpstreamCall ? { onCall: deps.onUpstreamCall } : {}),
    });
    // the public address of FNSP's open data, never the configured API URL
    const provenance = fnspProvenance(FNSP_OPEN_DATA_URL);
    const download = async (signal: AbortSignal): Promise<FnspDownload> => {
      const parsed = await client.datasett({ signal });
      const sites = parsed.value.nettsteder ?? (await client.nettsteder({ signal }));
      return { fetchedAt: (deps.now ?? Date.now)(), parsed, sites };
    };
    const shared = deps.shared;
    load = async (signal) => {
      if (!shared) {
        const d = await download(signal);
        return fnspData(d.parsed, d.sites, provenance, false, deps.observed);
      }
      const { value: d, from } = await shared.run({
        name: 'fnsp',
        maxAgeMs: config.refreshIntervalMs,
        fetch: () => download(signal),
        encode: (v) => JSON.stringify({ fetchedAt: v.fetchedAt, datasett: v.parsed.value, nettsteder: v.sites }),
        decode: decodeDownload,
        fetchedAt: (v) => v.fetchedAt,
        signal,
      });
      const data = fnspData(d.parsed, d.sites, provenance, false, deps.observed);
      return from === 'shared' ? { ...data, fetchedAt: d.fetchedAt } : data;
    };
  }

  const dataset = new RefreshingDataset<FnspData>({
    name: 'fnsp',
    load,
    refreshIntervalMs: config.refreshIntervalMs,
    retryAfterFailureMs: config.retryAfterFailureMs,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
    fetchedAt: (d) => d.fetchedAt,
    describe: (d) => {
      for (const w of d.warnings.slice(0, 20)) deps.logger?.info('fnsp data', { note: w });
      return { ...d.index.counts(), warnings: d.warnings.length, synthetic: d.synthetic };
    },
  });
  return datasetSource({
    ...base,
    dataset,
    ...(deps.firstLoadWaitMs !== undefined ? { firstLoadWaitMs: deps.firstLoadWaitMs } : {}),
    describe: (d) => ({
      mode: config.mode,
      synthetic: d.synthetic,
      warnings: d.warnings.length,
      ...(d.generated ? { generated: d.generated } : {}),
    }),
  });
}
