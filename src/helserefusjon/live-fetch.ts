/**
 * The fetch stage of live mode (live.ts): the upstream's datasets, each fetched on its own, with
 * the last good copy of one that fails (kept) or none (missing). Mapping is live-resources.ts's,
 * checking check.ts's, serving live.ts's.
 */

import { isUpstreamError } from '../upstream/errors.ts';
import {
  type ApatkombinasjonDto,
  type FagomraadeDto,
  type HelserefusjonClient,
  type NlkKodeDto,
  type RefusjonskategorisatsDto,
  SAMHANDLERTYPER,
  type Samhandlertype,
  type TakstkodeDto,
} from '../upstream/helserefusjon.ts';

/**
 * The upstream's datasets as fetched: each on its own, so that one failing (a 404 on
 * `/v1/apatkombinasjoner`, a timeout on NLK) does not keep the others from going live.
 */
const UPSTREAM_DATASETS = [
  'fagomraader',
  'takstkoder',
  'nlkkoder',
  'refusjonskategorisatser',
  'apatkombinasjoner',
] as const;
export type UpstreamDataset = (typeof UPSTREAM_DATASETS)[number];

/** Datasets without which nothing is served from the upstream (the others are served when they come). */
const REQUIRED_DATASETS: ReadonlySet<UpstreamDataset> = new Set(['fagomraader', 'takstkoder', 'nlkkoder']);

/**
 * How one dataset of a retrieval was obtained: `fetched` now; `kept` from the last good retrieval
 * because this fetch failed (`fetchedAt` says how old the copy is); `missing` when it failed and no
 * copy was at hand (an optional dataset: served empty).
 */
export interface DatasetState {
  state: 'fetched' | 'kept' | 'missing';
  /** when the rows served were fetched */
  fetchedAt?: string;
  /** why this fetch failed (kept, missing): a stable code and a client-safe message */
  error?: { code: string; message: string };
}

/** Everything one fetch gets from the upstream: the rows as DTOs (the API's field names). */
export interface HelserefusjonData {
  /** when the fetch finished (ISO 8601 instant) */
  fetchedAt: string;
  /** per dataset, how it was obtained (absent: every one fetched at fetchedAt) */
  datasets?: Partial<Record<UpstreamDataset, DatasetState>>;
  fagomraader: FagomraadeDto[];
  /** /v1/takstkoder without filters: every fagområde and validity period */
  takstkoder: TakstkodeDto[];
  /** /v1/nlkkoder without samhandlertype */
  nlkkoder: NlkKodeDto[];
  /** /v1/nlkkoder?samhandlertype=…: the refusjonskategori of each code for that samhandlertype */
  nlkkoderPerSamhandlertype: Record<Samhandlertype, NlkKodeDto[]>;
  refusjonskategorisatser: Record<Samhandlertype, RefusjonskategorisatsDto[]>;
  apatkombinasjoner: Record<Samhandlertype, ApatkombinasjonDto[]>;
}

export interface FetchOptions {
  signal?: AbortSignal;
  now?: () => Date;
}

/**
 * Fetches every dataset (9 requests, concurrently), each dataset on its own: the first failure
 * within a dataset cancels that dataset's other requests only. A dataset that fails is taken from
 * `previous` (the last good retrieval), marked `kept`; with no copy, an optional dataset is empty
 * and marked `missing`, and a required one (fagområder, takstkoder, NLK) fails the fetch. When no
 * dataset could be fetched at all (an outage), the fetch fails with the first error: nothing new
 * came, and the data served stay as they are.
 */
export async function fetchHelserefusjonData(
  client: HelserefusjonClient,
  options: FetchOptions = {},
  previous?: HelserefusjonData,
): Promise<HelserefusjonData> {
  const group = <T>(requests: (call: { signal: AbortSignal }) => Promise<T>): Promise<T> => {
    const cancel = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
    return requests({ signal }).catch((err: unknown) => {
      cancel.abort();
      throw err;
    });
  };
  const perSamhandlertype = <T>(get: (st: Samhandlertype) => Promise<T[]>) =>
    Promise.all(SAMHANDLERTYPER.map((st) => get(st))).then(
      (lists) => Object.fromEntries(SAMHANDLERTYPER.map((st, i) => [st, lists[i]])) as Record<Samhandlertype, T[]>,
    );
  const settled = await Promise.allSettled([
    group((call) => client.fagomraader(call)),
    group((call) => client.takstkoder({}, call)),
    group((call) =>
      Promise.all([
        client.nlkkoder({}, call),
        perSamhandlertype((samhandlertype) => client.nlkkoder({ samhandlertype }, call)),
      ]),
    ),
    group((call) => perSamhandlertype((samhandlertype) => client.refusjonskategorisatser({ samhandlertype }, call))),
    group((call) => perSamhandlertype((samhandlertype) => client.apatkombinasjoner({ samhandlertype }, call))),
  ]);
  const fetchedAt = (options.now?.() ?? new Date()).toISOString();
  const failures = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  // an outage (or a stop) fails the fetch as a whole: nothing new came
  if (failures.length === settled.length) throw failures[0].reason;
  const states: Partial<Record<UpstreamDataset, DatasetState>> = {};
  const pick = <T>(name: UpstreamDataset, index: number, fromPrevious: (p: HelserefusjonData) => T, empty: T): T => {
    const r = settled[index];
    if (r.status === 'fulfilled') {
      states[name] = { state: 'fetched', fetchedAt };
      return r.value as T;
    }
    const error = failureSummary(r.reason);
    const kept = previous && previous.datasets?.[name]?.state !== 'missing' ? previous : undefined;
    if (kept) {
      states[name] = { state: 'kept', fetchedAt: kept.datasets?.[name]?.fetchedAt ?? kept.fetchedAt, error };
      return fromPrevious(kept);
    }
    if (REQUIRED_DATASETS.has(name)) throw r.reason;
    states[name] = { state: 'missing', error };
    return empty;
  };
  const noneEach = <T>(): Record<Samhandlertype, T[]> =>
    Object.fromEntries(SAMHANDLERTYPER.map((st) => [st, [] as T[]])) as Record<Samhandlertype, T[]>;
  const fagomraader = pick('fagomraader', 0, (p) => p.fagomraader, [] as FagomraadeDto[]);
  const takstkoder = pick('takstkoder', 1, (p) => p.takstkoder, [] as TakstkodeDto[]);
  const [nlkkoder, nlkkoderPerSamhandlertype] = pick(
    'nlkkoder',
    2,
    (p) => [p.nlkkoder, p.nlkkoderPerSamhandlertype] as [NlkKodeDto[], Record<Samhandlertype, NlkKodeDto[]>],
    [[], noneEach<NlkKodeDto>()] as [NlkKodeDto[], Record<Samhandlertype, NlkKodeDto[]>],
  );
  const refusjonskategorisatser = pick(
    'refusjonskategorisatser',
    3,
    (p) => p.refusjonskategorisatser,
    noneEach<RefusjonskategorisatsDto>(),
  );
  const apatkombinasjoner = pick('apatkombinasjoner', 4, (p) => p.apatkombinasjoner, noneEach<ApatkombinasjonDto>());
  return {
    fetchedAt,
    ...(failures.length > 0 ? { datasets: states } : {}),
    fagomraader,
    takstkoder,
    nlkkoder,
    nlkkoderPerSamhandlertype,
    refusjonskategorisatser,
    apatkombinasjoner,
  };
}

/** A failure as a stable code and a client-safe message (UpstreamError messages never hold the URL). */
export function failureSummary(e: unknown): { code: string; message: string } {
  if (isUpstreamError(e)) return { code: e.code, message: e.message };
  return { code: 'INTERNAL_ERROR', message: 'the data could not be processed (see the server log)' };
}
