import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config-error.ts';
import { parseDirectoryConfig } from '../../src/directory/directory-config.ts';

const LIVE = {
  FNSP_BASE_URL: 'https://fnsp.example/api/',
  FNSP_API_KEY: 'k3y',
  FNSP_API_KEY_HEADER: 'Ocp-Apim-Subscription-Key',
};

describe('parseDirectoryConfig', () => {
  test('defaults: FNSP unconfigured (naming all three settings), bandagists off without HELSEREFUSJON_BASE_URL', () => {
    expect(parseDirectoryConfig({})).toEqual({
      fnsp: {
        mode: 'unconfigured',
        missing: ['FNSP_BASE_URL', 'FNSP_API_KEY', 'FNSP_API_KEY_HEADER'],
        refreshIntervalMs: 6 * 3600_000,
        retryAfterFailureMs: 5 * 60_000,
        timeoutMs: 120_000,
      },
      bandagists: {
        enabled: false,
        baseUrl: 'https://opne-data-api.helserefusjon.no',
        refreshIntervalMs: 24 * 3600_000,
        retryAfterFailureMs: 5 * 60_000,
        timeoutMs: 30_000,
      },
    });
  });

  test.each([
    [{ HELSEREFUSJON_BASE_URL: 'http://127.0.0.1:9/' }, true],
    [{ HELSEREFUSJON_BASE_URL: 'http://127.0.0.1:9/', BANDAGISTS_ENABLED: 'false' }, false],
    [{ BANDAGISTS_ENABLED: 'true' }, true],
  ])('bandagists with %o: enabled %s', (env, enabled) => {
    expect(parseDirectoryConfig(env).bandagists.enabled).toBe(enabled);
  });

  test('live FNSP with every setting', () => {
    const c = parseDirectoryConfig({
      ...LIVE,
      FNSP_DATASET_PATH: '/v2/eksport',
      FNSP_REFRESH: 'PT12H',
      FNSP_RETRY_AFTER_FAILURE: '30s',
      FNSP_TIMEOUT: '90',
    });
    expect(c.fnsp).toEqual({
      mode: 'live',
      live: {
        baseUrl: 'https://fnsp.example/api',
        apiKey: 'k3y',
        apiKeyHeader: 'Ocp-Apim-Subscription-Key',
        datasetPath: '/v2/eksport',
        sitesPath: '/nettsteder',
      },
      refreshIntervalMs: 12 * 3600_000,
      retryAfterFailureMs: 30_000,
      timeoutMs: 90_000,
    });
  });

  test('a partial configuration names what is missing', () => {
    expect(parseDirectoryConfig({ FNSP_BASE_URL: LIVE.FNSP_BASE_URL }).fnsp).toMatchObject({
      mode: 'unconfigured',
      missing: ['FNSP_API_KEY', 'FNSP_API_KEY_HEADER'],
    });
  });

  test('demo mode', () => {
    expect(parseDirectoryConfig({ FNSP_DEMO: 'true' }).fnsp.mode).toBe('demo');
  });

  test('bandagists off, another Helserefusjon root', () => {
    expect(
      parseDirectoryConfig({ BANDAGISTS_ENABLED: 'false', HELSEREFUSJON_BASE_URL: 'http://127.0.0.1:9/' }).bandagists,
    ).toMatchObject({ enabled: false, baseUrl: 'http://127.0.0.1:9' });
  });

  test.each<[string, Record<string, string>, string]>([
    ['demo with a base URL', { ...LIVE, FNSP_DEMO: 'true' }, 'Set FNSP_DEMO=true or FNSP_BASE_URL, not both'],
    [
      'a relative URL',
      { FNSP_BASE_URL: 'fnsp.example' },
      "FNSP_BASE_URL must be an absolute http(s) URL, got 'fnsp.example'",
    ],
    [
      'a URL with credentials',
      { FNSP_BASE_URL: 'https://u:p@fnsp.example' },
      'FNSP_BASE_URL must not carry credentials',
    ],
    [
      'a header name with a space',
      { ...LIVE, FNSP_API_KEY_HEADER: 'Api Key' },
      'FNSP_API_KEY_HEADER must be an HTTP header name (letters, digits, - and _)',
    ],
    [
      'a duration without a number',
      { FNSP_REFRESH: 'often' },
      "FNSP_REFRESH must be a duration between PT1M and P365D, as seconds, 30s / 10m / 6h / 7d or ISO 8601 (PT6H), got 'often'",
    ],
    [
      'a refresh interval under a minute',
      { BANDAGIST_REFRESH: 'PT5S' },
      "BANDAGIST_REFRESH must be a duration between PT1M and P365D, as seconds, 30s / 10m / 6h / 7d or ISO 8601 (PT6H), got 'PT5S'",
    ],
    ['a flag that is not a flag', { FNSP_DEMO: 'maybe' }, "FNSP_DEMO must be true or false, got 'maybe'"],
    [
      'a path without a slash',
      { ...LIVE, FNSP_DATASET_PATH: 'eksport' },
      "FNSP_DATASET_PATH must be a URL path starting with /, got 'eksport'",
    ],
  ])('%s is a ConfigError', (_name, env, message) => {
    expect(() => parseDirectoryConfig(env)).toThrow(new ConfigError(message));
  });

  test.each([
    ['3600', 3600_000],
    ['PT6H', 6 * 3600_000],
    ['P1DT30M', 24 * 3600_000 + 30 * 60_000],
    ['6h', 6 * 3600_000],
    ['90s', 90_000],
    ['1d', 24 * 3600_000],
  ])('the duration %s', (raw, ms) => {
    expect(parseDirectoryConfig({ BANDAGIST_REFRESH: raw }).bandagists.refreshIntervalMs).toBe(ms);
  });

  test('no error message carries the API key', () => {
    try {
      parseDirectoryConfig({ ...LIVE, FNSP_API_KEY: 'super-secret', FNSP_API_KEY_HEADER: 'bad header' });
    } catch (err) {
      expect(String(err)).not.toContain('super-secret');
      return;
    }
    throw new Error('expected a ConfigError');
  });
});
