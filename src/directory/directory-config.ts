import { ConfigError } from '../config-error.ts';
import { duration, type Env, flag, HOUR, httpUrl, MINUTE, nonEmpty, SECOND } from '../config-readers.ts';
import { FNSP_DEFAULT_DATASET_PATH, FNSP_DEFAULT_SITES_PATH } from '../upstream/fnsp-dto.ts';
import { HELSEREFUSJON_BASE_URL } from '../upstream/helserefusjon.ts';

/**
 * Settings of the FNSP and bandagist directory (HealthcareService, Organization, Location), read from
 * an env-like record. Pure: src/config.ts calls it with process.env, tests with a literal record. An
 * unusable value throws ConfigError naming the variable, never echoing a secret. Missing FNSP
 * credentials are not an error: FNSP is then `unconfigured`, and its endpoints answer 503 naming the
 * missing settings.
 *
 * | Variable | Default | Meaning |
 * |---|---|---|
 * | FNSP_BASE_URL | none (required for live data) | root of the FNSP open-data API (from dev.fnsp.no after registering) |
 * | FNSP_API_KEY | none (required for live data) | the API key; sent in the header FNSP_API_KEY_HEADER names |
 * | FNSP_API_KEY_HEADER | none (required for live data) | header name for the key, e.g. `Ocp-Apim-Subscription-Key` (an assumption, see docs/fnsp.md) |
 * | FNSP_DATASET_PATH | `/nedlastning` | path of the full-dataset download (assumed; see src/upstream/fnsp-dto.ts) |
 * | FNSP_SITES_PATH | `/nettsteder` | path of the sites list |
 * | FNSP_DEMO | `false` | `true` serves the synthetic FNSP dataset, tagged synthetic; not allowed together with FNSP_BASE_URL |
 * | FNSP_REFRESH | `6h` | how old the dataset may get before it is downloaded again |
 * | FNSP_RETRY_AFTER_FAILURE | `5m` | cool-down after a failed download before the next attempt |
 * | FNSP_TIMEOUT | `120s` | time limit of one download attempt |
 * | HELSEREFUSJON_BASE_URL | `https://opne-data-api.helserefusjon.no` | root of the Helserefusjon open-data API (bandagists) |
 * | BANDAGISTS_ENABLED | `true` | `false` leaves bandagists out of the Organization endpoint |
 * | BANDAGIST_REFRESH | `24h` | how old the bandagist list may get before it is fetched again |
 * | BANDAGIST_RETRY_AFTER_FAILURE | `5m` | cool-down after a failed fetch |
 * | BANDAGIST_TIMEOUT | `30s` | time limit of one fetch attempt |
 *
 * Durations are seconds (`3600`), ISO 8601 (`PT6H`, `P1D`, as HELSEREFUSJON_REFRESH in src/config.ts)
 * or a number with a unit `ms`, `s`, `m`, `h`, `d` (`6h`, as the HPR settings).
 */

export type { Env };

export interface RefreshSettings {
  /** freshness window: older data is refreshed (in the background; the old data is still served) */
  refreshIntervalMs: number;
  /** after a failed load, no new attempt before this much time has passed */
  retryAfterFailureMs: number;
  /** time limit of one attempt */
  timeoutMs: number;
}

export interface FnspLiveSettings {
  baseUrl: string;
  apiKey: string;
  apiKeyHeader: string;
  datasetPath: string;
  sitesPath: string;
}

export type FnspConfig =
  | ({ mode: 'live'; live: FnspLiveSettings } & RefreshSettings)
  | ({ mode: 'demo' } & RefreshSettings)
  | ({
      mode: 'unconfigured';
      /** names of the settings to add, never values */
      missing: string[];
    } & RefreshSettings);

export interface BandagistConfig extends RefreshSettings {
  enabled: boolean;
  baseUrl: string;
}

export interface DirectoryConfig {
  fnsp: FnspConfig;
  bandagists: BandagistConfig;
}

/** The settings FNSP needs for live data, in the order the 503 message names them. */
export const FNSP_REQUIRED_VARIABLES = ['FNSP_BASE_URL', 'FNSP_API_KEY', 'FNSP_API_KEY_HEADER'] as const;

export function parseDirectoryConfig(env: Env): DirectoryConfig {
  const fnspRefresh: RefreshSettings = {
    refreshIntervalMs: duration(env, 'FNSP_REFRESH', 6 * HOUR, MINUTE),
    retryAfterFailureMs: duration(env, 'FNSP_RETRY_AFTER_FAILURE', 5 * MINUTE, 0),
    timeoutMs: duration(env, 'FNSP_TIMEOUT', 120 * SECOND, SECOND),
  };
  const baseUrl = httpUrl(env, 'FNSP_BASE_URL');
  const apiKey = nonEmpty(env, 'FNSP_API_KEY');
  const apiKeyHeader = nonEmpty(env, 'FNSP_API_KEY_HEADER');
  // RFC 9110 §5.1: a field name is a token
  if (apiKeyHeader !== undefined && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(apiKeyHeader)) {
    throw new ConfigError('FNSP_API_KEY_HEADER must be an HTTP header name (letters, digits, - and _)');
  }
  const demo = flag(env, 'FNSP_DEMO', false);

  let fnsp: FnspConfig;
  if (demo) {
    if (baseUrl !== undefined) throw new ConfigError('Set FNSP_DEMO=true or FNSP_BASE_URL, not both');
    fnsp = { mode: 'demo', ...fnspRefresh };
  } else {
    const given = { FNSP_BASE_URL: baseUrl, FNSP_API_KEY: apiKey, FNSP_API_KEY_HEADER: apiKeyHeader };
    const missing = FNSP_REQUIRED_VARIABLES.filter((name) => given[name] === undefined);
    if (missing.length > 0 || baseUrl === undefined || apiKey === undefined || apiKeyHeader === undefined) {
      fnsp = { mode: 'unconfigured', missing, ...fnspRefresh };
    } else {
      fnsp = {
        mode: 'live',
        live: {
          baseUrl: baseUrl.replace(/\/+$/, ''),
          apiKey,
          apiKeyHeader,
          datasetPath: path(env, 'FNSP_DATASET_PATH') ?? FNSP_DEFAULT_DATASET_PATH,
          sitesPath: path(env, 'FNSP_SITES_PATH') ?? FNSP_DEFAULT_SITES_PATH,
        },
        ...fnspRefresh,
      };
    }
  }

  // Like the terminology's live mode, bandagists are fetched only when the Helserefusjon API is
  // configured: a service started without upstream settings makes no outside call.
  const helserefusjon = httpUrl(env, 'HELSEREFUSJON_BASE_URL');
  const bandagists: BandagistConfig = {
    enabled: flag(env, 'BANDAGISTS_ENABLED', helserefusjon !== undefined),
    baseUrl: (helserefusjon ?? HELSEREFUSJON_BASE_URL).replace(/\/+$/, ''),
    refreshIntervalMs: duration(env, 'BANDAGIST_REFRESH', 24 * HOUR, MINUTE),
    retryAfterFailureMs: duration(env, 'BANDAGIST_RETRY_AFTER_FAILURE', 5 * MINUTE, 0),
    timeoutMs: duration(env, 'BANDAGIST_TIMEOUT', 30 * SECOND, SECOND),
  };
  return { fnsp, bandagists };
}

function path(env: Env, name: string): string | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  if (!/^\/[A-Za-z0-9\-._~/%]*$/.test(raw)) {
    throw new ConfigError(`${name} must be a URL path starting with /, got '${raw}'`);
  }
  return raw;
}
