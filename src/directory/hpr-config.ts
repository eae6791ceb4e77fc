import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config-error.ts';
import { DAY, duration, type Env, flag, HOUR, httpUrl, integer, MINUTE, nonEmpty, SECOND } from '../config-readers.ts';
import { HPR_EXTENDED_SCOPE, HPR_PROD_BASE_URL } from '../upstream/hpr.ts';
import { MASKINPORTEN_PROD_ISSUER, type MaskinportenSettings } from '../upstream/maskinporten.ts';

/**
 * Settings of the HPR Practitioner directory, read from an env-like record. A pure function of its
 * input (plus the files it names), so that src/config.ts can call it and tests can pass a record.
 * An unusable value throws ConfigError naming the variable, never its value. Missing credentials are
 * not an error: the directory is then `unconfigured` and answers 503 naming what is missing.
 *
 * | Variable | Default |
 * |---|---|
 * | MASKINPORTEN_ISSUER | `https://maskinporten.no/` (a trailing `/` is added: it is part of `aud`) |
 * | MASKINPORTEN_TOKEN_ENDPOINT | `<issuer>token` |
 * | MASKINPORTEN_CLIENT_ID | required |
 * | MASKINPORTEN_KID | required unless MASKINPORTEN_CERT_CHAIN_FILE is set |
 * | MASKINPORTEN_PRIVATE_KEY / MASKINPORTEN_PRIVATE_KEY_FILE | one of them required (PEM, PKCS#8 or PKCS#1 RSA) |
 * | MASKINPORTEN_CERT_CHAIN_FILE | none (PEM certificates, leaf first; then `x5c` replaces `kid`) |
 * | HPR_SCOPE | `nhn:hpr/basic` (with `nhn:hpr/extended` the `personerutvidet` endpoints are used) |
 * | HPR_BASE_URL | `https://api.offentlig.hpr.nhn.no` |
 * | HPR_CACHE_TTL | `24h` (how long a person is served without asking HPR again) |
 * | HPR_NOT_FOUND_TTL | `10m` (how long an unknown HPR number is remembered) |
 * | HPR_CACHE_MAX_STALE | `7d` (how long after its TTL a person may still be served when HPR cannot be asked) |
 * | HPR_CACHE_MAX_ENTRIES | `50000` |
 * | HPR_RATE_LIMIT_CAPACITY | `200` (HPR's bucket size) |
 * | HPR_RATE_LIMIT_PER_MINUTE | `10` (HPR's refill per minute) |
 * | HPR_TIMEOUT | `10s` (time limit of one HPR call) |
 * | HPR_SYNTHETIC_DATA | `false` (`true` tags every Practitioner as test data: demo, HPR's test environment) |
 *
 * Durations are whole numbers with a unit `ms`, `s`, `m`, `h` or `d`; a bare number is seconds.
 */

export type { Env };

export interface HprSettings {
  baseUrl: string;
  /** the scopes asked of Maskinporten */
  scope: string;
  /** the extended scope is configured: use `/v1/personerutvidet` */
  extended: boolean;
  cacheTtlMs: number;
  notFoundTtlMs: number;
  maxStaleMs: number;
  cacheMaxEntries: number;
  rateLimit: { capacity: number; refillAmount: number; refillIntervalMs: number };
  timeoutMs: number;
  synthetic: boolean;
}

export type HprConfig =
  | { status: 'configured'; hpr: HprSettings; maskinporten: MaskinportenSettings }
  | {
      status: 'unconfigured';
      hpr: HprSettings;
      /** the settings to add (names only), e.g. `MASKINPORTEN_CLIENT_ID` */
      missing: string[];
      /** some Maskinporten settings are given, but not all: worth a warning at start-up */
      partial: boolean;
    };

export const HPR_CREDENTIAL_VARIABLES = [
  'MASKINPORTEN_CLIENT_ID',
  'MASKINPORTEN_KID',
  'MASKINPORTEN_PRIVATE_KEY',
  'MASKINPORTEN_PRIVATE_KEY_FILE',
  'MASKINPORTEN_CERT_CHAIN_FILE',
] as const;

export interface ParseHprConfigOptions {
  /** reads a file named by a *_FILE variable (default: fs.readFileSync as UTF-8) */
  readFile?: (path: string) => string;
}

export function parseHprConfig(env: Env, options: ParseHprConfigOptions = {}): HprConfig {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const scope = (nonEmpty(env, 'HPR_SCOPE') ?? 'nhn:hpr/basic').split(/\s+/).join(' ');
  const hpr: HprSettings = {
    baseUrl: httpUrl(env, 'HPR_BASE_URL') ?? HPR_PROD_BASE_URL,
    scope,
    extended: scope.split(' ').includes(HPR_EXTENDED_SCOPE),
    cacheTtlMs: duration(env, 'HPR_CACHE_TTL', 24 * HOUR),
    notFoundTtlMs: duration(env, 'HPR_NOT_FOUND_TTL', 10 * MINUTE),
    maxStaleMs: duration(env, 'HPR_CACHE_MAX_STALE', 7 * DAY),
    cacheMaxEntries: integer(env, 'HPR_CACHE_MAX_ENTRIES', 50_000, 1, 10_000_000),
    rateLimit: {
      capacity: integer(env, 'HPR_RATE_LIMIT_CAPACITY', 200, 1, 1_000_000),
      refillAmount: integer(env, 'HPR_RATE_LIMIT_PER_MINUTE', 10, 1, 1_000_000),
      refillIntervalMs: MINUTE,
    },
    timeoutMs: duration(env, 'HPR_TIMEOUT', 10 * SECOND),
    synthetic: flag(env, 'HPR_SYNTHETIC_DATA', false),
  };

  let issuer = httpUrl(env, 'MASKINPORTEN_ISSUER') ?? MASKINPORTEN_PROD_ISSUER;
  if (!issuer.endsWith('/')) issuer += '/';
  const tokenEndpoint = httpUrl(env, 'MASKINPORTEN_TOKEN_ENDPOINT') ?? `${issuer}token`;
  const clientId = nonEmpty(env, 'MASKINPORTEN_CLIENT_ID');
  const kid = nonEmpty(env, 'MASKINPORTEN_KID');
  const keyPem = nonEmpty(env, 'MASKINPORTEN_PRIVATE_KEY');
  const keyFile = nonEmpty(env, 'MASKINPORTEN_PRIVATE_KEY_FILE');
  const chainFile = nonEmpty(env, 'MASKINPORTEN_CERT_CHAIN_FILE');
  if (keyPem !== undefined && keyFile !== undefined) {
    throw new ConfigError('Set MASKINPORTEN_PRIVATE_KEY or MASKINPORTEN_PRIVATE_KEY_FILE, not both');
  }

  const missing: string[] = [];
  if (clientId === undefined) missing.push('MASKINPORTEN_CLIENT_ID');
  if (kid === undefined && chainFile === undefined) missing.push('MASKINPORTEN_KID (or MASKINPORTEN_CERT_CHAIN_FILE)');
  if (keyPem === undefined && keyFile === undefined) {
    missing.push('MASKINPORTEN_PRIVATE_KEY (or MASKINPORTEN_PRIVATE_KEY_FILE)');
  }
  const given = [clientId, kid, keyPem, keyFile, chainFile].filter((v) => v !== undefined).length;
  if (missing.length > 0 || clientId === undefined) {
    return { status: 'unconfigured', hpr, missing, partial: given > 0 };
  }

  const privateKey =
    keyPem !== undefined
      ? rsaKey(keyPem, 'MASKINPORTEN_PRIVATE_KEY')
      : rsaKey(read(readFile, keyFile as string, 'MASKINPORTEN_PRIVATE_KEY_FILE'), 'MASKINPORTEN_PRIVATE_KEY_FILE');
  const certChain =
    chainFile !== undefined
      ? certificates(read(readFile, chainFile, 'MASKINPORTEN_CERT_CHAIN_FILE'), privateKey)
      : undefined;
  return {
    status: 'configured',
    hpr,
    maskinporten: {
      issuer,
      tokenEndpoint,
      clientId,
      ...(kid !== undefined ? { kid } : {}),
      privateKey,
      ...(certChain ? { certChain } : {}),
      scope,
    },
  };
}

function read(readFile: (path: string) => string, path: string, name: string): string {
  try {
    return readFile(path);
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    throw new ConfigError(`${name}: cannot read the file${typeof code === 'string' ? ` (${code})` : ''}`);
  }
}

/** An RSA private key from PEM; `\n` written as two characters (as env files often do) is accepted. */
function rsaKey(pem: string, name: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem.includes('\\n') && !pem.includes('\n') ? pem.replace(/\\n/g, '\n') : pem);
  } catch {
    // never echo the value: it is a secret
    throw new ConfigError(`${name} is not a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new ConfigError(`${name} must be an RSA key (Maskinporten signs with RS256)`);
  return key;
}

/** The PEM certificates of a chain as `x5c` values (base64 DER), checked to belong to the key. */
function certificates(pem: string, key: KeyObject): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError('MASKINPORTEN_CERT_CHAIN_FILE holds no PEM certificate');
  const certs = blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch {
      throw new ConfigError('MASKINPORTEN_CERT_CHAIN_FILE holds a certificate that cannot be read');
    }
  });
  if (!certs[0].checkPrivateKey(key)) {
    throw new ConfigError('The first certificate of MASKINPORTEN_CERT_CHAIN_FILE does not belong to the private key');
  }
  return certs.map((c) => c.raw.toString('base64'));
}
