import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FAKE_FNSP_KEY, FAKE_FNSP_KEY_HEADER, type FakeFnspServer, startFakeFnsp } from '../fakes/fnsp-server.ts';
import { type FakeHelserefusjon, startFakeHelserefusjon } from '../fakes/helserefusjon-server.ts';
import { bulkPerson, SYNTHETIC_PERSONS } from '../fakes/hpr-persons.ts';
import { type FakeHprServer, fakeHprEnv, startFakeHpr, testClientKey } from '../fakes/hpr-server.ts';
import { redisServerAvailable, startRedis, type TestRedis } from '../support/redis-server.ts';

/**
 * Three replicas of the service (separate processes of src/main.ts, as deployed) sharing one real
 * Redis, in front of one fake HPR that enforces HPR's real bucket (200, refilled 10 a minute) and
 * one fake Helserefusjon API. Issue 12, item 1: one HPR call per person across the replicas, HPR's
 * bucket never overrun, one refresher for the Helserefusjon data, and service through a Redis outage.
 * No assertion on time: counts and states only (the waits below are bounded polls for a state).
 */

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = resolve(ROOT, 'node_modules/.bin/node');
const BULK = 300;

interface Replica {
  child: ChildProcess;
  base: string;
  lines: string[];
}

const haveRedis = redisServerAvailable();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!haveRedis)('three replicas on one Redis', () => {
  let redis: TestRedis;
  let hpr: FakeHprServer;
  let helfo: FakeHelserefusjon;
  let fnsp: FakeFnspServer;
  const replicas: Replica[] = [];
  const dirs: string[] = [];

  async function startReplica(env: Record<string, string>): Promise<Replica> {
    const dir = mkdtempSync(join(tmpdir(), 'replica-'));
    dirs.push(dir);
    const child = spawn(NODE, ['src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        WORKER_THREADS: '0',
        HELSEREFUSJON_SNAPSHOT_DIR: dir,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    for (let i = 0; i < 1200 && child.exitCode === null; i++) {
      const line = lines.find((l) => l.includes('"msg":"listening"'));
      if (line) {
        const { port } = JSON.parse(line) as { port: number };
        return { child, base: `http://127.0.0.1:${port}`, lines };
      }
      await sleep(50);
    }
    child.kill('SIGKILL');
    throw new Error(`replica did not start: ${stderr.slice(0, 500)}`);
  }

  interface Readyz {
    shared?: { redis?: { state?: string } };
    directory?: Record<string, { state?: string }>;
  }
  async function readyz(r: Replica): Promise<Readyz> {
    const res = await fetch(`${r.base}/readyz`);
    return (await res.json()) as Readyz;
  }

  /** Polls until every replica's /readyz says Redis is `state` (bounded; no time is asserted). */
  async function redisStateEverywhere(state: string): Promise<string[]> {
    let states: string[] = [];
    for (let i = 0; i < 200; i++) {
      states = await Promise.all(replicas.map(async (r) => (await readyz(r)).shared?.redis?.state ?? 'absent'));
      if (states.every((s) => s === state)) break;
      await sleep(50);
    }
    return states;
  }

  const person = (r: Replica, n: string | number) =>
    fetch(`${r.base}/fhir/Practitioner/${n}`, { headers: { accept: 'application/fhir+json' } });

  beforeAll(async () => {
    redis = await startRedis();
    const key = testClientKey();
    const persons = [...SYNTHETIC_PERSONS];
    for (let i = 0; i < BULK + 10; i++) persons.push(bulkPerson(i));
    // HPR's real bucket, on the real clock: 200, refilled 10 once a minute
    hpr = await startFakeHpr({ clients: [key.client], persons });
    helfo = await startFakeHelserefusjon();
    fnsp = await startFakeFnsp();
    const env = {
      ...fakeHprEnv(hpr, key),
      REDIS_URL: redis.url,
      REPLICAS: '3',
      HELSEREFUSJON_BASE_URL: helfo.url,
      BANDAGISTS_ENABLED: 'true',
      FNSP_BASE_URL: fnsp.baseUrl,
      FNSP_API_KEY: FAKE_FNSP_KEY,
      FNSP_API_KEY_HEADER: FAKE_FNSP_KEY_HEADER,
    };
    replicas.push(...(await Promise.all([startReplica(env), startReplica(env), startReplica(env)])));
  }, 120_000);

  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await hpr?.close();
    await helfo?.close();
    await fnsp?.close();
    await redis?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('the Helserefusjon data are fetched by one replica and taken from Redis by the others', async () => {
    // one retrieval asks /v1/takstkoder once; three replicas alone would have asked three times
    expect(helfo.calls('/v1/takstkoder')).toBe(1);
    const loaded = replicas.map((r) => r.lines.filter((l) => l.includes('"msg":"helserefusjon data loaded"')));
    const from = loaded.map((lines) => (JSON.parse(lines[0] ?? '{}') as { from?: string }).from).sort();
    expect(from).toEqual(['shared', 'shared', 'upstream']);
  });

  test('FNSP and the bandagist list are downloaded once for the three replicas', async () => {
    let states: string[] = [];
    for (let i = 0; i < 300; i++) {
      const all = await Promise.all(replicas.map(readyz));
      states = all.flatMap((z) => [z.directory?.fnsp?.state ?? '?', z.directory?.bandagists?.state ?? '?']);
      if (states.every((s) => s === 'ready')) break;
      await sleep(50);
    }
    expect(states).toEqual(Array(6).fill('ready'));
    expect(fnsp.count('/nedlastning')).toBe(1);
    expect(helfo.calls('/v1/bandasjister')).toBe(1);
    // and every replica serves the same directory
    const totals = await Promise.all(
      replicas.map(async (r) => {
        const res = await fetch(`${r.base}/fhir/HealthcareService?_count=100`, {
          headers: { accept: 'application/fhir+json' },
        });
        return ((await res.json()) as { entry?: unknown[] }).entry?.length ?? 0;
      }),
    );
    expect(new Set(totals).size).toBe(1);
    expect(totals[0]).toBeGreaterThan(0);
  });

  test('(a) one person read through the three replicas costs one HPR call', async () => {
    const [a, b, c] = replicas;
    const one = '900000001';
    for (const r of [a, b, c]) expect((await person(r, one)).status).toBe(200);
    expect(hpr.stats.byNumber.get(one)).toBe(1);

    // asked of all three at once: one replica holds the lock, the others wait for its answer
    const two = '900000002';
    const statuses = await Promise.all([a, b, c, a, b, c].map(async (r) => (await person(r, two)).status));
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expect(hpr.stats.byNumber.get(two)).toBe(1);

    // an unknown number is remembered across the replicas too (HPR_NOT_FOUND_TTL)
    for (const r of [a, b, c]) expect((await person(r, 999999999)).status).toBe(404);
    expect(hpr.stats.byNumber.get('999999999')).toBe(1);
  });

  test('(c) a Redis outage: every replica keeps answering alone, /readyz says so, and sharing resumes', async () => {
    const [a, b, c] = replicas;
    await redis.kill();
    expect(await redisStateEverywhere('down')).toEqual(['down', 'down', 'down']);

    // cached persons and the terminology are answered as before
    for (const r of replicas) {
      expect((await person(r, '900000001')).status).toBe(200);
      const cs = await fetch(`${r.base}/fhir/CodeSystem?_summary=count`);
      expect(cs.status).toBe(200);
    }
    // new persons are fetched alone, each replica within its share of HPR's budget
    const alone = await Promise.all(replicas.map(async (r, i) => (await person(r, 910_000_000 + BULK + i)).status));
    expect(alone).toEqual([200, 200, 200]);
    const metrics = await (await fetch(`${a.base}/metrics`)).text();
    expect(metrics).toMatch(/^nofhir_redis_up 0$/m);

    await redis.restart();
    expect(await redisStateEverywhere('up')).toEqual(['up', 'up', 'up']);
    expect(await (await fetch(`${b.base}/metrics`)).text()).toMatch(/^nofhir_redis_up 1$/m);

    // shared again: a new person through the three replicas is one HPR call
    const three = '900000003';
    for (const r of [a, b, c]) expect((await person(r, three)).status).toBe(200);
    expect(hpr.stats.byNumber.get(three)).toBe(1);
    expect(hpr.stats.rateLimited).toBe(0);
  });

  test('(b) 300 new persons spread over the replicas: HPR’s bucket is never overrun', async () => {
    const before = hpr.stats.rateLimited;
    const statuses: number[] = [];
    let next = 0;
    // twelve clients at a time, each request to the next replica in turn
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        for (let i = next++; i < BULK; i = next++) {
          const res = await person(replicas[i % 3], 910_000_000 + i);
          await res.arrayBuffer();
          statuses.push(res.status);
        }
      }),
    );
    const served = statuses.filter((s) => s === 200).length;
    const refused = statuses.filter((s) => s === 429).length;
    expect(served + refused).toBe(BULK);
    expect(served).toBeGreaterThanOrEqual(150);
    expect(hpr.stats.rateLimited - before).toBeLessThanOrEqual(3);
    // each served person was one HPR call, whichever replica asked
    for (let i = 0; i < BULK; i++) expect(hpr.stats.byNumber.get(String(910_000_000 + i)) ?? 0).toBeLessThanOrEqual(1);
    console.log(
      `replicas: ${served} of ${BULK} new persons served, ${refused} refused with 429 by our budget, ` +
        `HPR answered 429 ${hpr.stats.rateLimited - before} times; HPR calls in all: ${hpr.stats.hprServed}`,
    );
  });
});
