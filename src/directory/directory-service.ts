import type { Bundle, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { type IssueCode, makeIssue, notFound, OperationOutcomeError, outcome } from '../http/outcome.ts';
import { isUpstreamError } from '../upstream/errors.ts';
import type { RefreshingDataset, RefreshStatus } from './directory-refresh.ts';
import {
  type DirectoryIndex,
  type DirectoryResource,
  type DirectoryResourceType,
  findMatches,
  type ParseOptions,
  parseSearch,
  type Query,
  searchBundle,
} from './directory-search.ts';

/**
 * The directory service: HealthcareService, Organization and Location answered from in-memory
 * indexes of whole downloaded datasets (FNSP; Helfo's bandagists), never from an upstream call per
 * request. Each source says which resource types it serves and which ids are its own (by prefix).
 *
 * Availability (STYLE.md example 3: an outage is 502/503/504, never 4xx):
 * - a search whose every source is unavailable fails with that source's status (503 naming the
 *   missing settings when FNSP is not configured; 502/503/504 for an upstream failure);
 * - a search that some sources can answer returns their matches plus an `outcome` entry saying
 *   which source is missing (an Organization search works on bandagists without FNSP);
 * - stale data (the last refresh failed) is served, with a warning in the `outcome` entry;
 * - a read answers from the source owning the id.
 */

export interface SourceView {
  index: DirectoryIndex;
  /** shown to the client as a warning, e.g. that the data is stale */
  warning?: string;
}

export interface DirectorySource {
  /** short name, e.g. `fnsp`, `bandagists` (for /readyz and logs) */
  readonly name: string;
  /** the name in messages to clients, e.g. `FNSP` */
  readonly label: string;
  readonly types: readonly DirectoryResourceType[];
  /** whether a resource id belongs to this source (ids are prefixed per source) */
  owns(id: string): boolean;
  /** the current data; throws an OperationOutcomeError (503/502/504) when there is none */
  view(): Promise<SourceView>;
  status(): Record<string, unknown>;
  start(): void;
  stop(): void;
  /** resolves when no load is in flight (tests) */
  settled(): Promise<void>;
}

export interface SearchOptions extends ParseOptions {
  /** absolute base of the FHIR endpoint, for fullUrl and paging links */
  baseUrl: string;
}

export class DirectoryService {
  readonly sources: readonly DirectorySource[];

  constructor(sources: readonly DirectorySource[]) {
    this.sources = sources;
  }

  /** The resource types some source serves (for routing and the CapabilityStatement). */
  types(): DirectoryResourceType[] {
    return [...new Set(this.sources.flatMap((s) => s.types))];
  }

  async read(type: DirectoryResourceType, id: string): Promise<DirectoryResource> {
    const source = this.sources.find((s) => s.types.includes(type) && s.owns(id));
    if (!source) throw notFound(`${type}/${shortId(id)} is not known on this server`);
    const { index } = await source.view();
    const resource = index.get(type, id);
    if (!resource) throw notFound(`${type}/${shortId(id)} is not known on this server`);
    return resource;
  }

  /** vread (http.html#vread): only the current version is kept. */
  async vread(type: DirectoryResourceType, id: string, versionId: string): Promise<DirectoryResource> {
    const resource = await this.read(type, id);
    const current = resource.meta?.versionId;
    if (current !== versionId) {
      throw notFound(
        `Version ${shortId(versionId)} of ${type}/${shortId(id)} is not kept on this server; the current version is ${current}`,
      );
    }
    return resource;
  }

  async search(type: DirectoryResourceType, query: Query, options: SearchOptions): Promise<Bundle> {
    const req = parseSearch(type, query, options);
    const wanted = new Set<DirectoryResourceType>([type, ...req.includes.map((i) => i.target)]);
    const involved = this.sources.filter((s) => s.types.some((t) => wanted.has(t)));
    const results = await Promise.all(
      involved.map(async (source) => {
        try {
          return { source, view: await source.view() };
        } catch (error) {
          return { source, error };
        }
      }),
    );
    const primary = results.filter((r) => r.source.types.includes(type));
    const ok = primary.filter((r) => r.view !== undefined);
    if (ok.length === 0) {
      if (primary.length === 0) throw notFound(`No source serves ${type} on this server`);
      // every source failed: the first one's status, every source's reason
      const errors = primary.map((r) => unavailable(r.source.label, r.error));
      if (errors.length === 1) throw errors[0];
      throw new OperationOutcomeError(
        errors[0].status,
        errors.flatMap((e) => e.outcome.issue ?? []),
        errors[0].headers,
      );
    }
    const issues: OperationOutcomeIssue[] = [];
    for (const r of results) {
      if (r.view?.warning) issues.push(makeIssue({ severity: 'warning', code: 'transient', text: r.view.warning }));
      if (r.view === undefined && primary.includes(r)) {
        const text = r.error instanceof OperationOutcomeError ? r.error.message : `${r.source.label} is unavailable`;
        issues.push(
          makeIssue({
            severity: 'warning',
            code: 'incomplete',
            text: `The results leave out ${r.source.label} data: ${text}`,
          }),
        );
      }
    }
    const views = results.flatMap((r) => (r.view ? [r] : []));
    const matches = findMatches(
      ok.map((r) => r.view?.index as DirectoryIndex),
      req,
    );
    return searchBundle({
      req,
      matches,
      baseUrl: options.baseUrl,
      resolve: (t, id) => {
        for (const v of views) {
          if (!v.source.types.includes(t) || !v.source.owns(id)) continue;
          const found = v.view?.index.get(t, id);
          if (found) return found;
        }
        return undefined;
      },
      ...(issues.length > 0 ? { outcome: outcome(issues) } : {}),
    });
  }

  status(): Record<string, unknown> {
    return Object.fromEntries(this.sources.map((s) => [s.name, s.status()]));
  }

  start(): void {
    for (const s of this.sources) s.start();
  }

  stop(): void {
    for (const s of this.sources) s.stop();
  }

  async settled(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.settled()));
  }
}

function shortId(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}

// --- Sources built on a RefreshingDataset ----------------------------------------------------

/** A source that is switched off for lack of settings: every view is a 503 naming them. */
export function unconfiguredSource(options: {
  name: string;
  label: string;
  types: readonly DirectoryResourceType[];
  idPrefix: string;
  missing: readonly string[];
  hint?: string;
}): DirectorySource {
  const text = `${options.label} is not configured on this server: set ${options.missing.join(', ')}${options.hint ? ` (${options.hint})` : ''}`;
  return {
    name: options.name,
    label: options.label,
    types: options.types,
    owns: (id) => id.startsWith(options.idPrefix),
    view: async () => {
      throw new OperationOutcomeError(503, [makeIssue({ code: 'not-supported', text })]);
    },
    status: () => ({ state: 'unconfigured', missing: [...options.missing] }),
    start: () => undefined,
    stop: () => undefined,
    settled: async () => undefined,
  };
}

export interface DatasetSourceOptions<T extends { index: DirectoryIndex }> {
  name: string;
  label: string;
  types: readonly DirectoryResourceType[];
  idPrefix: string;
  dataset: RefreshingDataset<T>;
  /** extra fields for /readyz */
  describe?: (data: T) => Record<string, unknown>;
  /**
   * How long a request waits for the first load before it gets a 503 "still loading" with
   * Retry-After (default 15 s); once data exist no request waits.
   */
  firstLoadWaitMs?: number;
}

export const DEFAULT_FIRST_LOAD_WAIT_MS = 15_000;

/** Resolves with `p`, or with `undefined` after `ms` (the timer never outlives the race). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A source whose data is a RefreshingDataset (downloaded whole, refreshed in the background). */
export function datasetSource<T extends { index: DirectoryIndex }>(options: DatasetSourceOptions<T>): DirectorySource {
  const { dataset, label } = options;
  return {
    name: options.name,
    label,
    types: options.types,
    owns: (id) => id.startsWith(options.idPrefix),
    async view() {
      let loaded: Awaited<ReturnType<typeof dataset.get>> | undefined;
      try {
        const pending = dataset.get();
        loaded = dataset.peek()
          ? await pending
          : await within(pending, options.firstLoadWaitMs ?? DEFAULT_FIRST_LOAD_WAIT_MS);
      } catch (error) {
        throw unavailable(label, error);
      }
      if (loaded === undefined) {
        const retry = Math.ceil((options.firstLoadWaitMs ?? DEFAULT_FIRST_LOAD_WAIT_MS) / 1000);
        throw new OperationOutcomeError(
          503,
          [makeIssue({ code: 'transient', text: `${label} data is still loading; try again shortly` })],
          { 'Retry-After': String(retry) },
        );
      }
      const failed = dataset.lastError();
      return {
        index: loaded.data.index,
        ...(failed !== undefined
          ? {
              warning: `${label} data from ${new Date(loaded.loadedAt).toISOString()} is served; the last refresh failed: ${unavailableText(label, failed)}`,
            }
          : {}),
      };
    },
    status: () => {
      const s: RefreshStatus = dataset.status();
      const current = dataset.peek();
      return {
        ...s,
        ...(current ? { counts: current.data.index.counts(), ...options.describe?.(current.data) } : {}),
      };
    },
    start: () => dataset.start(),
    stop: () => dataset.stop(),
    settled: () => dataset.settled(),
  };
}

function unavailableText(label: string, error: unknown): string {
  return isUpstreamError(error) ? error.message : `${label} data could not be loaded`;
}

/**
 * A failed load as the client sees it: an upstream failure keeps its outage status (404 from the
 * upstream is a broken upstream here: 502); anything else is our bug (500, fixed text).
 */
export function unavailable(label: string, error: unknown): OperationOutcomeError {
  if (error instanceof OperationOutcomeError) return error;
  if (isUpstreamError(error)) {
    const status = error.httpStatus === 404 ? 502 : error.httpStatus;
    const code: IssueCode = status === 502 ? 'exception' : 'transient';
    const headers: Record<string, string> =
      error.retryAfterMs !== undefined ? { 'Retry-After': String(Math.ceil(error.retryAfterMs / 1000)) } : {};
    return new OperationOutcomeError(
      status,
      [makeIssue({ code, text: `${label} data is not available: ${error.message}` })],
      headers,
    );
  }
  return new OperationOutcomeError(500, [
    makeIssue({ code: 'exception', text: `Internal error while loading ${label} data` }),
  ]);
}
