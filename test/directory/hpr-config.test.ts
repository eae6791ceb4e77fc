import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { type HprConfig, parseHprConfig } from '../../src/directory/hpr-config.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/hpr');
const CERT_KEY = readFileSync(join(FIXTURES, 'test-virksomhet-key.pem'), 'utf8');
const CERT = readFileSync(join(FIXTURES, 'test-virksomhet-cert.pem'), 'utf8');
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const PKCS1 = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;

const CREDENTIALS = { MASKINPORTEN_CLIENT_ID: 'client-1', MASKINPORTEN_KID: 'kid-1', MASKINPORTEN_PRIVATE_KEY: PEM };

function configured(config: HprConfig) {
  if (config.status !== 'configured') throw new Error(`not configured: ${config.missing.join(', ')}`);
  return config;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseHprConfig', () => {
  test('defaults, without credentials: unconfigured, naming the missing settings', () => {
    expect(parseHprConfig({})).toEqual({
      status: 'unconfigured',
      missing: [
        'MASKINPORTEN_CLIENT_ID',
        'MASKINPORTEN_KID (or MASKINPORTEN_CERT_CHAIN_FILE)',
        'MASKINPORTEN_PRIVATE_KEY (or MASKINPORTEN_PRIVATE_KEY_FILE)',
      ],
      partial: false,
      hpr: {
        baseUrl: 'https://api.offentlig.hpr.nhn.no',
        scope: 'nhn:hpr/basic',
        extended: false,
        cacheTtlMs: 86_400_000,
        notFoundTtlMs: 600_000,
        maxStaleMs: 7 * 86_400_000,
        cacheMaxEntries: 50_000,
        rateLimit: { capacity: 200, refillAmount: 10, refillIntervalMs: 60_000 },
        timeoutMs: 10_000,
        synthetic: false,
      },
    });
  });

  test('partly configured: names what is missing, never the values given', () => {
    const config = parseHprConfig({ MASKINPORTEN_CLIENT_ID: 'secret-looking-client' });
    expect(config.status).toBe('unconfigured');
    if (config.status !== 'unconfigured') return;
    expect(config.partial).toBe(true);
    expect(config.missing).toEqual([
      'MASKINPORTEN_KID (or MASKINPORTEN_CERT_CHAIN_FILE)',
      'MASKINPORTEN_PRIVATE_KEY (or MASKINPORTEN_PRIVATE_KEY_FILE)',
    ]);
    expect(JSON.stringify(config)).not.toContain('secret-looking-client');
  });

  test('configured with a kid and a PEM key', () => {
    const c = configured(parseHprConfig(CREDENTIALS));
    expect(c.maskinporten).toMatchObject({
      issuer: 'https://maskinporten.no/',
      tokenEndpoint: 'https://maskinporten.no/token',
      clientId: 'client-1',
      kid: 'kid-1',
      scope: 'nhn:hpr/basic',
    });
    expect(c.maskinporten.privateKey.asymmetricKeyType).toBe('rsa');
    expect(c.maskinporten.certChain).toBeUndefined();
  });

  test('a PKCS#1 key, and a key with \\n written out (as in env files)', () => {
    expect(configured(parseHprConfig({ ...CREDENTIALS, MASKINPORTEN_PRIVATE_KEY: PKCS1 })).status).toBe('configured');
    const oneLine = PEM.trim().replace(/\n/g, '\\n');
    expect(configured(parseHprConfig({ ...CREDENTIALS, MASKINPORTEN_PRIVATE_KEY: oneLine })).status).toBe('configured');
  });

  test('the key from a file', () => {
    const read: string[] = [];
    const c = configured(
      parseHprConfig(
        { MASKINPORTEN_CLIENT_ID: 'c', MASKINPORTEN_KID: 'k', MASKINPORTEN_PRIVATE_KEY_FILE: '/run/secrets/mp.pem' },
        {
          readFile: (p) => {
            read.push(p);
            return PEM;
          },
        },
      ),
    );
    expect(read).toEqual(['/run/secrets/mp.pem']);
    expect(c.maskinporten.privateKey.asymmetricKeyType).toBe('rsa');
  });

  test('a certificate chain gives x5c (and makes the kid optional)', () => {
    const c = configured(
      parseHprConfig(
        {
          MASKINPORTEN_CLIENT_ID: 'c',
          MASKINPORTEN_PRIVATE_KEY: CERT_KEY,
          MASKINPORTEN_CERT_CHAIN_FILE: '/chain.pem',
        },
        { readFile: () => CERT },
      ),
    );
    expect(c.maskinporten.kid).toBeUndefined();
    expect(c.maskinporten.certChain).toHaveLength(1);
    expect(c.maskinporten.certChain?.[0]).toMatch(/^MII[A-Za-z0-9+/=]+$/);
  });

  test('test environment: the issuer gets its trailing slash; token endpoint, scope and HPR settings', () => {
    const c = configured(
      parseHprConfig({
        ...CREDENTIALS,
        MASKINPORTEN_ISSUER: 'https://test.maskinporten.no',
        HPR_SCOPE: 'nhn:hpr/basic  nhn:hpr/extended',
        HPR_BASE_URL: 'https://api.offentlig.test.hpr.nhn.no',
        HPR_CACHE_TTL: '12h',
        HPR_NOT_FOUND_TTL: '90',
        HPR_CACHE_MAX_STALE: '2d',
        HPR_RATE_LIMIT_CAPACITY: '100',
        HPR_RATE_LIMIT_PER_MINUTE: '5',
        HPR_TIMEOUT: '2500ms',
        HPR_SYNTHETIC_DATA: 'true',
      }),
    );
    expect(c.maskinporten.issuer).toBe('https://test.maskinporten.no/');
    expect(c.maskinporten.tokenEndpoint).toBe('https://test.maskinporten.no/token');
    expect(c.maskinporten.scope).toBe('nhn:hpr/basic nhn:hpr/extended');
    expect(c.hpr).toEqual({
      baseUrl: 'https://api.offentlig.test.hpr.nhn.no',
      scope: 'nhn:hpr/basic nhn:hpr/extended',
      extended: true,
      cacheTtlMs: 12 * 3_600_000,
      notFoundTtlMs: 90_000,
      maxStaleMs: 2 * 86_400_000,
      cacheMaxEntries: 50_000,
      rateLimit: { capacity: 100, refillAmount: 5, refillIntervalMs: 60_000 },
      timeoutMs: 2_500,
      synthetic: true,
    });
  });

  test('MASKINPORTEN_TOKEN_ENDPOINT overrides <issuer>token', () => {
    const c = configured(
      parseHprConfig({ ...CREDENTIALS, MASKINPORTEN_TOKEN_ENDPOINT: 'https://proxy.example/mp/token' }),
    );
    expect(c.maskinporten.tokenEndpoint).toBe('https://proxy.example/mp/token');
    expect(c.maskinporten.issuer).toBe('https://maskinporten.no/');
  });

  test.each<[string, Record<string, string>, string]>([
    [
      'both key settings',
      { ...CREDENTIALS, MASKINPORTEN_PRIVATE_KEY_FILE: '/x' },
      'Set MASKINPORTEN_PRIVATE_KEY or MASKINPORTEN_PRIVATE_KEY_FILE, not both',
    ],
    [
      'a key that is not PEM',
      { ...CREDENTIALS, MASKINPORTEN_PRIVATE_KEY: 'hunter2-not-a-key' },
      'MASKINPORTEN_PRIVATE_KEY is not a PEM private key',
    ],
    [
      'a duration without a number',
      { HPR_CACHE_TTL: 'a day' },
      "HPR_CACHE_TTL must be a duration between PT0S and P365D, as seconds, 30s / 10m / 6h / 7d or ISO 8601 (PT6H), got 'a day'",
    ],
    [
      'a zero capacity',
      { HPR_RATE_LIMIT_CAPACITY: '0' },
      "HPR_RATE_LIMIT_CAPACITY must be a whole number between 1 and 1000000, got '0'",
    ],
    [
      'a base URL with a query',
      { HPR_BASE_URL: 'https://x.example/?a=1' },
      "HPR_BASE_URL must not have a query or fragment, got 'https://x.example/?a=1'",
    ],
    [
      'an issuer that is not a URL',
      { MASKINPORTEN_ISSUER: 'maskinporten' },
      "MASKINPORTEN_ISSUER must be an absolute http(s) URL, got 'maskinporten'",
    ],
    [
      'a flag that is not one',
      { HPR_SYNTHETIC_DATA: 'maybe' },
      "HPR_SYNTHETIC_DATA must be true or false, got 'maybe'",
    ],
  ])('%s is a ConfigError', (_name, env, message) => {
    expect(configError(() => parseHprConfig(env))).toBe(message);
  });

  test('the key is never echoed in an error', () => {
    const message = configError(() =>
      parseHprConfig({ ...CREDENTIALS, MASKINPORTEN_PRIVATE_KEY: `${PEM.slice(0, 200)}broken` }),
    );
    expect(message).not.toContain('MII');
  });

  test('an EC key is refused (Maskinporten signs RS256 here)', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    expect(configError(() => parseHprConfig({ ...CREDENTIALS, MASKINPORTEN_PRIVATE_KEY: ec as string }))).toBe(
      'MASKINPORTEN_PRIVATE_KEY must be an RSA key (Maskinporten signs with RS256)',
    );
  });

  test('a certificate of another key is refused', () => {
    expect(
      configError(() =>
        parseHprConfig({ ...CREDENTIALS, MASKINPORTEN_CERT_CHAIN_FILE: '/chain.pem' }, { readFile: () => CERT }),
      ),
    ).toBe('The first certificate of MASKINPORTEN_CERT_CHAIN_FILE does not belong to the private key');
  });

  test('an unreadable file names the variable and the error code only', () => {
    const fail = () => {
      throw Object.assign(new Error('ENOENT: /secret/path'), { code: 'ENOENT' });
    };
    expect(
      configError(() =>
        parseHprConfig(
          { MASKINPORTEN_CLIENT_ID: 'c', MASKINPORTEN_KID: 'k', MASKINPORTEN_PRIVATE_KEY_FILE: '/p' },
          { readFile: fail },
        ),
      ),
    ).toBe('MASKINPORTEN_PRIVATE_KEY_FILE: cannot read the file (ENOENT)');
  });
});
