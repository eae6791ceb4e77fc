import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, CodeSystem, OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { afterAll, describe, expect, test } from 'vitest';
import {
  ConfigError,
  DEFAULT_HELSEREFUSJON_DATA_DIR,
  DEFAULT_HELSEREFUSJON_SNAPSHOT_DIR,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_RESPONSE_CACHE_BYTES,
  DEFAULT_TERMINOLOGY_DATA_DIR,
  loadConfig,
} from '../../src/config.ts';
import { formatDuration, parseDuration } from '../../src/config-readers.ts';
import { parseDirectoryConfig } from '../../src/directory/directory-config.ts';
import { parseHprConfig } from '../../src/directory/hpr-config.ts';
import { parseSharedConfig } from '../../src/shared/shared-config.ts';
import { loadTerminology, TerminologyLoadError, terminologyCounts } from '../../src/terminology/loader.ts';
import { fetchFhir } from '../support/fhir.ts';

const tmpDirs: string[] = [];
function dataDir(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tx-data-'));
  tmpDirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

const cs = (url: string, version = '1') => ({
  resourceType: 'CodeSystem',
  url,
  version,
  status: 'active',
  content: 'complete',
  concept: [{ code: 'a' }],
});

describe('loadConfig', () => {
  test('defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '0.0.0.0',
      publicBaseUrl: 'http://localhost:8080/fhir',
      publicBaseUrlSet: false,
      trustProxy: false,
      canonicalBase: 'https://no-fhir-facade.example/fhir',
      issueLocation: false,
      logLevel: 'info',
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      terminologyDataDir: DEFAULT_TERMINOLOGY_DATA_DIR,
      helserefusjonDataDir: DEFAULT_HELSEREFUSJON_DATA_DIR,
      responseCacheEntries: 20_000,
      responseCacheBytes: DEFAULT_RESPONSE_CACHE_BYTES,
      responseCacheMaxEntryBytes: 1024 * 1024,
      compressedCacheBytes: 32 * 1024 * 1024,
      maxBodyBytesTotal: 2 * DEFAULT_MAX_BODY_BYTES,
      shutdownGraceMs: 10_000,
      loadShedLagMs: 200,
      workerThreads: 1,
      terminologyLargeFileBytes: 4 * 1024 * 1024,
      operationInlineMs: 20,
      operationTimeLimitMs: 20_000,
      operationWorkLimit: 20_000_000,
      operationQueue: 32,
      stopWhenOrphaned: false,
      helserefusjonBaseUrl: undefined,
      helserefusjonRefreshMs: 6 * 3_600_000,
      helserefusjonTimeoutMs: 60_000,
      helserefusjonSnapshotDir: DEFAULT_HELSEREFUSJON_SNAPSHOT_DIR,
      hpr: parseHprConfig({}),
      directory: parseDirectoryConfig({}),
      shared: parseSharedConfig({}),
    });
    expect(loadConfig({}).hpr.status).toBe('unconfigured');
    expect(DEFAULT_HELSEREFUSJON_SNAPSHOT_DIR).toMatch(/\.data[/\\]helserefusjon$/);
    expect(DEFAULT_MAX_BODY_BYTES).toBe(50 * 1024 * 1024);
    expect(DEFAULT_RESPONSE_CACHE_BYTES).toBe(64 * 1024 * 1024);
    expect(DEFAULT_TERMINOLOGY_DATA_DIR).toMatch(/data[/\\]terminology$/);
  });

  test('reads every variable', () => {
    expect(
      loadConfig({
        PORT: '9000',
        HOST: '127.0.0.1',
        PUBLIC_BASE_URL: 'https://tx.example.no/fhir/',
        TRUST_PROXY: 'true',
        LOG_LEVEL: 'WARN',
        MAX_BODY_BYTES: '1024',
        TERMINOLOGY_DATA_DIR: '/srv/tx',
        HELSEREFUSJON_DATA_DIR: '/srv/helfo',
        RESPONSE_CACHE_ENTRIES: '0',
        RESPONSE_CACHE_BYTES: '4096',
        RESPONSE_CACHE_MAX_ENTRY_BYTES: '2048',
        COMPRESSED_CACHE_BYTES: '0',
        MAX_BODY_BYTES_TOTAL: '3000',
        SHUTDOWN_GRACE: '30s',
        LOAD_SHED_LAG: '0',
        WORKER_THREADS: '2',
        TERMINOLOGY_LARGE_FILE: '1000',
        OPERATION_INLINE_TIME: '50ms',
        OPERATION_TIME_LIMIT: '5s',
        OPERATION_WORK_LIMIT: '1000000',
        OPERATION_QUEUE: '4',
        HELSEREFUSJON_BASE_URL: 'https://opne-data-api.helserefusjon.no/',
        HELSEREFUSJON_REFRESH: 'PT12H',
        HELSEREFUSJON_TIMEOUT: '30',
        HELSEREFUSJON_SNAPSHOT_DIR: '/var/lib/helfo',
        HPR_SCOPE: 'nhn:hpr/basic',
        HPR_CACHE_TTL: '2h',
        REDIS_URL: 'redis://cache.internal:6379/1',
        REDIS_KEY_PREFIX: 'tx-prod:',
        REDIS_TIMEOUT: '100ms',
        REPLICAS: '4',
      }),
    ).toEqual({
      port: 9000,
      host: '127.0.0.1',
      publicBaseUrl: 'https://tx.example.no/fhir',
      publicBaseUrlSet: true,
      trustProxy: true,
      canonicalBase: 'https://no-fhir-facade.example/fhir',
      issueLocation: false,
      logLevel: 'warn',
      maxBodyBytes: 1024,
      terminologyDataDir: '/srv/tx',
      helserefusjonDataDir: '/srv/helfo',
      responseCacheEntries: 0,
      responseCacheBytes: 4096,
      responseCacheMaxEntryBytes: 2048,
      compressedCacheBytes: 0,
      maxBodyBytesTotal: 3000,
      shutdownGraceMs: 30_000,
      loadShedLagMs: 0,
      workerThreads: 2,
      terminologyLargeFileBytes: 1000,
      operationInlineMs: 50,
      operationTimeLimitMs: 5000,
      operationWorkLimit: 1_000_000,
      operationQueue: 4,
      stopWhenOrphaned: false,
      helserefusjonBaseUrl: 'https://opne-data-api.helserefusjon.no',
      helserefusjonRefreshMs: 12 * 3_600_000,
      helserefusjonTimeoutMs: 30_000,
      helserefusjonSnapshotDir: '/var/lib/helfo',
      hpr: parseHprConfig({ HPR_SCOPE: 'nhn:hpr/basic', HPR_CACHE_TTL: '2h' }),
      directory: parseDirectoryConfig({ HELSEREFUSJON_BASE_URL: 'https://opne-data-api.helserefusjon.no/' }),
      shared: { redisUrl: 'redis://cache.internal:6379/1', keyPrefix: 'tx-prod:', commandTimeoutMs: 100, replicas: 4 },
    });
  });

  test.each<[string, number | undefined]>([
    ['3600', 3_600_000],
    ['PT6H', 6 * 3_600_000],
    ['pt30m', 1_800_000],
    ['P1DT12H', 36 * 3_600_000],
    ['PT1.5S', 1_500],
    ['P1D', 86_400_000],
    ['P', undefined],
    ['PT', undefined],
    ['P1Y', undefined],
    ['P1W', undefined],
    ['6h', 6 * 3_600_000],
    ['500ms', 500],
    ['-60', undefined],
  ])('duration %s', (raw, ms) => {
    expect(parseDuration(raw)).toBe(ms);
  });

  test.each([
    [6 * 3_600_000, 'PT6H'],
    [60_000, 'PT1M'],
    [36 * 3_600_000 + 1_000, 'P1DT12H1S'],
    [86_400_000, 'P1D'],
    [0, 'PT0S'],
  ])('formatDuration(%d) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test('the default base URL follows PORT', () => {
    expect(loadConfig({ PORT: '8089' }).publicBaseUrl).toBe('http://localhost:8089/fhir');
  });

  test.each([
    [{ PORT: 'abc' }, /PORT must be a whole number/],
    [{ PORT: '70000' }, /PORT must be a whole number between 0 and 65535/],
    [{ LOG_LEVEL: 'verbose' }, /LOG_LEVEL must be one of debug, info, warn, error, silent/],
    [{ MAX_BODY_BYTES: '0' }, /MAX_BODY_BYTES/],
    [{ MAX_BODY_BYTES: '10mb' }, /MAX_BODY_BYTES/],
    [{ PUBLIC_BASE_URL: 'not a url' }, /PUBLIC_BASE_URL must be an absolute http\(s\) URL/],
    [{ PUBLIC_BASE_URL: 'ftp://example.org/fhir' }, /PUBLIC_BASE_URL/],
    [{ PUBLIC_BASE_URL: 'http://example.org/fhir?x=1' }, /query or fragment/],
    [{ HELSEREFUSJON_BASE_URL: 'opne-data-api.helserefusjon.no' }, /HELSEREFUSJON_BASE_URL must be an absolute/],
    [{ HELSEREFUSJON_REFRESH: 'PT30S' }, /HELSEREFUSJON_REFRESH must be a duration between PT1M and P7D/],
    [{ HELSEREFUSJON_REFRESH: 'sometimes' }, /HELSEREFUSJON_REFRESH must be a duration/],
    [{ HELSEREFUSJON_TIMEOUT: '0' }, /HELSEREFUSJON_TIMEOUT must be a duration between PT1S and PT10M/],
    [{ RESPONSE_CACHE_BYTES: '1000', RESPONSE_CACHE_MAX_ENTRY_BYTES: '2000' }, /RESPONSE_CACHE_MAX_ENTRY_BYTES/],
    [
      { MAX_BODY_BYTES: '1000', MAX_BODY_BYTES_TOTAL: '999' },
      /MAX_BODY_BYTES_TOTAL must be a whole number between 1000/,
    ],
    [{ SHUTDOWN_GRACE: 'PT1H' }, /SHUTDOWN_GRACE must be a duration between PT0S and PT10M/],
    [{ LOAD_SHED_LAG: 'often' }, /LOAD_SHED_LAG must be a duration/],
    [{ COMPRESSED_CACHE_BYTES: '-1' }, /COMPRESSED_CACHE_BYTES/],
  ])('fails fast on %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('ISSUE_LOCATION', () => {
  test('is a flag that takes effect only from the environment the service starts with', () => {
    // this process starts without it: issues carry expression alone
    expect(loadConfig({ ISSUE_LOCATION: 'false' }).issueLocation).toBe(false);
    expect(() => loadConfig({ ISSUE_LOCATION: 'true' })).toThrow(
      /ISSUE_LOCATION must be set in the environment the service starts with/,
    );
    expect(() => loadConfig({ ISSUE_LOCATION: 'sometimes' })).toThrow(ConfigError);
  });
});

describe('loadTerminology', () => {
  test('reads resources and Bundles from nested folders', () => {
    const dir = dataDir({
      'a.json': cs('http://example.org/a'),
      'sub/b.json': {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          { resource: { resourceType: 'ValueSet', url: 'http://example.org/vs', status: 'active' } },
          { resource: { resourceType: 'ConceptMap', url: 'http://example.org/cm', status: 'active' } },
          { resource: { resourceType: 'Patient' } },
        ],
      },
      'notes.txt': 'ignored',
    });
    const store = loadTerminology(dir, { core: false });
    expect(terminologyCounts(store)).toEqual({ codeSystems: 1, valueSets: 1, conceptMaps: 1 });
  });

  test('keeps several versions of one code system', () => {
    const dir = dataDir({ 'v1.json': cs('http://example.org/a', '1.0'), 'v2.json': cs('http://example.org/a', '2.0') });
    const store = loadTerminology(dir, { core: false });
    expect(store.versions('CodeSystem', 'http://example.org/a').map((c) => c.version)).toEqual(['2.0', '1.0']);
  });

  test.each([
    ['malformed JSON', { 'broken.json': '{"resourceType": "CodeSystem",' }, /broken\.json is not valid JSON/],
    ['a NamingSystem', { 'ns.json': { resourceType: 'NamingSystem' } }, /ns\.json: resourceType NamingSystem is not/],
    ['a JSON array', { 'list.json': [] }, /list\.json does not hold a FHIR resource/],
    [
      'a duplicate url and version',
      { 'one.json': cs('http://example.org/a'), 'two.json': cs('http://example.org/a') },
      /two\.json: CodeSystem http:\/\/example\.org\/a\|1 is also in one\.json/,
    ],
  ])('fails with the file name for %s', (_name, files, message) => {
    const dir = dataDir(files);
    expect(() => loadTerminology(dir, { core: false })).toThrow(TerminologyLoadError);
    expect(() => loadTerminology(dir, { core: false })).toThrow(message);
  });

  test('fails for a missing folder', () => {
    expect(() => loadTerminology('/nonexistent/tx-data')).toThrow(/\/nonexistent\/tx-data cannot be read/);
  });

  test('a local resource replaces the core one with the same url and version', () => {
    const url = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';
    const local = { ...cs(url, '2018-08-12'), id: 'local-marital' };
    const store = loadTerminology(dataDir({ 'm.json': local }));
    expect(store.versions('CodeSystem', url).map((c) => c.id)).toEqual(['local-marital']);
  });

  test('the shipped data and the R4 core load', () => {
    const store = loadTerminology(DEFAULT_TERMINOLOGY_DATA_DIR);
    const counts = terminologyCounts(store);
    expect(counts.codeSystems).toBeGreaterThan(600);
    expect(counts.valueSets).toBeGreaterThan(850);
    expect(counts.conceptMaps).toBe(19);
    expect(
      store.versions('CodeSystem', 'http://helsenorge.no/fhir/CodeSystem/no-kodeverk-9060.codesystem'),
    ).toHaveLength(1);
    expect(store.versions('ValueSet', 'http://hl7.no/fhir/ValueSet/no-basis-marital-status')).toHaveLength(1);
    expect(
      store.versions('CodeSystem', 'http://helsenorge.no/fhir/CodeSystem/no-kodeverk-7280-nlk.codesystem'),
    ).toEqual([]);
  });
});

describe('main.ts', () => {
  function run(env: Record<string, string>): { child: ChildProcess; lines: string[]; stderr: string[] } {
    const child = spawn(process.execPath, ['src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const stderr: string[] = [];
    child.stdout?.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
    return { child, lines, stderr };
  }
  const exitOf = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.on('exit', (code) => resolve(code));
    });

  test('starts, serves, logs one startup line and exits 0 on SIGTERM', async () => {
    const { child, lines } = run({ PORT: '0', HOST: '127.0.0.1' });
    const deadline = Date.now() + 20_000;
    while (!lines.some((l) => l.includes('"listening"')) && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const started = JSON.parse(lines.find((l) => l.includes('"listening"')) ?? '{}');
    expect(started).toMatchObject({ level: 'info', msg: 'listening', host: '127.0.0.1' });
    expect(started.codeSystems).toBeGreaterThan(600);
    expect(typeof started.startupMs).toBe('number');
    const ready = await fetch(`http://127.0.0.1:${started.port}/readyz`);
    expect(ready.status).toBe(200);
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
    expect(lines.some((l) => l.includes('"shutting down"'))).toBe(true);
  });

  test('CANONICAL_BASE moves every canonical the service makes; the old base is not answered', async () => {
    const base = 'https://fhir.helse.example.no/fhir';
    const { child, lines } = run({ PORT: '0', HOST: '127.0.0.1', CANONICAL_BASE: `${base}/` });
    try {
      const deadline = Date.now() + 20_000;
      while (!lines.some((l) => l.includes('"listening"')) && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const { port } = JSON.parse(lines.find((l) => l.includes('"listening"')) ?? '{}') as { port: number };
      const origin = `http://127.0.0.1:${port}/fhir`;
      const takst = `${base}/CodeSystem/takstkoder-le`;
      const lookup = await fetchFhir<Parameters>(
        `${origin}/CodeSystem/$lookup?system=${encodeURIComponent(takst)}&code=1ad`,
      );
      expect(lookup.status).toBe(200);
      expect(lookup.body.parameter?.find((p) => p.name === 'system')?.valueUri).toBe(takst);
      const old = await fetchFhir(
        `${origin}/CodeSystem/$lookup?system=${encodeURIComponent('https://no-fhir-facade.example/fhir/CodeSystem/takstkoder-le')}&code=1ad`,
      );
      expect(old.status).toBe(404);
      // our own property and extension URLs move too
      const cs = await fetchFhir<Bundle>(`${origin}/CodeSystem?url=${encodeURIComponent(takst)}&_elements=property`);
      const props = ((cs.body.entry?.[0]?.resource as CodeSystem | undefined)?.property ?? []).map((p) => p.uri);
      expect(props).toContain(`${base}/concept-properties#validFrom`);
      const caps = JSON.stringify((await fetchFhir(`${origin}/metadata?mode=terminology`)).body);
      expect(caps).toContain(`${base}/StructureDefinition/data-source`);
      expect(caps).not.toContain('no-fhir-facade.example');
    } finally {
      child.kill('SIGTERM');
      await exitOf(child);
    }
  });

  test('ISSUE_LOCATION=true: issues carry the deprecated location beside expression; by default expression alone', async () => {
    const unknown = (origin: string) =>
      fetchFhir<Parameters>(
        `${origin}/CodeSystem/$validate-code?url=${encodeURIComponent('urn:oid:2.16.578.1.12.4.1.1.7280')}&code=NOT-A-CODE`,
      );
    const issuesOf = (p: Parameters) =>
      (p.parameter?.find((x) => x.name === 'issues')?.resource as OperationOutcome | undefined)?.issue ?? [];
    for (const on of [false, true]) {
      const { child, lines } = run({ PORT: '0', HOST: '127.0.0.1', ...(on ? { ISSUE_LOCATION: 'true' } : {}) });
      try {
        const deadline = Date.now() + 20_000;
        while (!lines.some((l) => l.includes('"listening"')) && Date.now() < deadline && child.exitCode === null) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const { port } = JSON.parse(lines.find((l) => l.includes('"listening"')) ?? '{}') as { port: number };
        const res = await unknown(`http://127.0.0.1:${port}/fhir`);
        expect(res.status).toBe(200);
        const issues = issuesOf(res.body);
        expect(issues.length).toBeGreaterThan(0);
        for (const issue of issues) {
          expect(issue.expression).toEqual(['code']);
          if (on) expect(issue.location).toEqual(issue.expression);
          else expect(issue.location).toBeUndefined();
        }
      } finally {
        child.kill('SIGTERM');
        await exitOf(child);
      }
    }
  });

  test.each([
    [{ ISSUE_LOCATION: 'sometimes' }, /ISSUE_LOCATION must be true or false/],
    [{ PORT: 'eighty' }, /PORT must be a whole number/],
    [{ TERMINOLOGY_DATA_DIR: '/nonexistent/tx-data' }, /cannot be read/],
    [{ CANONICAL_BASE: 'urn:example:x' }, /CANONICAL_BASE must be an absolute http\(s\) URL/],
    [{ CANONICAL_BASE: 'https://x.example/fhir?y=1' }, /CANONICAL_BASE must not have a query or fragment/],
  ])('exits 1 with a clear message for %o', async (env, message) => {
    const { child, lines, stderr } = run(env);
    expect(await exitOf(child)).toBe(1);
    expect([...lines, ...stderr].join('\n')).toMatch(message);
  });
});
