import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './config-error.ts';
import { type DirectoryConfig, parseDirectoryConfig } from './directory/directory-config.ts';
import { type HprConfig, parseHprConfig } from './directory/hpr-config.ts';

/**
 * Runtime configuration. This is the only module that reads `process.env` (STYLE.md, "Config is
 * injected, never a global"): everything else receives a `Config`. Every variable is documented in
 * the README configuration table; keep the two in step.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** HPR (Practitioner) and Maskinporten settings: src/directory/hpr-config.ts, README "Practitioner". */
  hpr: HprConfig;
  /** FNSP (HealthcareService, Organization, Location) and bandagist settings: src/directory/directory-config.ts. */
  directory: DirectoryConfig;
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
  /** LOG_LEVEL: debug | info | warn | error | silent (default info). */
  logLevel: LogLevel;
  /** Largest accepted request body in bytes (MAX_BODY_BYTES, default 50 MiB). */
  maxBodyBytes: number;
  /** Folder with the terminology JSON files served (TERMINOLOGY_DATA_DIR, default <repo>/data/terminology). */
  terminologyDataDir: string;
  /** Folder of the embedded Helserefusjon data (HELSEREFUSJON_DATA_DIR, default <repo>/data/helserefusjon). */
  helserefusjonDataDir: string;
  /** Answers of GET operations kept for reuse (RESPONSE_CACHE_ENTRIES, default 20000; 0 turns the cache off). */
  responseCacheEntries: number;
  /** Upper bound of the response cache in bytes (RESPONSE_CACHE_BYTES, default 256 MiB). */
  responseCacheBytes: number;
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
export const DEFAULT_HELSEREFUSJON_REFRESH_MS = 6 * 60 * 60 * 1000;
export const DEFAULT_HELSEREFUSJON_TIMEOUT_MS = 60 * 1000;
const MINUTE_MS = 60 * 1000;
const DAY_MS = 24 * 60 * MINUTE_MS;

export { ConfigError };

type Env = Record<string, string | undefined>;

/** Reads and checks the configuration; throws ConfigError naming the variable on a bad value. */
export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 8080, 0, 65535);
  const host = nonEmpty(env, 'HOST') ?? '0.0.0.0';
  const publicBaseUrl = baseUrl(env, 'PUBLIC_BASE_URL') ?? `http://localhost:${port}/fhir`;
  const logLevel = oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info');
  const maxBodyBytes = integer(env, 'MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1, Number.MAX_SAFE_INTEGER);
  const dataDir = nonEmpty(env, 'TERMINOLOGY_DATA_DIR');
  const terminologyDataDir = dataDir ? resolve(dataDir) : DEFAULT_TERMINOLOGY_DATA_DIR;
  const helserefusjonDir = nonEmpty(env, 'HELSEREFUSJON_DATA_DIR');
  const helserefusjonDataDir = helserefusjonDir ? resolve(helserefusjonDir) : DEFAULT_HELSEREFUSJON_DATA_DIR;
  const responseCacheEntries = integer(env, 'RESPONSE_CACHE_ENTRIES', 20_000, 0, 10_000_000);
  const responseCacheBytes = integer(env, 'RESPONSE_CACHE_BYTES', 256 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER);
  const helserefusjonBaseUrl = baseUrl(env, 'HELSEREFUSJON_BASE_URL');
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
    logLevel,
    maxBodyBytes,
    terminologyDataDir,
    helserefusjonDataDir,
    responseCacheEntries,
    responseCacheBytes,
    helserefusjonBaseUrl,
    helserefusjonRefreshMs,
    helserefusjonTimeoutMs,
    helserefusjonSnapshotDir,
    hpr: parseHprConfig(env),
    directory: parseDirectoryConfig(env),
  };
}

function nonEmpty(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw))
    throw new ConfigError(`${name} must be a whole number between ${min} and ${max}, got '${raw}'`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number between ${min} and ${max}, got '${raw}'`);
  }
  return n;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = nonEmpty(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  const hit = allowed.find((a) => a === raw);
  if (!hit) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
  return hit;
}

const ISO_DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * A duration as whole seconds (`3600`) or an ISO 8601 duration of days, hours, minutes and seconds
 * (`PT6H`, `P1DT12H`, `PT90S`); years, months and weeks are refused (their length varies or is
 * rarely meant). Returns milliseconds.
 */
export function parseDuration(raw: string): number | undefined {
  const v = raw.trim().toUpperCase();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const m = ISO_DURATION.exec(v);
  if (!m || v === 'P' || v.endsWith('T')) return undefined;
  const [, d, h, mi, s] = m;
  const ms = (Number(d ?? 0) * 86_400 + Number(h ?? 0) * 3_600 + Number(mi ?? 0) * 60 + Number(s ?? 0)) * 1000;
  return Number.isSafeInteger(Math.round(ms)) ? Math.round(ms) : undefined;
}

/** `ms` as an ISO 8601 duration (`PT6H`, `P1DT30M`), for status output. */
export function formatDuration(ms: number): string {
  let s = Math.round(ms / 1000);
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3_600);
  s -= h * 3_600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const time = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s ? `${s}S` : ''}`;
  if (d === 0 && time === '') return 'PT0S';
  return `P${d ? `${d}D` : ''}${time ? `T${time}` : ''}`;
}

function duration(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < min || ms > max) {
    throw new ConfigError(
      `${name} must be a duration between ${formatDuration(min)} and ${formatDuration(max)}, as seconds or ISO 8601 (e.g. PT6H), got '${raw}'`,
    );
  }
  return ms;
}

function baseUrl(env: Env, name: string): string | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got '${raw}'`);
  }
  if (url.search || url.hash) throw new ConfigError(`${name} must not have a query or fragment, got '${raw}'`);
  return raw.replace(/\/+$/, '');
}
