import type { Bundle, HealthcareService, OperationOutcome } from '@medplum/fhirtypes';
import { Agent } from 'undici';
import { afterAll, afterEach, describe, expect, test, vi } from 'vitest';
import { createDirectory } from '../../src/directory/directory.ts';
import { parseDirectoryConfig } from '../../src/directory/directory-config.ts';
import { RefreshingDataset, type RefreshTimers } from '../../src/directory/directory-refresh.ts';
import type { DirectoryService } from '../../src/directory/directory-service.ts';
import { UpstreamError } from '../../src/upstream/errors.ts';
import {
  FAKE_FNSP_KEY,
  FAKE_FNSP_KEY_HEADER,
  type FakeFnspServer,
  fnspFixture,
  startFakeFnsp,
} from '../fakes/fnsp-server.ts';
import { type DirectoryTestApp, matches, outcomes, startDirectoryApp } from './fnsp-test-app.ts';

// Refresh and outage: the FNSP dataset is downloaded once, served from memory, downloaded again when
// older than FNSP_REFRESH (1h here), served stale when that fails, and never fetched per
// request. The clock is injected; nothing waits for a real interval.

const T0 = Date.parse('2026-03-02T09:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const dispatcher = new Agent();

interface Setup {
  fake: FakeFnspServer;
  directory: DirectoryService;
  app: DirectoryTestApp;
  advance(ms: number): void;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
afterAll(async () => {
  await dispatcher.close();
});

async function setup(env: Record<string, string> = {}, firstLoadWaitMs?: number): Promise<Setup> {
  const fake = await startFakeFnsp();
  let t = T0;
  const directory = createDirectory(
    parseDirectoryConfig({
      FNSP_BASE_URL: fake.baseUrl,
      FNSP_API_KEY: FAKE_FNSP_KEY,
      FNSP_API_KEY_HEADER: FAKE_FNSP_KEY_HEADER,
      FNSP_REFRESH: '1h',
      FNSP_RETRY_AFTER_FAILURE: '5m',
      BANDAGISTS_ENABLED: 'false',
      ...env,
    }),
    { dispatcher, now: () => t, http: { retries: 0 }, ...(firstLoadWaitMs !== undefined ? { firstLoadWaitMs } : {}) },
  );
  const app = await startDirectoryApp(directory);
  cleanups.push(async () => {
    directory.stop();
    await directory.settled();
    await app.close();
    await fake.close();
  });
  return {
    fake,
    directory,
    app,
    advance: (ms) => {
      t += ms;
    },
  };
}

/** The dataset fixture with the Vestby colonoscopy page retitled. */
function retitled(title: string): unknown {
  const d = fnspFixture('datasett.json') as { prosedyrer: { foretak: { tittel: string }[] }[] };
  d.prosedyrer[0].foretak[1].tittel = title;
  return d;
}

const VESTBY_KOLOSKOPI = '/HealthcareService/fnsp-koloskopi-999100002';

describe('refresh', () => {
  test('concurrent first requests share one download', async () => {
    const { fake, app } = await setup();
    const release = fake.hold();
    const pending = Array.from({ length: 5 }, () => app.get<Bundle>('/HealthcareService?service-type=73761001'));
    await vi.waitFor(() => expect(fake.count('/nedlastning')).toBe(1));
    release();
    const results = await Promise.all(pending);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(results.map((r) => r.body.total)).toEqual([3, 3, 3, 3, 3]);
    expect(fake.count('/nedlastning')).toBe(1);
    expect(fake.count('/nettsteder')).toBe(1);
  });

  test('a first load slower than the wait: 503 still loading with Retry-After; then the data', async () => {
    const { fake, app } = await setup({}, 30);
    const release = fake.hold();
    const res = await app.get<OperationOutcome>('/Location');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.body.issue[0]).toMatchObject({
      code: 'transient',
      details: { text: 'FNSP data is still loading; try again shortly' },
    });
    release();
    await vi.waitFor(async () => expect((await app.get('/Location')).status).toBe(200));
    expect(fake.count('/nedlastning')).toBe(1);
  });

  test('within the window nothing is fetched; after it, the old data is served while the new loads', async () => {
    const { fake, app, directory, advance } = await setup();
    expect((await app.get<HealthcareService>(VESTBY_KOLOSKOPI)).body.name).toBe('Koloskopi');
    fake.set('/nedlastning', retitled('Koloskopi (ny tekst)'));

    advance(59 * MINUTE);
    expect((await app.get<HealthcareService>(VESTBY_KOLOSKOPI)).body.name).toBe('Koloskopi');
    expect(fake.count('/nedlastning')).toBe(1);

    advance(MINUTE);
    // due: this request starts the refresh but is answered from the data in memory
    expect((await app.get<HealthcareService>(VESTBY_KOLOSKOPI)).body.name).toBe('Koloskopi');
    await directory.settled();
    expect(fake.count('/nedlastning')).toBe(2);
    const fresh = await app.get<HealthcareService>(VESTBY_KOLOSKOPI);
    expect(fresh.body.name).toBe('Koloskopi (ny tekst)');
    expect(directory.status().fnsp).toMatchObject({ state: 'ready', loads: 2, failures: 0 });
  });

  test('a procedure gone from the dataset is gone after the refresh (404)', async () => {
    const { fake, app, directory, advance } = await setup();
    expect((await app.get('/HealthcareService/fnsp-mr-hode-999100002')).status).toBe(200);
    const d = fnspFixture('datasett.json') as { prosedyrer: unknown[] };
    d.prosedyrer.pop();
    fake.set('/nedlastning', d);
    advance(HOUR);
    await app.get('/HealthcareService?_count=0');
    await directory.settled();
    expect((await app.get('/HealthcareService/fnsp-mr-hode-999100002')).status).toBe(404);
  });

  test('the ticks of start() refresh without any request', async () => {
    const ticks: (() => void)[] = [];
    let cleared = false;
    const timers: RefreshTimers = {
      setInterval: (fn) => {
        ticks.push(fn);
        return 'handle';
      },
      clearInterval: (h) => {
        cleared = h === 'handle';
      },
    };
    let t = 0;
    let loads = 0;
    const ds = new RefreshingDataset({
      name: 'test',
      load: async () => ++loads,
      refreshIntervalMs: HOUR,
      retryAfterFailureMs: 5 * MINUTE,
      now: () => t,
    });
    ds.start(timers, MINUTE);
    await ds.settled();
    expect(loads).toBe(1);
    ticks[0]();
    await ds.settled();
    expect(loads).toBe(1);
    t += HOUR;
    ticks[0]();
    await ds.settled();
    expect(loads).toBe(2);
    expect(ds.peek()).toEqual({ data: 2, loadedAt: HOUR });
    ds.stop();
    expect(cleared).toBe(true);
    t += HOUR;
    ticks[0]();
    await ds.settled();
    expect(loads).toBe(2);
  });
});

describe('outage', () => {
  test('a failed refresh: stale data with a warning, no retry before the cool-down, then recovery', async () => {
    const { fake, app, directory, advance } = await setup();
    expect((await app.get<Bundle>('/HealthcareService')).body.total).toBe(6);
    fake.failAll({ status: 503 });
    advance(HOUR);
    expect((await app.get<Bundle>('/HealthcareService')).status).toBe(200); // starts the refresh
    await directory.settled();
    expect(fake.count('/nedlastning')).toBe(2);

    const stale = await app.get<Bundle>('/HealthcareService?service-type=73761001');
    expect(stale.status).toBe(200);
    expect(stale.body.total).toBe(3);
    expect(outcomes(stale.body)).toEqual([
      {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'warning',
            code: 'transient',
            details: {
              text: 'FNSP data from 2026-03-02T09:00:00.000Z is served; the last refresh failed: Upstream fnsp is unavailable (HTTP 503)',
            },
          },
        ],
      },
    ]);
    expect((await app.get(VESTBY_KOLOSKOPI)).status).toBe(200);
    expect(directory.status().fnsp).toMatchObject({
      state: 'stale',
      loadedAt: '2026-03-02T09:00:00.000Z',
      lastError: { code: 'UPSTREAM_UNAVAILABLE', message: 'Upstream fnsp is unavailable (HTTP 503)' },
      failures: 1,
    });

    // cool-down: many requests, no call
    for (let i = 0; i < 5; i++) await app.get('/Location');
    advance(4 * MINUTE);
    await app.get('/Location');
    await directory.settled();
    expect(fake.count('/nedlastning')).toBe(2);

    // after the cool-down one more attempt, which succeeds
    fake.failAll(null);
    advance(MINUTE);
    await app.get('/Location');
    await directory.settled();
    expect(fake.count('/nedlastning')).toBe(3);
    const healthy = await app.get<Bundle>('/HealthcareService');
    expect(outcomes(healthy.body)).toEqual([]);
    expect(directory.status().fnsp).toMatchObject({ state: 'ready', loads: 2, failures: 1 });
  });

  test('no data yet and FNSP down: 503 OperationOutcome; no call during the cool-down; then 200', async () => {
    const { fake, app, advance } = await setup();
    fake.failAll({ status: 500 });
    const first = await app.get<OperationOutcome>('/HealthcareService');
    expect(first.status).toBe(503);
    expect(first.body.issue).toEqual([
      {
        severity: 'error',
        code: 'transient',
        details: { text: 'FNSP data is not available: Upstream fnsp is unavailable (HTTP 500)' },
      },
    ]);
    expect(JSON.stringify(first.body)).not.toContain('127.0.0.1');
    expect(fake.count('/nedlastning')).toBe(1);

    fake.failAll(null);
    const again = await app.get<OperationOutcome>('/Location/fnsp-loc-999100001-sted-1001');
    expect(again.status).toBe(503);
    expect(fake.count('/nedlastning')).toBe(1);

    advance(5 * MINUTE);
    const ok = await app.get<Bundle>('/HealthcareService');
    expect(ok.status).toBe(200);
    expect(ok.body.total).toBe(6);
    expect(fake.count('/nedlastning')).toBe(2);
  });

  test.each<[string, Parameters<FakeFnspServer['failAll']>[0], number, string]>([
    [
      'HTML instead of JSON: 502',
      { status: 200, body: '<html>vedlikehold</html>', contentType: 'text/html' },
      502,
      'FNSP data is not available: Upstream fnsp sent a response that could not be understood (HTTP 200): expected JSON, got text/html',
    ],
    [
      'a shape that does not fit: 502',
      { status: 200, body: { melding: 'ingen data' } },
      502,
      'FNSP data is not available: Upstream fnsp sent a response that could not be understood: datasett: no "prosedyrer" list in the response',
    ],
    [
      'the dataset path unknown (404): 502',
      { status: 404 },
      502,
      'FNSP data is not available: Upstream fnsp does not have the requested data (HTTP 404)',
    ],
    [
      'a gateway timeout: 504',
      { status: 504 },
      504,
      'FNSP data is not available: Upstream fnsp did not answer in time (HTTP 504)',
    ],
  ])('%s', async (_name, failure, status, text) => {
    const { fake, app } = await setup();
    fake.failAll(failure);
    const res = await app.get<OperationOutcome>('/HealthcareService');
    expect(res.status).toBe(status);
    expect(res.body.issue[0].details?.text).toBe(text);
  });

  test('rate limited with Retry-After: 503 passing Retry-After on', async () => {
    const { fake, app } = await setup();
    fake.failAll({ status: 429, headers: { 'retry-after': '120' } });
    const res = await app.get<OperationOutcome>('/Location');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('120');
    expect(res.body.issue[0].details?.text).toBe(
      'FNSP data is not available: Upstream fnsp is rate limiting our requests (HTTP 429)',
    );
  });

  test('a refused key: 502, and neither the key nor the upstream URL reaches the client', async () => {
    const { app } = await setup({ FNSP_API_KEY: 'wrong-key-123' });
    const res = await app.get<OperationOutcome>('/HealthcareService');
    expect(res.status).toBe(502);
    expect(res.body.issue[0]).toMatchObject({
      code: 'exception',
      details: { text: 'FNSP data is not available: Upstream fnsp refused our credentials (HTTP 401)' },
    });
    const text = JSON.stringify(res.body);
    expect(text).not.toContain('wrong-key-123');
    expect(text).not.toContain('/api');
  });

  test('a row that cannot be read is left out; the rest is served', async () => {
    const { app, directory } = await setup();
    const b = await app.get<Bundle>('/HealthcareService?service-type=73761001');
    expect(matches(b.body)).toHaveLength(3);
    expect(directory.status().fnsp).toMatchObject({ warnings: 2 }); // the bad row and the unmatched site
  });
});

describe('RefreshingDataset', () => {
  test('get() before any load waits for it; a failed first load is thrown until the cool-down ends', async () => {
    let t = 0;
    let fail = true;
    const ds = new RefreshingDataset({
      name: 'test',
      load: async () => {
        if (fail) throw new UpstreamError('UPSTREAM_UNAVAILABLE', { upstream: 'x', status: 503 });
        return 'data';
      },
      refreshIntervalMs: HOUR,
      retryAfterFailureMs: MINUTE,
      now: () => t,
    });
    expect(ds.status()).toMatchObject({ state: 'loading', loads: 0 });
    await expect(ds.get()).rejects.toThrow('Upstream x is unavailable (HTTP 503)');
    expect(ds.status()).toMatchObject({ state: 'failed', failures: 1 });
    fail = false;
    await expect(ds.get()).rejects.toThrow('Upstream x is unavailable (HTTP 503)');
    expect(ds.status().failures).toBe(1);
    t += MINUTE;
    await expect(ds.get()).resolves.toEqual({ data: 'data', loadedAt: MINUTE });
    expect(ds.status()).toMatchObject({ state: 'ready', loads: 1, failures: 1 });
  });

  test('a load that throws at once still settles', async () => {
    const ds = new RefreshingDataset<string>({
      name: 'test',
      load: () => {
        throw new Error('boom');
      },
      refreshIntervalMs: HOUR,
      retryAfterFailureMs: 0,
    });
    await expect(ds.refresh()).rejects.toThrow('boom');
    await ds.settled();
    expect(ds.status()).toMatchObject({
      state: 'failed',
      refreshing: false,
      lastError: { code: 'LOAD_FAILED', message: 'internal error while loading the data (see the server log)' },
    });
  });
});
