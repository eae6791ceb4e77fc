import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createDirectory } from '../../src/directory/directory.ts';
import { parseDirectoryConfig } from '../../src/directory/directory-config.ts';
import { fnspDirectoryEndpoints } from '../../src/directory/directory-routes.ts';
import type { DirectoryService } from '../../src/directory/directory-service.ts';
import { parseHprConfig } from '../../src/directory/hpr-config.ts';
import { practitionerEndpoint } from '../../src/directory/practitioner-endpoint.ts';
import type { PractitionerService } from '../../src/directory/practitioner-service.ts';
import { ServiceMetrics } from '../../src/http/metrics.ts';
import { loadBaseTerminology, type OpenedTerminology, openServedTerminology } from '../../src/terminology-sources.ts';
import { FAKE_FNSP_KEY, FAKE_FNSP_KEY_HEADER, type FakeFnspServer, startFakeFnsp } from '../fakes/fnsp-server.ts';
import { type FakeHelserefusjon, startFakeHelserefusjon } from '../fakes/helserefusjon-server.ts';
import { SYNTHETIC_PERSONS } from '../fakes/hpr-persons.ts';
import { type FakeHprServer, fakeHprEnv, startFakeHpr, testClientKey } from '../fakes/hpr-server.ts';
import { startTestServer, type TestServer } from '../support/fhir.ts';
import { type Sample, sampleValue, scrape } from '../support/metrics.ts';

// The upstream metrics of the whole service as main.ts wires it: the live Helserefusjon data, FNSP
// and the bandagist list, Maskinporten and HPR, each against its fake server on 127.0.0.1 through the
// real clients; one ServiceMetrics counts every call. No network.

const CALLS = 'nofhir_upstream_requests_total';
const FAILURES = 'nofhir_upstream_failures_total';

let helserefusjon: FakeHelserefusjon;
let fnsp: FakeFnspServer;
let hpr: FakeHprServer;
let opened: OpenedTerminology;
let directory: DirectoryService;
let practitioners: PractitionerService | undefined;
let server: TestServer;
const agent = new Agent();
const metrics = new ServiceMetrics();
const snapshotDir = mkdtempSync(join(tmpdir(), 'metrics-upstream-'));

beforeAll(async () => {
  helserefusjon = await startFakeHelserefusjon();
  fnsp = await startFakeFnsp();
  const key = testClientKey();
  hpr = await startFakeHpr({ clients: [key.client], persons: SYNTHETIC_PERSONS, tokenLifetimeS: 120 });

  const base = loadConfig({});
  opened = await openServedTerminology(
    {
      ...base,
      helserefusjonBaseUrl: helserefusjon.url,
      helserefusjonSnapshotDir: snapshotDir,
      helserefusjonTimeoutMs: 5_000,
    },
    {
      base: loadBaseTerminology(base),
      dispatcher: agent,
      live: { cooldownMs: 0 },
      http: { retries: 0 },
      onUpstreamCall: metrics.upstreamCall,
    },
  );
  directory = createDirectory(
    parseDirectoryConfig({
      FNSP_BASE_URL: fnsp.baseUrl,
      FNSP_API_KEY: FAKE_FNSP_KEY,
      FNSP_API_KEY_HEADER: FAKE_FNSP_KEY_HEADER,
      HELSEREFUSJON_BASE_URL: helserefusjon.url,
    }),
    { dispatcher: agent, http: { retries: 0 }, onUpstreamCall: metrics.upstreamCall },
  );
  directory.start();
  await directory.settled();
  server = await startTestServer({
    terminology: opened.source,
    metrics,
    config: { hpr: parseHprConfig(fakeHprEnv(hpr, key)) },
    directory: (config) => {
      const p = practitionerEndpoint(config, { dispatcher: agent, metrics });
      practitioners = p.service;
      return [p.endpoint, ...fnspDirectoryEndpoints({ directory, baseUrl: config.publicBaseUrl })];
    },
    directoryStatus: () => ({ practitioner: practitioners?.status, ...directory.status() }),
  });
});

afterAll(async () => {
  directory.stop();
  await directory.settled();
  await server.close();
  await opened.close();
  await Promise.all([helserefusjon.close(), fnsp.close(), hpr.close()]);
  await agent.close();
  rmSync(snapshotDir, { recursive: true, force: true });
});

const calls = (s: Sample[], upstream: string) => sampleValue(s, CALLS, { upstream });
const failures = (s: Sample[], upstream: string, code: string) => sampleValue(s, FAILURES, { upstream, code });

describe('upstream metrics', () => {
  test('the Helserefusjon calls of the terminology and of the bandagist list are counted apart', async () => {
    const { samples } = await scrape(server.origin);
    const bandasjister = helserefusjon.calls('/v1/bandasjister');
    expect(bandasjister).toBeGreaterThan(0);
    expect(calls(samples, 'bandasjister')).toBe(bandasjister);
    expect(calls(samples, 'helserefusjon')).toBe(helserefusjon.calls() - bandasjister);
    expect(calls(samples, 'helserefusjon')).toBeGreaterThan(0);
    expect(sampleValue(samples, 'nofhir_upstream_request_duration_seconds_count', { upstream: 'helserefusjon' })).toBe(
      calls(samples, 'helserefusjon'),
    );
  });

  test('the FNSP calls are counted', async () => {
    const { samples } = await scrape(server.origin);
    expect(fnsp.requests.length).toBeGreaterThan(0);
    expect(calls(samples, 'fnsp')).toBe(fnsp.requests.length);
  });

  test('a Practitioner read counts one Maskinporten and one HPR call, and takes a token from the bucket', async () => {
    const before = (await scrape(server.origin)).samples;
    expect(sampleValue(before, 'nofhir_upstream_rate_limit_capacity', { upstream: 'hpr' })).toBe(200);
    const res = await fetch(`${server.baseUrl}/Practitioner/900000001`);
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    const after = (await scrape(server.origin)).samples;
    expect(calls(after, 'maskinporten') - calls(before, 'maskinporten')).toBe(1);
    expect(calls(after, 'hpr') - calls(before, 'hpr')).toBe(1);
    expect(hpr.stats.tokenRequests).toBe(calls(after, 'maskinporten'));
    expect(hpr.stats.hprRequests).toBe(calls(after, 'hpr'));
    const tokens = (s: Sample[]) => sampleValue(s, 'nofhir_upstream_rate_limit_tokens', { upstream: 'hpr' });
    expect(tokens(before) - tokens(after)).toBe(1);
    expect(
      sampleValue(after, 'nofhir_http_requests_total', { operation: 'read', resource: 'Practitioner', code: '200' }),
    ).toBe(1);
  });

  test('failures are counted by upstream and error code', async () => {
    // the Helserefusjon API answers one request with 503: the refresh fails, the data stay
    helserefusjon.fail({ status: 503 }, { times: 1 });
    const before = (await scrape(server.origin)).samples;
    await opened.live?.refresh().catch(() => undefined);
    // HPR no longer knows our token (401) and Maskinporten is down (503)
    hpr.revokeTokens();
    hpr.setMaskinportenOutage(503);
    const res = await fetch(`${server.baseUrl}/Practitioner/900000002`);
    await res.arrayBuffer();
    expect(res.status).toBeGreaterThanOrEqual(500);
    hpr.setMaskinportenOutage(undefined);
    const after = (await scrape(server.origin)).samples;
    const more = (upstream: string, code: string) => failures(after, upstream, code) - failures(before, upstream, code);
    expect(more('helserefusjon', 'UPSTREAM_UNAVAILABLE')).toBe(1);
    expect(more('hpr', 'UPSTREAM_UNAUTHORIZED')).toBe(1);
    expect(more('maskinporten', 'UPSTREAM_UNAVAILABLE')).toBe(1);
  });

  test('the age and state of each data source', async () => {
    const { samples } = await scrape(server.origin);
    const state = (source: string, value: string) =>
      sampleValue(samples, 'nofhir_data_source_state', { source, state: value });
    expect(state('helserefusjon', 'live')).toBe(1);
    expect(state('fnsp', 'ready')).toBe(1);
    expect(state('bandagists', 'ready')).toBe(1);
    for (const source of ['helserefusjon', 'fnsp', 'bandagists']) {
      const age = sampleValue(samples, 'nofhir_data_source_age_seconds', { source });
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(600);
    }
    expect(samples.some((s) => s.name === 'nofhir_data_source_age_seconds' && s.labels.source === 'practitioner')).toBe(
      false,
    );
  });

  test('no upstream URL, key or label other than the upstream names', async () => {
    const { text, samples } = await scrape(server.origin);
    for (const secret of [helserefusjon.url, fnsp.baseUrl, hpr.origin, '127.0.0.1', FAKE_FNSP_KEY]) {
      expect(text).not.toContain(secret);
    }
    const upstreams = new Set(samples.filter((s) => s.name === CALLS).map((s) => s.labels.upstream));
    expect([...upstreams].sort()).toEqual(['bandasjister', 'fnsp', 'helserefusjon', 'hpr', 'maskinporten']);
  });
});
