import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeSystem, Parameters, TerminologyCapabilities } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { type Config, DEFAULT_TERMINOLOGY_DATA_DIR, loadConfig } from '../../src/config.ts';
import { todayInNorway } from '../../src/helserefusjon/embedded.ts';
import type { LiveStatus } from '../../src/helserefusjon/live.ts';
import type { HelserefusjonProvenance } from '../../src/helserefusjon/live-resources.ts';
import { SNAPSHOT_FILE } from '../../src/helserefusjon/snapshot.ts';
import { createLogger } from '../../src/http/log.ts';
import { EXT_DATA_SOURCE } from '../../src/operations/metadata.ts';
import { loadTerminology } from '../../src/terminology/loader.ts';
import type { TerminologyStore } from '../../src/terminology/store.ts';
import { type OpenOptions, openServedTerminology } from '../../src/terminology-sources.ts';
import { type FakeHelserefusjon, startFakeHelserefusjon } from '../fakes/helserefusjon-server.ts';
import { fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

// Live mode through the real app: the Helserefusjon code systems come from a fake upstream on
// 127.0.0.1 that speaks the documented API (test/fakes/helserefusjon-server.ts).

const BASE = 'https://no-fhir-facade.example/fhir';
const TAKST_LE = `${BASE}/CodeSystem/takstkoder-le`;
const NLK = 'urn:oid:2.16.578.1.12.4.1.1.7280';
const q = encodeURIComponent;

const today = todayInNorway();
const addDays = (date: string, days: number) => {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
};

/** Takstkoder LE: last period (ended a month ago) and the period valid today. `2cd` is not in the embedded data. */
function takstRows(todayHonorar = 123.45) {
  const last = { fradato: addDays(today, -400), tildato: addDays(today, -31) };
  const current = { fradato: addDays(today, -30), tildato: addDays(today, 300) };
  const row = (kode: string, period: object, honorar: number, beskrivelse: string) => ({
    takst_id: `${kode}-${honorar}`,
    takstkode: kode,
    fagomraade: 'LE',
    ...period,
    honorar,
    refusjon: 10,
    egenandel: honorar - 10,
    beskrivelse,
  });
  return [
    row('2cd', last, 99, 'Tillegg for tidsbruk'),
    row('2cd', current, todayHonorar, 'Tillegg for tidsbruk'),
    row('2ad', last, 170, 'Konsultasjon hos allmennpraktiserende lege'),
    row('2ad', current, 175, 'Konsultasjon hos allmennpraktiserende lege'),
    row('1ad', current, 80, 'Enkel pasientkontakt'),
    row('2ae', current, 175, 'E-konsultasjon'),
  ];
}

function param(p: Parameters, name: string) {
  return p.parameter?.find((x) => x.name === name);
}

function property(p: Parameters, code: string): unknown {
  const prop = p.parameter?.find(
    (x) => x.name === 'property' && x.part?.some((y) => y.name === 'code' && y.valueCode === code),
  );
  const value = prop?.part?.find((y) => y.name === 'value');
  return value?.valueDecimal ?? value?.valueString ?? value?.valueCode ?? value?.valueDateTime;
}

let base: TerminologyStore;
let fake: FakeHelserefusjon;
const tmpDirs: string[] = [];
/** every body the app sent, to check that the upstream URL never leaks */
const bodies: string[] = [];

function snapshotDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'helfo-snapshot-'));
  tmpDirs.push(dir);
  return dir;
}

function liveConfig(dir: string, more: Partial<Config> = {}): Config {
  return {
    ...loadConfig({}),
    helserefusjonBaseUrl: fake.url,
    helserefusjonSnapshotDir: dir,
    helserefusjonTimeoutMs: 5_000,
    ...more,
  };
}

/** Opens a live source and an app serving it. */
async function openLive(dir: string, options: OpenOptions = {}, config: Partial<Config> = {}) {
  const opened = await openServedTerminology(liveConfig(dir, config), {
    base,
    live: { cooldownMs: 0, ...options.live },
    http: { retries: 0, ...options.http },
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const server = await startTestServer({ terminology: opened.source });
  return { opened, server, close: async () => Promise.all([opened.close(), server.close()]) };
}

async function lookup(server: TestServer, code: string, system = TAKST_LE) {
  const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$lookup?system=${q(system)}&code=${q(code)}`);
  bodies.push(JSON.stringify(res.body));
  return res;
}

interface ReadyBody {
  status: string;
  dataSources: { helserefusjon: HelserefusjonProvenance & { upstream: LiveStatus } };
}

async function readyz(server: TestServer): Promise<ReadyBody> {
  const res = await fetch(`${server.origin}/readyz`);
  const text = await res.text();
  bodies.push(text);
  expect(res.status).toBe(200);
  return JSON.parse(text);
}

async function capabilities(server: TestServer): Promise<TerminologyCapabilities> {
  const res = await fetchFhir<TerminologyCapabilities>(`${server.baseUrl}/metadata?mode=terminology`);
  bodies.push(JSON.stringify(res.body));
  return res.body;
}

function dataSourceOf(tc: TerminologyCapabilities, uri: string): Record<string, unknown> | undefined {
  const ext = tc.codeSystem?.find((c) => c.uri === uri)?.extension?.find((e) => e.url === EXT_DATA_SOURCE);
  if (!ext) return undefined;
  return Object.fromEntries(
    (ext.extension ?? []).map((e) => [e.url, e.valueCode ?? e.valueString ?? e.valueDateTime ?? e.valueDate]),
  );
}

beforeAll(async () => {
  base = loadTerminology(DEFAULT_TERMINOLOGY_DATA_DIR);
  fake = await startFakeHelserefusjon({ data: { takstkoder: takstRows() } });
});

afterAll(async () => {
  // no answer of the app, error or not, names the upstream's address
  const host = new URL(fake.url).host;
  for (const body of bodies) {
    expect(body).not.toContain(fake.url);
    expect(body).not.toContain(host);
  }
  expect(bodies.length).toBeGreaterThan(20);
  await fake.close();
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('live start-up', () => {
  let live: Awaited<ReturnType<typeof openLive>>;
  let dir: string;
  beforeAll(async () => {
    fake.requests.length = 0;
    dir = snapshotDir();
    live = await openLive(dir);
  });
  afterAll(() => live.close());

  test('fetches every dataset once', () => {
    expect([...fake.requests].sort()).toEqual([
      '/v1/apatkombinasjoner?samhandlertype=LR',
      '/v1/apatkombinasjoner?samhandlertype=PO',
      '/v1/fagomraader',
      '/v1/nlkkoder',
      '/v1/nlkkoder?samhandlertype=LR',
      '/v1/nlkkoder?samhandlertype=PO',
      '/v1/refusjonskategorisatser?samhandlertype=LR',
      '/v1/refusjonskategorisatser?samhandlertype=PO',
      '/v1/takstkoder',
    ]);
  });

  test('a code only the live API has is served', async () => {
    const res = await lookup(live.server, '2cd');
    expect(res.status).toBe(200);
    expect(param(res.body, 'display')?.valueString).toBe('Tillegg for tidsbruk');
  });

  test('$lookup without a date answers the price valid today', async () => {
    const res = await lookup(live.server, '2cd');
    expect(property(res.body, 'honorar')).toBe(123.45);
    expect(property(res.body, 'fradato')).toBe(addDays(today, -30));
    expect(param(res.body, 'version')?.valueString).toBe(addDays(today, -30));
  });

  test('the live NLK rows with their refusjonskategori per samhandlertype', async () => {
    const res = await lookup(live.server, 'NPU03230', NLK);
    expect(param(res.body, 'display')?.valueString).toBe('P-Kalium');
    expect(param(res.body, 'version')?.valueString).toBe(today);
    // the embedded NLK release is not served next to the live rows
    expect((await lookup(live.server, 'NPU04998', NLK)).status).toBe(404);
  });

  test('refusjonskategorier and APAT combinations where the API gives them', async () => {
    const cs = await fetchFhir(`${live.server.baseUrl}/CodeSystem/refusjonskategorier-po`);
    expect(cs.status).toBe(200);
    const cm = await fetchFhir(`${live.server.baseUrl}/ConceptMap/apatkombinasjoner-po`);
    expect(cm.status).toBe(200);
    // the fake gives no LR rows: no LR resources
    expect((await fetchFhir(`${live.server.baseUrl}/CodeSystem/refusjonskategorier-lr`)).status).toBe(404);
  });

  test('/readyz says live, fetched when', async () => {
    const body = await readyz(live.server);
    const h = body.dataSources.helserefusjon;
    expect(h).toMatchObject({ mode: 'live', upstream: { refreshInterval: 'PT6H', consecutiveFailures: 0 } });
    expect(Date.parse(h.fetchedAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect(h.upstream.lastRefresh).toMatchObject({ ok: true, trigger: 'start-up' });
    expect(h.upstream.snapshot.writtenAt).toBeDefined();
    expect(h.datasets.map((d: { name: string }) => d.name)).toEqual([
      'fagomraader',
      'praksistyper',
      'takstkoder',
      'NLK',
      'refusjonskategorier',
      'apatkombinasjoner',
    ]);
  });

  test('TerminologyCapabilities says live, fetched when', async () => {
    const tc = await capabilities(live.server);
    const h = (await readyz(live.server)).dataSources.helserefusjon;
    expect(dataSourceOf(tc, TAKST_LE)).toEqual({
      source: 'helserefusjon',
      mode: 'live',
      fetched: h.fetchedAt,
      dataDate: h.date,
    });
    expect(dataSourceOf(tc, NLK)).toMatchObject({ mode: 'live' });
    expect(dataSourceOf(tc, 'http://hl7.org/fhir/administrative-gender')).toBeUndefined();
    expect(tc.implementation?.description).toContain(`live from the upstream open-data API, fetched ${h.fetchedAt}`);
  });

  test('the snapshot holds the upstream rows, written atomically', () => {
    expect(readdirSync(dir)).toEqual([SNAPSHOT_FILE]);
    const doc = JSON.parse(readFileSync(join(dir, SNAPSHOT_FILE), 'utf8'));
    expect(doc.format).toBe(1);
    expect(doc.answers['/v1/takstkoder'].takstkoder.map((r: { takstkode: string }) => r.takstkode)).toContain('2cd');
    expect(Object.keys(doc.answers)).toHaveLength(9);
  });
});

describe('refresh', () => {
  let live: Awaited<ReturnType<typeof openLive>>;
  const lines: string[] = [];
  beforeAll(async () => {
    fake.data.takstkoder = takstRows();
    live = await openLive(snapshotDir(), { logger: createLogger('info', (l) => lines.push(l)) });
  });
  afterAll(() => live.close());
  afterEach(() => {
    fake.clearFaults();
    fake.data.takstkoder = takstRows(130);
  });

  test('picks up changed data (and the response cache does not answer with the old)', async () => {
    expect(property((await lookup(live.server, '2cd')).body, 'honorar')).toBe(123.45);
    const before = (await readyz(live.server)).dataSources.helserefusjon.fetchedAt;
    fake.data.takstkoder = takstRows(130);
    const result = await live.opened.live!.refresh();
    expect(result).toMatchObject({ ok: true, trigger: 'manual' });
    expect(property((await lookup(live.server, '2cd')).body, 'honorar')).toBe(130);
    const after = (await readyz(live.server)).dataSources.helserefusjon;
    expect(after.fetchedAt! > before!).toBe(true);
    expect(after.upstream.lastRefresh).toMatchObject({ ok: true, trigger: 'manual' });
  });

  test('is single-flight: concurrent refreshes share one fetch', async () => {
    const calls = fake.calls();
    const [a, b] = await Promise.all([live.opened.live!.refresh(), live.opened.live!.refresh()]);
    expect(a).toBe(b);
    expect(fake.calls() - calls).toBe(9);
  });

  test.each([
    // a failed refresh is retried after 5 minutes (not the 6 h interval), never before Retry-After
    ['503', { status: 503 }, 'UPSTREAM_UNAVAILABLE', 300_000],
    ['429 with Retry-After', { status: 429, retryAfter: '600' }, 'UPSTREAM_RATE_LIMITED', 600_000],
    ['404', { status: 404 }, 'UPSTREAM_NOT_FOUND', 300_000],
  ])('an outage (%s) keeps the last good data; /readyz reports it', async (_name, fault, code, retryMs) => {
    fake.fail(fault);
    fake.data.takstkoder = takstRows(150);
    lines.length = 0;
    const result = await live.opened.live!.refresh();
    expect(result).toMatchObject({ ok: false, error: { code } });
    expect(property((await lookup(live.server, '2cd')).body, 'honorar')).toBe(130);
    const h = (await readyz(live.server)).dataSources.helserefusjon;
    expect(h.mode).toBe('live');
    expect(h.upstream.lastRefresh).toMatchObject({ ok: false, error: { code } });
    expect(h.upstream.lastRefresh?.error?.message).toMatch(/^Upstream helserefusjon /);
    expect(h.upstream.consecutiveFailures).toBe(1);
    expect(h.upstream.lastSuccessAt).toBeDefined();
    const next = Date.parse(h.upstream.nextRefreshAt!) - Date.now();
    expect(next).toBeGreaterThan(retryMs - 10_000);
    expect(next).toBeLessThanOrEqual(retryMs);
    // one log line, without the upstream URL
    const logged = lines.filter((l) => l.includes('helserefusjon refresh failed'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).not.toContain(new URL(fake.url).host);
    expect(JSON.parse(logged[0])).toMatchObject({ level: 'warn', code, serving: 'live' });
    // the next good refresh clears the failure
    fake.clearFaults();
    fake.data.takstkoder = takstRows(130);
    expect((await live.opened.live!.refresh()).ok).toBe(true);
    expect((await readyz(live.server)).dataSources.helserefusjon.upstream.consecutiveFailures).toBe(0);
  });

  const bad = (path: string, change: (rows: Record<string, unknown>[]) => Record<string, unknown>[]) => () => {
    fake.data.takstkoder = takstRows(150);
    if (path === '/v1/takstkoder') fake.data.takstkoder = change(fake.data.takstkoder);
    else fake.data.nlkkoder = change(fake.data.nlkkoder);
  };
  test.each<[string, () => void, 'fagomraader' | 'takstkoder', RegExp]>([
    [
      'a body that is not JSON',
      () => fake.fail({ body: '{"takstkoder": [' }, { path: '/v1/takstkoder' }),
      'takstkoder',
      /not valid JSON/,
    ],
    [
      'an HTML error page',
      () => fake.fail({ body: '<html>Vedlikehold</html>', contentType: 'text/html' }, { path: '/v1/fagomraader' }),
      'fagomraader',
      /expected JSON, got text\/html/,
    ],
    [
      'a wrong shape',
      () => fake.fail({ body: '{"feil": "ukjent"}' }, { path: '/v1/takstkoder' }),
      'takstkoder',
      /no "takstkoder" list/,
    ],
    [
      'a malformed amount',
      bad('/v1/takstkoder', (rows) => [{ ...rows[0], honorar: 'mange kroner' }, ...rows.slice(1)]),
      'takstkoder',
      /takstkoder\[0\]\.honorar: expected a number/,
    ],
  ])(
    'a malformed answer keeps that dataset as it was; the others go live: %s',
    async (_name, arrange, dataset, message) => {
      const nlkBefore = structuredClone(fake.data.nlkkoder);
      arrange();
      fake.data.nlkkoder = [...nlkBefore, { ...nlkBefore[0], nlkKode: 'NPU77777' }];
      try {
        const result = await live.opened.live!.refresh();
        expect(result.ok).toBe(true);
        const upstream = (await readyz(live.server)).dataSources.helserefusjon.upstream;
        expect(upstream.datasets?.[dataset]).toMatchObject({ state: 'kept', error: { code: 'UPSTREAM_BAD_RESPONSE' } });
        expect(upstream.datasets?.[dataset]?.error?.message).toMatch(message);
        expect(upstream.datasets?.nlkkoder?.state).toBe('fetched');
        // the takstkoder of the last good retrieval (honorar 130), the new NLK code
        expect(property((await lookup(live.server, '2cd')).body, 'honorar')).toBe(130);
        expect((await lookup(live.server, 'NPU77777', 'urn:oid:2.16.578.1.12.4.1.1.7280')).status).toBe(200);
      } finally {
        fake.clearFaults();
        fake.data.nlkkoder = nlkBefore;
        fake.data.takstkoder = takstRows(130);
        expect((await live.opened.live!.refresh()).ok).toBe(true);
      }
    },
  );

  test.each<[string, () => void, string, RegExp]>([
    [
      'a collapse (1 takstkode, down from 4)',
      bad('/v1/takstkoder', (rows) => rows.filter((r) => r.takstkode === '2cd')),
      'DATA_REJECTED',
      /takstkoder: 1 codes, down from 4 \(less than 50 %\)/,
    ],
    ['no NLK codes', bad('/v1/nlkkoder', () => []), 'DATA_REJECTED', /nlk: no codes/],
    [
      'a code FHIR cannot hold',
      bad('/v1/takstkoder', (rows) => [...rows, { ...rows[0], takstkode: '2  cd' }]),
      'DATA_REJECTED',
      /concept code "2 {2}cd" is not a valid code/,
    ],
  ])('malformed data are rejected, the old data kept: %s', async (_name, arrange, code, message) => {
    const nlkBefore = structuredClone(fake.data.nlkkoder);
    const generation = live.opened.source.current().generation;
    arrange();
    try {
      const result = await live.opened.live!.refresh();
      expect(result).toMatchObject({ ok: false, error: { code } });
      expect(result.error?.message).toMatch(message);
    } finally {
      fake.data.nlkkoder = nlkBefore;
    }
    expect(live.opened.source.current().generation).toBe(generation);
    expect(property((await lookup(live.server, '2cd')).body, 'honorar')).toBe(130);
    expect((await readyz(live.server)).dataSources.helserefusjon.upstream.lastRefresh?.error?.code).toBe(code);
  });

  test('one unreadable row in a long list is left out, counted and shown; the rest goes live', async () => {
    const nlkBefore = structuredClone(fake.data.nlkkoder);
    try {
      fake.data.takstkoder = takstRows(140);
      const extra = Array.from({ length: 200 }, (_, i) => ({ ...nlkBefore[0], nlkKode: `NPU${90000 + i}` }));
      fake.data.nlkkoder = [
        ...nlkBefore,
        ...extra,
        { ...nlkBefore[0], nlkKode: 'NPU99999', refusjonskategorisats: 'A' },
      ];
      const result = await live.opened.live!.refresh();
      expect(result.error).toBeUndefined();
      expect(result.ok).toBe(true);
      expect(property((await lookup(live.server, '2cd')).body, 'honorar')).toBe(140);
      const upstream = (await readyz(live.server)).dataSources.helserefusjon.upstream as {
        skippedRows?: { what: string; skipped: number; total: number; first: string }[];
      };
      expect(upstream.skippedRows).toContainEqual(
        expect.objectContaining({
          what: 'nlkkoder',
          skipped: 1,
          first: expect.stringMatching(/refusjonskategorisats: expected a list/),
        }),
      );
    } finally {
      // the fake's data as before (the data served stay: a drop back to 3 NLK codes would be refused as a collapse)
      fake.data.nlkkoder = nlkBefore;
    }
  });
});

describe('an API that lacks one dataset', () => {
  test('the others go live at start-up, /readyz says which is missing, and an outage later changes nothing', async () => {
    fake.fail({ status: 404 }, { path: '/v1/apatkombinasjoner' });
    fake.data.takstkoder = takstRows(170);
    const live = await openLive(snapshotDir());
    try {
      const h = (await readyz(live.server)).dataSources.helserefusjon;
      expect(h.mode).toBe('live');
      expect(h.upstream.lastRefresh?.ok).toBe(true);
      expect(h.upstream.datasets?.apatkombinasjoner).toMatchObject({
        state: 'missing',
        error: { code: 'UPSTREAM_NOT_FOUND' },
      });
      expect(h.upstream.datasets?.takstkoder?.state).toBe('fetched');
      expect(property((await lookup(live.server, '2cd')).body, 'honorar')).toBe(170);
      // an outage: every request fails; the live data stay, and the refresh is a failure
      fake.fail({ status: 503 });
      const result = await live.opened.live!.refresh();
      expect(result).toMatchObject({ ok: false, error: { code: 'UPSTREAM_UNAVAILABLE' } });
      expect(property((await lookup(live.server, '2cd')).body, 'honorar')).toBe(170);
    } finally {
      fake.clearFaults();
      fake.data.takstkoder = takstRows(130);
      await live.close();
    }
  });
});

describe('refresh on the interval', () => {
  test('a short interval refreshes by itself', async () => {
    fake.data.takstkoder = takstRows(200);
    const live = await openLive(snapshotDir(), {}, { helserefusjonRefreshMs: 300 });
    try {
      expect(property((await lookup(live.server, '2cd')).body, 'honorar')).toBe(200);
      fake.data.takstkoder = takstRows(201);
      await vi.waitFor(async () => expect(property((await lookup(live.server, '2cd')).body, 'honorar')).toBe(201), {
        timeout: 5_000,
        interval: 100,
      });
      expect((await readyz(live.server)).dataSources.helserefusjon.upstream.lastRefresh?.trigger).toBe('schedule');
    } finally {
      await live.close();
    }
  });

  test('a manual refresh within the cool-down is answered with the last one', async () => {
    const live = await openLive(snapshotDir(), { live: { cooldownMs: 60_000 } });
    try {
      const calls = fake.calls();
      const result = await live.opened.live!.refresh();
      expect(result.trigger).toBe('start-up');
      expect(fake.calls()).toBe(calls);
    } finally {
      await live.close();
    }
  });
});

describe('restart while the upstream is down', () => {
  let dir: string;
  beforeAll(async () => {
    // a good run leaves its snapshot
    fake.data.takstkoder = takstRows(140);
    dir = snapshotDir();
    const first = await openLive(dir);
    await first.close();
  });
  afterEach(() => fake.clearFaults());

  test('serves the snapshot, and live data again once the upstream answers', async () => {
    fake.fail({ status: 503 });
    fake.data.takstkoder = takstRows(141);
    const live = await openLive(dir);
    try {
      expect(property((await lookup(live.server, '2cd')).body, 'honorar')).toBe(140);
      const h = (await readyz(live.server)).dataSources.helserefusjon;
      expect(h).toMatchObject({ mode: 'snapshot', upstream: { lastRefresh: { ok: false, trigger: 'start-up' } } });
      expect(h.upstream.snapshot.loadedAt).toBeDefined();
      const tc = await capabilities(live.server);
      expect(dataSourceOf(tc, TAKST_LE)).toMatchObject({ mode: 'snapshot', fetched: h.fetchedAt });
      expect(tc.implementation?.description).toContain('the saved copy');

      fake.clearFaults();
      expect((await live.opened.live!.refresh()).ok).toBe(true);
      expect(property((await lookup(live.server, '2cd')).body, 'honorar')).toBe(141);
      expect((await readyz(live.server)).dataSources.helserefusjon.mode).toBe('live');
      expect(dataSourceOf(await capabilities(live.server), TAKST_LE)).toMatchObject({ mode: 'live' });
    } finally {
      await live.close();
    }
  });

  test('an upstream that does not answer at all: start-up gives up in time', async () => {
    fake.fail({ hang: true });
    const started = Date.now();
    const live = await openLive(dir, { live: { startupTimeoutMs: 300 } });
    try {
      expect(Date.now() - started).toBeLessThan(5_000);
      const h = (await readyz(live.server)).dataSources.helserefusjon;
      expect(h.mode).toBe('snapshot');
      expect(h.upstream.lastRefresh?.error).toEqual({
        code: 'UPSTREAM_TIMEOUT',
        message: 'Upstream helserefusjon did not answer in time: no complete answer within the start-up time limit',
      });
    } finally {
      await live.close();
    }
  });

  test.each([
    ['no snapshot', undefined, undefined],
    ['an unusable snapshot', '{"format": 1, "fetchedAt": "2026-01-01T00:00:00Z", "answers": {}}', 'SNAPSHOT_UNUSABLE'],
  ])('%s: serves the embedded data', async (_name, content, error) => {
    fake.fail({ status: 500 });
    const empty = snapshotDir();
    if (content !== undefined) writeFileSync(join(empty, SNAPSHOT_FILE), content);
    const live = await openLive(empty);
    try {
      const h = (await readyz(live.server)).dataSources.helserefusjon;
      expect(h.mode).toBe('embedded');
      expect(h.upstream.snapshot.error).toBe(error);
      expect((await lookup(live.server, '2cd')).status).toBe(404);
      // the embedded extract (content fragment), not the live code system (complete)
      const cs = await fetchFhir<CodeSystem>(`${live.server.baseUrl}/CodeSystem/takstkoder-le?_elements=content`);
      expect(cs.body.content).toBe('fragment');
      expect(dataSourceOf(await capabilities(live.server), TAKST_LE)).toMatchObject({ mode: 'embedded' });
      // the upstream back: live data
      fake.clearFaults();
      expect((await live.opened.live!.refresh()).ok).toBe(true);
      expect((await lookup(live.server, '2cd')).status).toBe(200);
    } finally {
      await live.close();
    }
  });
});

describe('without HELSEREFUSJON_BASE_URL', () => {
  test('the embedded data, fixed, and saying so', async () => {
    const calls = fake.calls();
    const opened = await openServedTerminology(loadConfig({}));
    const server = await startTestServer({ terminology: opened.source });
    try {
      expect(opened.live).toBeUndefined();
      expect(fake.calls()).toBe(calls);
      const h = (await readyz(server)).dataSources.helserefusjon;
      expect(h).toMatchObject({ mode: 'embedded', date: '2025-09-23' });
      expect(h.upstream).toBeUndefined();
      const tc = await capabilities(server);
      expect(dataSourceOf(tc, TAKST_LE)).toEqual({ source: 'helserefusjon', mode: 'embedded', dataDate: '2025-09-23' });
      expect(tc.implementation?.description).toContain(
        'the data embedded in this release (newest data date 2025-09-23)',
      );
    } finally {
      await Promise.all([opened.close(), server.close()]);
    }
  });
});

describe('main.ts in live mode', () => {
  function run(env: Record<string, string>): { child: ChildProcess; lines: string[] } {
    const child = spawn(process.execPath, ['src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    child.stdout?.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
    return { child, lines };
  }

  test('HELSEREFUSJON_BASE_URL: starts with the live data', async () => {
    fake.data.takstkoder = takstRows();
    const { child, lines } = run({
      PORT: '0',
      HOST: '127.0.0.1',
      HELSEREFUSJON_BASE_URL: fake.url,
      HELSEREFUSJON_SNAPSHOT_DIR: snapshotDir(),
      HELSEREFUSJON_REFRESH: 'PT1H',
    });
    try {
      await vi.waitFor(() => expect(lines.some((l) => l.includes('"listening"'))).toBe(true), {
        timeout: 20_000,
        interval: 50,
      });
      const started = JSON.parse(lines.find((l) => l.includes('"listening"'))!);
      expect(started.helserefusjon).toBe('live');
      const res = await fetch(`http://127.0.0.1:${started.port}/readyz`);
      const text = await res.text();
      bodies.push(text);
      expect(JSON.parse(text).dataSources.helserefusjon).toMatchObject({
        mode: 'live',
        upstream: { refreshInterval: 'PT1H' },
      });
      // the log names no upstream URL
      expect(lines.join('\n')).not.toContain(fake.url);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.on('exit', r)));
    }
  });
});
