import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalBaseOf, canonicalBaseProblem, FACADE_CANONICAL_BASE } from '../mappings/systems.ts';
import { ConfigError } from './config-error.ts';
import { duration, type Env, flag, httpUrl, integer, nonEmpty, oneOf } from './config-readers.ts';
import { type DirectoryConfig, parseDirectoryConfig } from './directory/directory-config.ts';
import { type HprConfig, parseHprConfig } from './directory/hpr-config.ts';
import { ISSUE_LOCATION } from './http/outcome.ts';
import { parseSharedConfig, type SharedConfig } from './shared/shared-config.ts';

/**
 * Runtime configuration. This is the only module that reads `process.env` (STYLE.md, "Config is
 * injected, never a global"): everything else receives a `Config`. Two settings are the exception,
 * since every worker thread must agree on them from its first line: CANONICAL_BASE
 * (mappings/systems.ts) and ISSUE_LOCATION (http/outcome.ts) are read once where they take
 * effect, and checked here. Every variable is documented in the README configuration table; keep
 * the two in step.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** HPR (Practitioner) and Maskinporten settings: src/directory/hpr-config.ts, README "Practitioner". */
  hpr: HprConfig;
  /** FNSP (HealthcareService, Organization, Location) and bandagist settings: src/directory/directory-config.ts. */
  directory: DirectoryConfig;
  /** State shared by replicas in Redis (REDIS_URL, REDIS_KEY_PREFIX, REDIS_TIMEOUT, REPLICAS): src/shared/shared-config.ts. */
  shared: SharedConfig;
  /** TCP port to listen on (PORT, default 8080). */
  port: number;
  /** Interface to bind (HOST, default 0.0.0.0). */
  host: string;
  /**
   * Absolute base URL of the FHIR endpoint as clients see it, without a trailing slash
   * (PUBLIC_BASE_URL, default http://localhost:PORT/fhir). Used for paging links, Bundle fullUrls
   * and the CapabilityStatement.
   */
  publicBaseUrl: string;
  /** Whether PUBLIC_BASE_URL was set: then it wins over what a proxy reports. */
  publicBaseUrlSet: boolean;
  /**
   * TRUST_PROXY (default false): links follow the address a reverse proxy reports (`Forwarded`,
   * `X-Forwarded-Proto|Host|Prefix`) unless PUBLIC_BASE_URL is set (http/base-url.ts).
   */
  trustProxy: boolean;
  /**
   * The base of the canonical URLs of the resources this service makes (CANONICAL_BASE, default
   * https://no-fhir-facade.example/fhir): the Helserefusjon code systems, value sets and concept
   * maps, and our property and extension URLs. Read once at start-up (mappings/systems.ts).
   */
  canonicalBase: string;
  /**
   * Whether OperationOutcome issues also carry the deprecated `location` beside `expression`
   * (ISSUE_LOCATION, default false). Read once at start-up (http/outcome.ts).
   */
  issueLocation: boolean;
  /** LOG_LEVEL: debug | info | warn | error | silent (default info). */
  logLevel: LogLevel;
  /** Largest accepted request body in bytes (MAX_BODY_BYTES, default 50 MiB). */
  maxBodyBytes: number;
  /** Folder with the terminology JSON files served (TERMINOLOGY_DATA_DIR, default <repo>/data/terminology). */
  terminologyDataDir: string;
  /**
   * Files of TERMINOLOGY_DATA_DIR this large (bytes) or larger are loaded after the server listens,
   * parsed and indexed in a process of their own (TERMINOLOGY_LARGE_FILE, default 4 MiB; 0: every file is
   * loaded before listening).
   */
  terminologyLargeFileBytes: number;
  /** Folder of the embedded Helserefusjon data (HELSEREFUSJON_DATA_DIR, default <repo>/data/helserefusjon). */
  helserefusjonDataDir: string;
  /** Answers of GET operations kept for reuse (RESPONSE_CACHE_ENTRIES, default 20000; 0 turns the cache off). */
  responseCacheEntries: number;
  /** Upper bound of the response cache in bytes of serialized answers (RESPONSE_CACHE_BYTES, default 64 MiB). */
  responseCacheBytes: number;
  /** Largest single answer the response cache keeps, in bytes (RESPONSE_CACHE_MAX_ENTRY_BYTES, default 1 MiB). */
  responseCacheMaxEntryBytes: number;
  /**
   * Bytes of compressed large answers kept (COMPRESSED_CACHE_BYTES, default 32 MiB; 0 turns it off):
   * answers of 64 KiB and more that carry a strong ETag (reads, /metadata) are compressed once per
   * ETag and encoding (compression.ts).
   */
  compressedCacheBytes: number;
  /**
   * Most request-body bytes held in memory at once, over all requests (MAX_BODY_BYTES_TOTAL, default
   * twice MAX_BODY_BYTES, at least MAX_BODY_BYTES).
   */
  maxBodyBytesTotal: number;
  /** How long in-flight requests may take to finish after SIGTERM/SIGINT, in ms (SHUTDOWN_GRACE, default 10 s). */
  shutdownGraceMs: number;
  /** Event-loop lag above which new FHIR requests are shed with 503, in ms (LOAD_SHED_LAG, default 200; 0 turns it off). */
  loadShedLagMs: number;
  /** Worker threads for operations too heavy for the event loop (WORKER_THREADS, default 1; 0: none). */
  workerThreads: number;
  /** How long an operation may run on the event loop before it moves to a worker, in ms (OPERATION_INLINE_TIME, default 20 ms). */
  operationInlineMs: number;
  /** How long one operation may take in all, in ms (OPERATION_TIME_LIMIT, default 20 s); then 422 too-costly. */
  operationTimeLimitMs: number;
  /** Units of work one operation may spend (concepts visited, codes emitted...; OPERATION_WORK_LIMIT, default 20000000). */
  operationWorkLimit: number;
  /** Heavy operations that may wait for a worker (OPERATION_QUEUE, default 32); beyond, 503 with Retry-After. */
  operationQueue: number;
  /**
   * Whether to shut down when the parent process goes away: true when npm started the process
   * (npm sets `npm_lifecycle_event`), since npm can exit on SIGTERM without passing it on (main.ts).
   */
  stopWhenOrphaned: boolean;
  /**
   * Root of the Helserefusjon open-data API for live mode (HELSEREFUSJON_BASE_URL, e.g.
   * https://opne-data-api.helserefusjon.no); undefined serves the embedded data only. For the
   * server log at most: never put it in a response.
   */
  helserefusjonBaseUrl?: string;
  /** How often live data are fetched again, in ms (HELSEREFUSJON_REFRESH, default 6 h, 1 min to 7 days). */
  helserefusjonRefreshMs: number;
  /** Time limit of one upstream request attempt, in ms (HELSEREFUSJON_TIMEOUT, default 60 s). */
  helserefusjonTimeoutMs: number;
  /** Where the last good live data are kept (HELSEREFUSJON_SNAPSHOT_DIR, default <repo>/.data/helserefusjon). */
  helserefusjonSnapshotDir: string;
}

/** The repository root (this file lives in <root>/src). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_TERMINOLOGY_DATA_DIR = resolve(PROJECT_ROOT, 'data', 'terminology');
export const DEFAULT_HELSEREFUSJON_DATA_DIR = resolve(PROJECT_ROOT, 'data', 'helserefusjon');
export const DEFAULT_HELSEREFUSJON_SNAPSHOT_DIR = resolve(PROJECT_ROOT, '.data', 'helserefusjon');
export const DEFAULT_MAX_BODY_BYTES = 50 * 1024 * 1024;
export const DEFAULT_RESPONSE_CACHE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_COMPRESSED_CACHE_BYTES = 32 * 1024 * 1024;
export const DEFAULT_RESPONSE_CACHE_MAX_ENTRY_BYTES = 1024 * 1024;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10 * 1000;
export const DEFAULT_LOAD_SHED_LAG_MS = 200;
export const DEFAULT_HELSEREFUSJON_REFRESH_MS = 6 * 60 * 60 * 1000;
export const DEFAULT_HELSEREFUSJON_TIMEOUT_MS = 60 * 1000;
const MINUTE_MS = 60 * 1000;
const DAY_MS = 24 * 60 * MINUTE_MS;

export { ConfigError };

/** Reads and checks the configuration; throws ConfigError naming the variable on a bad value. */
export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 8080, 0, 65535);
  const host = nonEmpty(env, 'HOST') ?? '0.0.0.0';
  const configuredBaseUrl = httpUrl(env, 'PUBLIC_BASE_URL');
  const publicBaseUrl = configuredBaseUrl ?? `http://localhost:${port}/fhir`;
  const trustProxy = flag(env, 'TRUST_PROXY', false);
  const canonicalBase = readCanonicalBase(env);
  const issueLocation = readIssueLocation(env);
  const logLevel = oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info');
  const maxBodyBytes = integer(env, 'MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1, Number.MAX_SAFE_INTEGER);
  const dataDir = nonEmpty(env, 'TERMINOLOGY_DATA_DIR');
  const terminologyDataDir = dataDir ? resolve(dataDir) : DEFAULT_TERMINOLOGY_DATA_DIR;
  const helserefusjonDir = nonEmpty(env, 'HELSEREFUSJON_DATA_DIR');
  const helserefusjonDataDir = helserefusjonDir ? resolve(helserefusjonDir) : DEFAULT_HELSEREFUSJON_DATA_DIR;
  const responseCacheEntries = integer(env, 'RESPONSE_CACHE_ENTRIES', 20_000, 0, 10_000_000);
  const responseCacheBytes = integer(
    env,
    'RESPONSE_CACHE_BYTES',
    DEFAULT_RESPONSE_CACHE_BYTES,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  const responseCacheMaxEntryBytes = integer(
    env,
    'RESPONSE_CACHE_MAX_ENTRY_BYTES',
    Math.min(DEFAULT_RESPONSE_CACHE_MAX_ENTRY_BYTES, responseCacheBytes),
    1,
    responseCacheBytes,
  );
  const compressedCacheBytes = integer(
    env,
    'COMPRESSED_CACHE_BYTES',
    DEFAULT_COMPRESSED_CACHE_BYTES,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  // a body of the largest size must always fit when it is the only one
  const maxBodyBytesTotal = integer(
    env,
    'MAX_BODY_BYTES_TOTAL',
    Math.min(2 * maxBodyBytes, Number.MAX_SAFE_INTEGER),
    maxBodyBytes,
    Number.MAX_SAFE_INTEGER,
  );
  const shutdownGraceMs = duration(env, 'SHUTDOWN_GRACE', DEFAULT_SHUTDOWN_GRACE_MS, 0, 10 * MINUTE_MS);
  const loadShedLagMs = duration(env, 'LOAD_SHED_LAG', DEFAULT_LOAD_SHED_LAG_MS, 0, MINUTE_MS);
  const workerThreads = integer(env, 'WORKER_THREADS', 1, 0, 64);
  const terminologyLargeFileBytes = integer(env, 'TERMINOLOGY_LARGE_FILE', 4 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER);
  const operationInlineMs = duration(env, 'OPERATION_INLINE_TIME', 20, 1, MINUTE_MS);
  const operationTimeLimitMs = duration(env, 'OPERATION_TIME_LIMIT', 20_000, 100, 10 * MINUTE_MS);
  const operationWorkLimit = integer(env, 'OPERATION_WORK_LIMIT', 20_000_000, 1000, Number.MAX_SAFE_INTEGER);
  const operationQueue = integer(env, 'OPERATION_QUEUE', 32, 0, 100_000);
  const helserefusjonBaseUrl = httpUrl(env, 'HELSEREFUSJON_BASE_URL');
  // a refresh every minute is already more than the data (changed a few times a year) needs
  const helserefusjonRefreshMs = duration(
    env,
    'HELSEREFUSJON_REFRESH',
    DEFAULT_HELSEREFUSJON_REFRESH_MS,
    MINUTE_MS,
    7 * DAY_MS,
  );
  const helserefusjonTimeoutMs = duration(
    env,
    'HELSEREFUSJON_TIMEOUT',
    DEFAULT_HELSEREFUSJON_TIMEOUT_MS,
    1000,
    10 * MINUTE_MS,
  );
  const snapshotDir = nonEmpty(env, 'HELSEREFUSJON_SNAPSHOT_DIR');
  const helserefusjonSnapshotDir = snapshotDir ? resolve(snapshotDir) : DEFAULT_HELSEREFUSJON_SNAPSHOT_DIR;
  return {
    port,
    host,
    publicBaseUrl,
    publicBaseUrlSet: configuredBaseUrl !== undefined,
    trustProxy,
    canonicalBase,
    issueLocation,
    logLevel,
    maxBodyBytes,
    terminologyDataDir,
    helserefusjonDataDir,
    responseCacheEntries,
    responseCacheBytes,
    responseCacheMaxEntryBytes,
    compressedCacheBytes,
    maxBodyBytesTotal,
    shutdownGraceMs,
    loadShedLagMs,
    workerThreads,
    terminologyLargeFileBytes,
    operationInlineMs,
    operationTimeLimitMs,
    operationWorkLimit,
    operationQueue,
    stopWhenOrphaned: nonEmpty(env, 'npm_lifecycle_event') !== undefined,
    helserefusjonBaseUrl,
    helserefusjonRefreshMs,
    helserefusjonTimeoutMs,
    helserefusjonSnapshotDir,
    hpr: parseHprConfig(env),
    directory: parseDirectoryConfig(env),
    shared: parseSharedConfig(env),
  };
}

/**
 * ISSUE_LOCATION, checked. Like CANONICAL_BASE it takes effect from the process's environment
 * (http/outcome.ts, read once for every thread), so a value given only to loadConfig is refused.
 */
function readIssueLocation(env: Env): boolean {
  const wanted = flag(env, 'ISSUE_LOCATION', false);
  if (wanted !== ISSUE_LOCATION) {
    throw new ConfigError(
      `ISSUE_LOCATION must be set in the environment the service starts with (it is in effect: ${ISSUE_LOCATION})`,
    );
  }
  return wanted;
}

/**
 * CANONICAL_BASE, checked. The canonicals are made when the mappings are loaded, from the process's
 * environment (mappings/systems.ts), so a value given only to loadConfig could not take effect:
 * that is refused as well, rather than silently ignored.
 */
function readCanonicalBase(env: Env): string {
  const raw = env.CANONICAL_BASE;
  const problem = canonicalBaseProblem(raw);
  if (problem) throw new ConfigError(problem);
  if (raw === undefined || raw.trim() === '') return FACADE_CANONICAL_BASE;
  const wanted = canonicalBaseOf(raw);
  if (wanted !== FACADE_CANONICAL_BASE) {
    throw new ConfigError(
      `CANONICAL_BASE must be set in the environment the service starts with (it is in effect: ${FACADE_CANONICAL_BASE})`,
    );
  }
  return wanted;
}
