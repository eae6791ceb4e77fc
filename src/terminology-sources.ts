import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { facadeCodeSystems } from '../mappings/facade-codesystems.ts';
import type { Config } from './config.ts';
import { seedFragments } from './directory/observed-codes.ts';
import { type EmbeddedHelserefusjon, loadEmbeddedHelserefusjon } from './helserefusjon/embedded.ts';
import { LiveHelserefusjon, type LiveHelserefusjonOptions } from './helserefusjon/live.ts';
import type {
  HelserefusjonMode,
  HelserefusjonProvenance,
  HelserefusjonResources,
} from './helserefusjon/live-resources.ts';
import type { Logger } from './http/log.ts';
import type { SharedRefresh } from './shared/shared-refresh.ts';
import { warmIndexes } from './terminology/codesystem-index.ts';
import { compacted } from './terminology/fast-json.ts';
import { LargeCodeSystemLoader } from './terminology/large-codesystems.ts';
import { type LargeFile, loadTerminology, TerminologyLoadError } from './terminology/loader.ts';
import { TerminologyStore, TX_RESOURCE_TYPES, type TxResource } from './terminology/store.ts';
import { createHelserefusjonClient, type FagomraadeDto, parseFagomraader } from './upstream/helserefusjon.ts';
import type { UpstreamCallObserver, UpstreamHttpOptions } from './upstream/http.ts';

/**
 * What the service answers from. The non-Helfo terminology (TERMINOLOGY_DATA_DIR and the FHIR R4
 * core) is loaded once; the Helserefusjon code systems come from the embedded data, or in live mode
 * from the API (helserefusjon/live.ts), and are replaced as a whole when a refresh succeeds.
 *
 * A TerminologyStore is never changed once it serves: a swap builds a new store (the base
 * resources plus the new Helserefusjon resources) and then replaces one reference, so a request
 * that took `current()` keeps a consistent view to its end, and the next request sees the new data.
 */

/** Where one part of the data came from (for /readyz and TerminologyCapabilities). */
export interface DataSourceNote {
  /** short name of the source, e.g. `helserefusjon` */
  name: string;
  mode: HelserefusjonMode;
  /** when the data were fetched from the upstream (live and snapshot) */
  fetchedAt?: string;
  /** the newest date the data state (yyyy-MM-dd) */
  date?: string;
  /** canonical URLs of the code systems that come from this source */
  codeSystems: readonly string[];
}

/** The data one request is answered from. Never changes: a swap makes a new one. */
export interface ServedTerminologyState {
  store: TerminologyStore;
  /** changes with every swap (and, for a fixed store, with every change): part of cache keys */
  generation: number;
  dataSources: readonly DataSourceNote[];
}

export interface TerminologySource {
  /** the data to answer a request from; take it once per request */
  current(): ServedTerminologyState;
  /** where the data came from and how fresh they are, for /readyz (JSON) */
  status?(): Record<string, unknown>;
}

/** A source that always serves `store` (tests, and the embedded-only mode). */
export function fixedSource(
  store: TerminologyStore,
  dataSources: readonly DataSourceNote[] = [],
  status?: () => Record<string, unknown>,
): TerminologySource {
  return {
    // the store's own generation: a test that adds to the store after start-up invalidates caches
    current: () => ({ store, generation: store.generation, dataSources }),
    ...(status ? { status } : {}),
  };
}

/** The store of `base` plus the Helserefusjon resources (base is left unchanged). */
export function combineStores(base: TerminologyStore, helserefusjon: HelserefusjonResources): TerminologyStore {
  const store = new TerminologyStore();
  for (const type of TX_RESOURCE_TYPES) for (const r of base.all(type)) store.add(r);
  addHelserefusjon(store, helserefusjon);
  return store;
}

function addHelserefusjon(store: TerminologyStore, h: HelserefusjonResources): void {
  for (const r of [...h.codeSystems, ...h.valueSets, ...h.conceptMaps]) store.add(compacted(r));
  for (const a of h.aliases) store.addAlias(a.type, a.alias, a.url);
}

function noteOf(h: HelserefusjonResources): DataSourceNote {
  const p = h.provenance;
  return {
    name: 'helserefusjon',
    mode: p.mode,
    ...(p.fetchedAt ? { fetchedAt: p.fetchedAt } : {}),
    ...(p.date ? { date: p.date } : {}),
    codeSystems: [...new Set(h.codeSystems.flatMap((cs) => (cs.url ? [cs.url] : [])))],
  };
}

/**
 * The holder of the served data in live mode: `swap` builds the new store first and then replaces
 * the state in one assignment; if building throws, nothing changes.
 */
export class SwappableTerminology implements TerminologySource {
  private readonly base: TerminologyStore;
  private state: ServedTerminologyState;
  private helserefusjon?: HelserefusjonResources;
  private readonly extraStatus?: () => Record<string, unknown>;

  constructor(base: TerminologyStore, extraStatus?: () => Record<string, unknown>) {
    this.base = base;
    this.extraStatus = extraStatus;
    this.state = { store: base, generation: 0, dataSources: [] };
  }

  current(): ServedTerminologyState {
    return this.state;
  }

  /** Adds resources to the base data (a large file, loaded late) and serves them at once. */
  addBase(resources: readonly TxResource[]): void {
    for (const r of resources) addLate(this.base, r);
    if (this.helserefusjon) this.swap(this.helserefusjon);
    else this.state = { ...this.state, store: this.base, generation: this.state.generation + 1 };
  }

  swap(helserefusjon: HelserefusjonResources): void {
    const store = combineStores(this.base, helserefusjon);
    // indexed before it serves: no request pays for an index
    warmIndexes(store);
    this.state = { store, generation: this.state.generation + 1, dataSources: [noteOf(helserefusjon)] };
    this.helserefusjon = helserefusjon;
  }

  /** The provenance of the Helserefusjon data served now. */
  get provenance(): HelserefusjonProvenance | undefined {
    return this.helserefusjon?.provenance;
  }

  status(): Record<string, unknown> {
    return { helserefusjon: { ...this.provenance, ...this.extraStatus?.() } };
  }
}

export interface ServedTerminology {
  store: TerminologyStore;
  helserefusjon: HelserefusjonProvenance;
}

/** The embedded Helserefusjon data in the form the holder takes. */
export function embeddedResources(h: EmbeddedHelserefusjon): HelserefusjonResources {
  return {
    codeSystems: h.codeSystems,
    valueSets: h.valueSets,
    conceptMaps: h.conceptMaps,
    aliases: h.aliases,
    warnings: h.warnings,
    provenance: {
      mode: 'embedded',
      date: h.provenance.date,
      datasets: h.provenance.datasets.map((d) => ({ name: d.name, version: d.version, date: d.date, files: d.files })),
    },
  };
}

/**
 * The embedded-only store, loaded synchronously: the FHIR resources of TERMINOLOGY_DATA_DIR (with
 * the FHIR R4 core terminology) and the Helserefusjon code systems built from the data embedded in
 * the repository (HELSEREFUSJON_DATA_DIR). Throws when a data file cannot be used.
 */
export function loadServedTerminology(config: Config, logger?: Logger): ServedTerminology {
  const { store, helserefusjon } = loadEmbeddedTerminology(config, logger);
  return { store, helserefusjon: helserefusjon.provenance };
}

/**
 * The terminology of TERMINOLOGY_DATA_DIR (with the FHIR R4 core), the code systems the service
 * defines for its own codings (mappings/facade-codesystems.ts) and the first codes of the Volven
 * fragments: the part that never changes.
 */
export function loadBaseTerminology(
  config: Pick<Config, 'terminologyDataDir'> & Partial<Pick<Config, 'terminologyLargeFileBytes'>>,
  large?: LargeFile[],
): TerminologyStore {
  const minBytes = config.terminologyLargeFileBytes ?? 0;
  const store = loadTerminology(
    config.terminologyDataDir,
    large && minBytes > 0 ? { deferLarge: { minBytes, into: large } } : {},
  );
  for (const cs of facadeCodeSystems()) store.add(compacted(cs));
  // the Volven lists without a complete copy, from the codes of published examples (they grow with
  // what the upstreams return: directory/observed-codes.ts)
  const held = (system: string) => store.versions('CodeSystem', store.canonicalUrl('CodeSystem', system)).length > 0;
  for (const cs of seedFragments(held)) store.add(compacted(cs));
  return store;
}

/**
 * A resource of a large file, added after start-up: like a data file's, it may not repeat a
 * resource of the data folder (same type, url and version). The core terminology never has
 * code systems that large; a clash with it is refused too, rather than served twice.
 */
function addLate(store: TerminologyStore, r: TxResource): void {
  const clash = r.url !== undefined && store.versions(r.resourceType, r.url).some((x) => x.version === r.version);
  if (clash) {
    throw new TerminologyLoadError(`${r.resourceType} ${r.url}|${r.version ?? ''} is also in another terminology file`);
  }
  store.add(r);
}

function loadEmbeddedTerminology(
  config: Config,
  logger?: Logger,
  large?: LargeFile[],
): { store: TerminologyStore; helserefusjon: HelserefusjonResources } {
  const store = loadBaseTerminology(config, large);
  const helserefusjon = embeddedResources(loadEmbeddedHelserefusjon(config.helserefusjonDataDir));
  addHelserefusjon(store, helserefusjon);
  for (const w of helserefusjon.warnings) logger?.info('helserefusjon data', { note: w });
  return { store, helserefusjon };
}

export interface OpenOptions {
  logger?: Logger;
  /** the undici dispatcher for the upstream (default: an Agent of its own, closed by close()) */
  dispatcher?: Dispatcher;
  /** the non-Helfo store, when already loaded (tests share one); it is never changed */
  base?: TerminologyStore;
  /** overrides of the refresher (tests: no cool-down, short waits) */
  live?: Partial<Pick<LiveHelserefusjonOptions, 'cooldownMs' | 'retryMs' | 'minRatio' | 'now' | 'startupTimeoutMs'>>;
  /** overrides of the upstream requests (tests: fewer retries, short back-off) */
  http?: Partial<Pick<UpstreamHttpOptions, 'retries' | 'backoffBaseMs' | 'backoffMaxMs' | 'maxRetryAfterMs'>>;
  /** told of every call to the Helserefusjon API (metrics) */
  onUpstreamCall?: UpstreamCallObserver;
  /** with several replicas on Redis: one refreshes (a lease), the others take its retrieval */
  shared?: SharedRefresh;
}

export interface OpenedTerminology {
  source: TerminologySource;
  /** the large files of TERMINOLOGY_DATA_DIR, to load after listening (start() it) */
  large: LargeCodeSystemLoader;
  /** the refresher, in live mode */
  live?: LiveHelserefusjon;
  /** stops refreshing and closes upstream connections */
  close(): Promise<void>;
}

/**
 * The terminology to serve, by the configuration. Without HELSEREFUSJON_BASE_URL: the embedded
 * data, fixed. With it: the live API at start-up; if that fails, the snapshot of the last good
 * retrieval; if there is none, the embedded data; then a refresh every HELSEREFUSJON_REFRESH.
 * Start-up waits for the upstream at most twice HELSEREFUSJON_TIMEOUT.
 */
export async function openServedTerminology(config: Config, options: OpenOptions = {}): Promise<OpenedTerminology> {
  const { logger } = options;
  const largeFiles: LargeFile[] = [];
  const onFile = (note: { name: string; ms: number; concepts?: number; error?: string }) => {
    if (note.error) logger?.error('cannot load terminology', { file: note.name, reason: note.error });
    else logger?.info('large terminology file loaded', { ...note });
  };
  if (config.helserefusjonBaseUrl === undefined) {
    const { store, helserefusjon } = loadEmbeddedTerminology(config, logger, largeFiles);
    return {
      source: fixedSource(store, [noteOf(helserefusjon)], () => ({ helserefusjon: helserefusjon.provenance })),
      large: new LargeCodeSystemLoader(largeFiles, {
        add: (resources) => {
          for (const r of resources) addLate(store, r);
        },
        onFile,
      }),
      close: async () => undefined,
    };
  }

  const base = options.base ?? loadBaseTerminology(config, largeFiles);
  const ownDispatcher = options.dispatcher === undefined;
  const dispatcher = options.dispatcher ?? new Agent();
  const client = createHelserefusjonClient({
    dispatcher,
    baseUrl: config.helserefusjonBaseUrl,
    timeoutMs: config.helserefusjonTimeoutMs,
    ...options.http,
    onRetry: (info) => logger?.debug('helserefusjon retry', { ...info }),
    ...(options.onUpstreamCall ? { onCall: options.onUpstreamCall } : {}),
  });
  let live: LiveHelserefusjon | undefined;
  const holder = new SwappableTerminology(base, () => ({ upstream: live?.status() }));
  live = new LiveHelserefusjon({
    client,
    apply: (resources) => holder.swap(resources),
    refreshMs: config.helserefusjonRefreshMs,
    startupTimeoutMs: 2 * config.helserefusjonTimeoutMs,
    snapshotDir: config.helserefusjonSnapshotDir,
    documentedFagomraader: documentedFagomraader(config.helserefusjonDataDir, logger),
    logger,
    ...(options.shared ? { shared: options.shared } : {}),
    ...options.live,
  });
  const mode = await live.start();
  if (mode === undefined) {
    const embedded = embeddedResources(loadEmbeddedHelserefusjon(config.helserefusjonDataDir));
    holder.swap(embedded);
    logger?.warn('helserefusjon: serving the embedded data until the upstream answers');
  }
  const refresher = live;
  return {
    source: holder,
    large: new LargeCodeSystemLoader(largeFiles, { add: (resources) => holder.addBase(resources), onFile }),
    live: refresher,
    close: async () => {
      refresher.stop();
      if (ownDispatcher) await dispatcher.close();
    },
  };
}

/**
 * The fagområder and praksistyper of the API documentation's tables (the embedded kodeverk file),
 * for when the live fagområder nest no praksistyper. Undefined when the file cannot be used.
 */
function documentedFagomraader(dataDir: string, logger?: Logger): FagomraadeDto[] | undefined {
  try {
    return parseFagomraader(JSON.parse(readFileSync(join(dataDir, 'kodeverk', 'fagomraader.json'), 'utf8')));
  } catch (err) {
    logger?.warn('helserefusjon: the documented praksistyper cannot be read', { reason: (err as Error).message });
    return undefined;
  }
}
