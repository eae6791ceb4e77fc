import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config-error.ts';
import { localShare, SharedTokenBucket } from '../../src/shared/hpr-budget.ts';
import { type PersonEntry, SharedPersonStore } from '../../src/shared/person-store.ts';
import { redisServerName, SharedState } from '../../src/shared/redis.ts';
import { parseSharedConfig } from '../../src/shared/shared-config.ts';
import { SharedRefresh } from '../../src/shared/shared-refresh.ts';
import { UpstreamError } from '../../src/upstream/errors.ts';
import { parseDatasett, parseNettsteder } from '../../src/upstream/fnsp-dto.ts';
import { redisServerAvailable, startRedis, type TestRedis } from '../support/redis-server.ts';

const MINUTE = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('parseSharedConfig', () => {
  test('without REDIS_URL: alone, one replica', () => {
    expect(parseSharedConfig({})).toEqual({ keyPrefix: 'nff:', commandTimeoutMs: 250, replicas: 1 });
  });

  test('with REDIS_URL: two replicas expected unless REPLICAS says', () => {
    expect(parseSharedConfig({ REDIS_URL: 'redis://r:6379' }).replicas).toBe(2);
    expect(parseSharedConfig({ REDIS_URL: 'rediss://u:p@r:6380/2', REPLICAS: '6', REDIS_TIMEOUT: '100ms' })).toEqual({
      redisUrl: 'rediss://u:p@r:6380/2',
      keyPrefix: 'nff:',
      commandTimeoutMs: 100,
      replicas: 6,
    });
  });

  test.each([
    [{ REDIS_URL: 'http://r:6379' }, 'REDIS_URL must be a redis:// or rediss:// URL, not http:'],
    [{ REDIS_URL: 'redis://:s3cret@r:6379/x' }, 'REDIS_URL: the path must be a database number (e.g. /0)'],
    [{ REDIS_URL: 'not a url s3cret' }, 'REDIS_URL must be a redis:// or rediss:// URL'],
    [{ REPLICAS: '0' }, 'REPLICAS must be a whole number between 1 and 1000'],
    [{ REDIS_TIMEOUT: '5ms' }, 'REDIS_TIMEOUT must be a duration between'],
    [{ REDIS_KEY_PREFIX: 'a b' }, 'REDIS_KEY_PREFIX must be 1 to 64'],
  ])('%j is refused', (env, message) => {
    expect(() => parseSharedConfig(env)).toThrow(ConfigError);
    expect(() => parseSharedConfig(env)).toThrow(message);
    // a password is never repeated
    expect(() => parseSharedConfig(env)).not.toThrow(/s3cret/);
  });

  test('the server name shown never carries the password', () => {
    expect(redisServerName('redis://user:s3cret@cache.internal:6380/1')).toBe('cache.internal:6380');
  });
});

describe('localShare', () => {
  test.each([
    [1, { capacity: 200, refillAmount: 10, refillIntervalMs: MINUTE }],
    [3, { capacity: 66, refillAmount: 3, refillIntervalMs: MINUTE }],
    [20, { capacity: 10, refillAmount: 1, refillIntervalMs: 2 * MINUTE }],
    [300, { capacity: 1, refillAmount: 1, refillIntervalMs: 30 * MINUTE }],
  ])('HPR’s bucket over %i replicas', (replicas, share) => {
    expect(localShare({ capacity: 200, refillAmount: 10, refillIntervalMs: MINUTE }, replicas)).toEqual(share);
  });
});

describe.skipIf(!redisServerAvailable())('on a real Redis', () => {
  let redis: TestRedis;
  const links: SharedState[] = [];
  let prefix = 0;

  /** One replica's link; every test gets keys of its own. */
  async function link(keyPrefix = `t${prefix}:`): Promise<SharedState> {
    const s = new SharedState({ url: redis.url, commandTimeoutMs: 200, keyPrefix, openMs: 200 });
    links.push(s);
    await s.connect();
    return s;
  }

  async function until(cond: () => boolean): Promise<boolean> {
    for (let i = 0; i < 200 && !cond(); i++) await sleep(25);
    return cond();
  }

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    prefix++;
    await Promise.all(links.splice(0).map((l) => l.close()));
  });
  afterAll(async () => {
    await redis.stop();
  });

  const bucketOf = (shared: SharedState, replicas = 2) =>
    new SharedTokenBucket({
      shared,
      clientId: 'client-a',
      capacity: 5,
      refillAmount: 1,
      refillIntervalMs: MINUTE,
      replicas,
    });

  test('two replicas draw on one bucket: five tokens in all, then a wait', async () => {
    const [a, b] = [bucketOf(await link()), bucketOf(await link())];
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await (i % 2 === 0 ? a : b).tryTake());
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true, false]);
    expect(results.slice(0, 5).map((r) => (r.ok ? r.remaining : -1))).toEqual([4, 3, 2, 1, 0]);
    const last = results[5];
    expect(!last.ok && last.retryAfterMs > 0 && last.retryAfterMs <= MINUTE).toBe(true);
  });

  test('another Maskinporten client has a bucket of its own', async () => {
    const shared = await link();
    const a = bucketOf(shared);
    const other = new SharedTokenBucket({
      shared,
      clientId: 'client-b',
      capacity: 5,
      refillAmount: 1,
      refillIntervalMs: MINUTE,
      replicas: 2,
    });
    for (let i = 0; i < 5; i++) await a.tryTake();
    expect((await a.tryTake()).ok).toBe(false);
    expect(await other.tryTake()).toEqual({ ok: true, remaining: 4 });
  });

  test('an HPR 429 seen by one replica pauses the others', async () => {
    const [a, b] = [bucketOf(await link()), bucketOf(await link())];
    expect((await b.tryTake()).ok).toBe(true);
    a.block(30_000);
    let refused = await b.tryTake();
    for (let i = 0; i < 40 && refused.ok; i++) {
      await sleep(25);
      refused = await b.tryTake();
    }
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.retryAfterMs > MINUTE / 3).toBe(true);
  });

  test('Redis lost: a local share of what was left; back: the tokens taken alone are charged', async () => {
    const shared = await link();
    const a = bucketOf(shared, 2);
    for (let i = 0; i < 1; i++) expect((await a.tryTake()).ok).toBe(true);
    // 4 left in Redis; alone, this replica may take its half: 2
    await redis.kill();
    expect(await until(() => !shared.available)).toBe(true);
    const alone = [await a.tryTake(), await a.tryTake(), await a.tryTake()];
    expect(alone.map((r) => r.ok)).toEqual([true, true, false]);
    expect(a.localTakes).toBe(3);
    await redis.restart();
    expect(await until(() => shared.available)).toBe(true);
    // Redis came back empty: the bucket is made again from the 4 last heard of, less the 2 taken alone, less this one
    expect(await a.tryTake()).toEqual({ ok: true, remaining: 1 });
    expect(shared.status()).toMatchObject({ state: 'up', outages: 1 });
  });

  const entry = (n: string): PersonEntry => ({ dto: null, fetchedAt: Date.now() + Number(n) * 0 });

  test('single flight across replicas: one fetch for concurrent loads', async () => {
    const stores = await Promise.all(
      [0, 1, 2].map(async () => new SharedPersonStore({ shared: await link(), lockMs: 2000, keepMs: () => MINUTE })),
    );
    let fetches = 0;
    const fetch = async () => {
      fetches++;
      await sleep(100);
      return entry('1');
    };
    const got = await Promise.all(stores.map((s) => s.load('1', () => true, fetch)));
    expect(fetches).toBe(1);
    expect(got.map((g) => g.from).sort()).toEqual(['hpr', 'shared', 'shared']);
  });

  test('a lock holder that dies: the lock expires and a waiter fetches', async () => {
    const dead = await link();
    await dead.run((r) => r.set(dead.key('hpr', 'lock', '7'), 'gone', 'PX', 300, 'NX'));
    const store = new SharedPersonStore({ shared: await link(), lockMs: 300, keepMs: () => MINUTE });
    let fetches = 0;
    const got = await store.load(
      '7',
      () => true,
      async () => {
        fetches++;
        return entry('7');
      },
    );
    expect(fetches).toBe(1);
    expect(got.from).toBe('hpr');
  });

  test('a failed HPR call is noted in the lock: the waiters fail alike instead of calling HPR', async () => {
    const [a, b] = await Promise.all(
      [0, 1].map(async () => new SharedPersonStore({ shared: await link(), lockMs: 2000, keepMs: () => MINUTE })),
    );
    let fetches = 0;
    const failing = async (): Promise<PersonEntry> => {
      fetches++;
      await sleep(100);
      throw new UpstreamError('UPSTREAM_UNAVAILABLE', { upstream: 'hpr', status: 503 });
    };
    const results = await Promise.allSettled([a.load('9', () => true, failing), b.load('9', () => true, failing)]);
    expect(fetches).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of results)
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  test('one refresher at a time: the others take its result; Redis down: each fetches alone', async () => {
    const refreshers = await Promise.all(
      [0, 1, 2].map(async () => new SharedRefresh({ shared: await link(), pollMs: 25, leaseMs: 1000 })),
    );
    let fetches = 0;
    const spec = {
      name: 'demo',
      maxAgeMs: MINUTE,
      fetch: async () => {
        fetches++;
        await sleep(150);
        return { fetchedAt: Date.now(), rows: [1, 2, 3] };
      },
      encode: (v: { fetchedAt: number; rows: number[] }) => JSON.stringify(v),
      decode: (t: string) => JSON.parse(t) as { fetchedAt: number; rows: number[] },
      fetchedAt: (v: { fetchedAt: number }) => v.fetchedAt,
    };
    const got = await Promise.all(refreshers.map((r) => r.run(spec)));
    expect(fetches).toBe(1);
    expect(got.map((g) => g.from).sort()).toEqual(['shared', 'shared', 'upstream']);
    expect(got.every((g) => g.value.rows.length === 3)).toBe(true);

    // a stored result older than the interval is fetched again, once
    const old = await Promise.all(refreshers.map((r) => r.run({ ...spec, maxAgeMs: 1 })));
    expect(fetches).toBe(2);
    expect(old.filter((g) => g.from === 'upstream')).toHaveLength(1);

    await redis.kill();
    await until(() => refreshers.every((_, i) => !links[i].available));
    const alone = await Promise.all(refreshers.map((r) => r.run(spec)));
    expect(alone.map((g) => g.from)).toEqual(['alone', 'alone', 'alone']);
    expect(fetches).toBe(5);
    await redis.restart();
  });
});

describe('FNSP as stored in Redis', () => {
  test('the parsed dataset and sites read back through the same parsers unchanged', () => {
    const fixture = (name: string) =>
      JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'fnsp', name), 'utf8')) as unknown;
    const { value } = parseDatasett(fixture('datasett.json'));
    const sites = parseNettsteder(fixture('nettsteder.json'));
    expect(parseDatasett(JSON.parse(JSON.stringify(value))).value).toEqual(value);
    expect(parseNettsteder(JSON.parse(JSON.stringify(sites)))).toEqual(sites);
  });
});
