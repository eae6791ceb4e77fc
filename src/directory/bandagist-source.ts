import type { Organization } from '@medplum/fhirtypes';
import type { Dispatcher } from 'undici';
import {
  bandagistOrganizationId,
  bandagistOrgnrs,
  toBandagistOrganization,
} from '../../mappings/bandagist-organization.ts';
import { bandasjisterProvenance } from '../../mappings/systems.ts';
import type { Logger } from '../http/log.ts';
import type { SharedRefresh } from '../shared/shared-refresh.ts';
import { type BandasjistDto, createHelserefusjonClient, parseBandasjister } from '../upstream/helserefusjon.ts';
import type { UpstreamCallObserver, UpstreamHttpOptions } from '../upstream/http.ts';
import { osloDate } from '../upstream/values.ts';
import type { BandagistConfig } from './directory-config.ts';
import { RefreshingDataset } from './directory-refresh.ts';
import { DirectoryIndex, withVersionId } from './directory-search.ts';
import { type DirectorySource, datasetSource } from './directory-service.ts';

/**
 * Helfo's bandagists with direct settlement (Helserefusjon `/v1/bandasjister`, no authentication)
 * as Organizations: the whole list fetched, mapped and indexed, and fetched again when older than
 * BANDAGIST_REFRESH. `active` depends on the date, so it is computed at each refresh
 * (daily by default).
 */

export const BANDAGIST_ID_PREFIX = 'bandagist-';

export interface BandagistData {
  index: DirectoryIndex;
  warnings: string[];
  /** when the list was fetched, when another replica fetched it (shared through Redis) */
  fetchedAt?: number;
}

export interface BandagistSourceDeps {
  dispatcher: Dispatcher;
  now?: () => number;
  logger?: Logger;
  http?: Pick<UpstreamHttpOptions, 'retries' | 'sleep' | 'random' | 'backoffBaseMs' | 'maxRetryAfterMs'>;
  /** how long a request waits for the first load (default 15 s) */
  firstLoadWaitMs?: number;
  /** told of every call for the bandagist list, as upstream `bandasjister` (metrics) */
  onUpstreamCall?: UpstreamCallObserver;
  /** with several replicas on Redis: one downloads (a lease), the others take its download */
  shared?: SharedRefresh;
}

/**
 * The name the bandagist list's calls are counted under: the list comes from the Helserefusjon API
 * (and its errors say so), but it is a dataset of its own, fetched on its own schedule, so its
 * calls and failures are told apart from those of the terminology's Helserefusjon data.
 */
export const BANDASJISTER_UPSTREAM = 'bandasjister';

/** Maps and indexes the list; a repeated SAR id keeps its first row. */
export function bandagistData(rows: readonly BandasjistDto[], today: string): BandagistData {
  const warnings: string[] = [];
  // the API's public address, never the configured one
  const provenance = bandasjisterProvenance();
  const byId = new Map<string, Organization>();
  for (const row of rows) {
    const id = bandagistOrganizationId(row);
    if (byId.has(id)) {
      warnings.push(`bandasjist sar_id ${row.sar_id} appears more than once; kept the first`);
      continue;
    }
    const { invalid } = bandagistOrgnrs(row);
    for (const v of invalid)
      warnings.push(`bandasjist sar_id ${row.sar_id}: ${v} is not an org.nr (9 digits); left out`);
    byId.set(id, withVersionId(toBandagistOrganization(row, { provenance, today })));
  }
  return { index: new DirectoryIndex([...byId.values()]), warnings };
}

export function createBandagistSource(config: BandagistConfig, deps: BandagistSourceDeps): DirectorySource {
  const now = deps.now ?? Date.now;
  const client = createHelserefusjonClient({
    ...deps.http,
    dispatcher: deps.dispatcher,
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    now,
    ...(deps.onUpstreamCall ? { onCall: relabelled(deps.onUpstreamCall) } : {}),
  });
  const dataset = new RefreshingDataset<BandagistData>({
    name: 'bandagists',
    load: async (signal) => {
      const shared = deps.shared;
      if (!shared) return bandagistData(await client.bandasjister({ signal }), osloDate(now()));
      const { value, from } = await shared.run({
        name: 'bandagists',
        maxAgeMs: config.refreshIntervalMs,
        fetch: async () => ({ fetchedAt: now(), rows: await client.bandasjister({ signal }) }),
        encode: (v) => JSON.stringify({ fetchedAt: v.fetchedAt, bandasjister: v.rows }),
        decode: (text) => {
          const json = JSON.parse(text) as { fetchedAt?: unknown };
          if (typeof json.fetchedAt !== 'number') throw new Error('no fetchedAt');
          return { fetchedAt: json.fetchedAt, rows: parseBandasjister(json) };
        },
        fetchedAt: (v) => v.fetchedAt,
        signal,
      });
      const data = bandagistData(value.rows, osloDate(now()));
      return from === 'shared' ? { ...data, fetchedAt: value.fetchedAt } : data;
    },
    fetchedAt: (d) => d.fetchedAt,
    refreshIntervalMs: config.refreshIntervalMs,
    retryAfterFailureMs: config.retryAfterFailureMs,
    now,
    ...(deps.logger ? { logger: deps.logger } : {}),
    describe: (d) => {
      for (const w of d.warnings.slice(0, 20)) deps.logger?.info('bandagist data', { note: w });
      return { organizations: d.index.count('Organization'), warnings: d.warnings.length };
    },
  });
  return datasetSource({
    name: 'bandagists',
    label: 'Helfo bandagists (Helserefusjon)',
    types: ['Organization'],
    idPrefix: BANDAGIST_ID_PREFIX,
    dataset,
    ...(deps.firstLoadWaitMs !== undefined ? { firstLoadWaitMs: deps.firstLoadWaitMs } : {}),
    describe: (d) => ({ warnings: d.warnings.length }),
  });
}

function relabelled(observe: UpstreamCallObserver): UpstreamCallObserver {
  return (call) => observe({ ...call, upstream: BANDASJISTER_UPSTREAM });
}
