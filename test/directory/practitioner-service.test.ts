import { afterEach, describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { bulkPerson, SYNTHETIC_PERSONS } from '../fakes/hpr-persons.ts';
import { expectValidFhir } from '../support/fhir.ts';
import { type Harness, startHarness } from './harness.ts';

const HOUR = 3_600_000;
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function outcomeError(p: Promise<unknown>): Promise<OperationOutcomeError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(OperationOutcomeError);
    expectValidFhir((err as OperationOutcomeError).outcome);
    return err as OperationOutcomeError;
  }
  throw new Error('expected an OperationOutcomeError');
}

const SYNTHETIC_NUMBERS = SYNTHETIC_PERSONS.map((p) => String(p.hprNummer));

describe('caching and coalescing', () => {
  test('one Maskinporten token for many HPR calls', async () => {
    h = await startHarness();
    for (const n of SYNTHETIC_NUMBERS) await h.service.read(n);
    await Promise.all(SYNTHETIC_NUMBERS.map((n) => h?.service.read(n)));
    await h.service.search('Navnesen', '1985-06-06');
    expect(h.fake.stats.hprServed).toBe(SYNTHETIC_NUMBERS.length + 1);
    expect(h.fake.stats.tokenRequests).toBe(1);
    expect(h.fake.grants).toHaveLength(1);
  });

  test('400 concurrent look-ups of 20 persons make at most 20 HPR calls', async () => {
    const persons = Array.from({ length: 20 }, (_, i) => bulkPerson(i));
    h = await startHarness({ persons });
    const release = h.fake.hold();
    const numbers = persons.map((p) => String(p.hprNummer));
    const lookups = Array.from({ length: 400 }, (_, i) => h?.service.read(numbers[i % 20]));
    // let every look-up reach the service before HPR answers anything
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    const results = await Promise.all(lookups);
    expect(results.every((r) => r?.practitioner.resourceType === 'Practitioner')).toBe(true);
    expect(h.fake.stats.hprServed).toBe(20);
    expect(h.fake.stats.maxInFlight).toBeLessThanOrEqual(20);
    // and later look-ups come from the cache
    await Promise.all(numbers.map((n) => h?.service.read(n)));
    expect(h.fake.stats.hprServed).toBe(20);
    expect(h.service.stats()).toMatchObject({ cachedPersons: 20, inflight: 0, hprCalls: 20, tokenRequests: 1 });
  });

  test('the TTL: 24 h by default', async () => {
    h = await startHarness();
    await h.service.read('900000001');
    h.clock.t += 24 * HOUR - 1;
    expect((await h.service.read('900000001')).ageSeconds).toBe(24 * 3600 - 1);
    expect(h.fake.stats.hprServed).toBe(1);
    h.clock.t += 1;
    const fresh = await h.service.read('900000001');
    expect(fresh).toMatchObject({ stale: false, ageSeconds: 0 });
    expect(h.fake.stats.hprServed).toBe(2);
  });

  test('a 404 is cached briefly (10 min by default)', async () => {
    h = await startHarness();
    expect((await outcomeError(h.service.read('123456789'))).status).toBe(404);
    expect((await outcomeError(h.service.read('123456789'))).status).toBe(404);
    expect(h.fake.stats.hprServed).toBe(1);
    h.clock.t += 10 * 60_000;
    await outcomeError(h.service.read('123456789'));
    expect(h.fake.stats.hprServed).toBe(2);
  });

  test('a malformed HPR number is a 404 without an HPR call', async () => {
    h = await startHarness();
    for (const id of ['abc', '0123', '12345678901', '']) {
      const err = await outcomeError(h.service.read(id));
      expect(err.status).toBe(404);
    }
    expect(h.fake.stats.hprRequests).toBe(0);
  });

  test('a search is cached, fills the person cache, and filters what HPR returns', async () => {
    h = await startHarness();
    const found = await h.service.search('navnesen', '1985-06-06');
    expect(found.map((p) => p.id)).toEqual(['900000006', '900000007']);
    for (const p of found) expectValidFhir(p);
    await h.service.search('NAVNESEN', '1985-06-06');
    await h.service.read('900000006');
    expect(h.fake.stats.hprServed).toBe(1);
    // the fake matches whole surnames; the service keeps FHIR's "starts with" on what comes back
    expect(await h.service.search('navne', '1985-06-06')).toEqual([]);
    expect(await h.service.search('Navnesen', '1985-06-07')).toEqual([]);
  });
});

describe('HPR’s rate limit is never overrun', () => {
  test('300 concurrent look-ups of new persons: 200 answered, 100 refused with Retry-After, no HPR 429', async () => {
    const persons = Array.from({ length: 320 }, (_, i) => bulkPerson(i));
    h = await startHarness({ persons });
    const settled = await Promise.allSettled(persons.slice(0, 300).map((p) => h?.service.read(String(p.hprNummer))));
    const ok = settled.filter((s) => s.status === 'fulfilled');
    const refused = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as OperationOutcomeError] : []));
    expect(ok).toHaveLength(200);
    expect(refused).toHaveLength(100);
    for (const err of refused) {
      expect(err).toBeInstanceOf(OperationOutcomeError);
      expect(err.status).toBe(429);
      expect(err.headers['Retry-After']).toBe('60');
      expect(err.outcome.issue?.[0]?.code).toBe('throttled');
    }
    expect(h.fake.stats.hprRequests).toBe(200);
    expect(h.fake.stats.rateLimited).toBe(0);

    // a minute later HPR has 10 more, and so do we
    h.clock.t += 60_000;
    const next = await Promise.allSettled(persons.slice(300, 311).map((p) => h?.service.read(String(p.hprNummer))));
    expect(next.filter((s) => s.status === 'fulfilled')).toHaveLength(10);
    expect(h.fake.stats.hprRequests).toBe(210);
    expect(h.fake.stats.rateLimited).toBe(0);
    expect(h.fake.bucketLeft(h.key.clientId)).toBe(0);
  });

  test('an empty bucket still serves cached persons, stale ones included', async () => {
    h = await startHarness({ env: { HPR_RATE_LIMIT_CAPACITY: '3' } });
    for (const n of SYNTHETIC_NUMBERS.slice(0, 3)) await h.service.read(n);
    h.clock.t += 25 * HOUR; // past the TTL; the bucket refills 10 per minute, so empty it again
    const more = Array.from({ length: 3 }, (_, i) => bulkPerson(i));
    for (const p of more) h.fake.persons.set(String(p.hprNummer), p);
    for (const p of more) await h.service.read(String(p.hprNummer));
    const before = h.fake.stats.hprRequests;
    const read = await h.service.read(SYNTHETIC_NUMBERS[0]);
    expect(read.stale).toBe(true);
    expect(read.ageSeconds).toBe(25 * 3600);
    expect(h.fake.stats.hprRequests).toBe(before);
    // a person never fetched cannot be answered
    expect((await outcomeError(h.service.read(SYNTHETIC_NUMBERS[5]))).status).toBe(429);
  });

  test('an HPR 429 (another instance used the budget) blocks us until its Retry-After', async () => {
    h = await startHarness({ bucket: { capacity: 2, refill: 1 } });
    await h.service.read(SYNTHETIC_NUMBERS[0]);
    await h.service.read(SYNTHETIC_NUMBERS[1]);
    const err = await outcomeError(h.service.read(SYNTHETIC_NUMBERS[2]));
    expect(err.status).toBe(429);
    expect(err.headers['Retry-After']).toBe('60');
    expect(h.fake.stats.rateLimited).toBe(1);
    await outcomeError(h.service.read(SYNTHETIC_NUMBERS[3]));
    expect(h.fake.stats.rateLimited).toBe(1);
  });
});

describe('an HPR outage', () => {
  test('cached persons are still served; the rest get 503 with Retry-After', async () => {
    h = await startHarness();
    await h.service.read('900000001');
    await h.service.search('Navnesen', '1985-06-06');
    h.clock.t += 30 * HOUR;
    h.fake.setHprOutage(503);
    const read = await h.service.read('900000001');
    expect(read).toMatchObject({ stale: true, ageSeconds: 30 * 3600 });
    expect(read.practitioner.id).toBe('900000001');
    expect((await h.service.search('Navnesen', '1985-06-06')).map((p) => p.id)).toEqual(['900000006', '900000007']);
    const err = await outcomeError(h.service.read('900000002'));
    expect(err.status).toBe(503);
    expect(err.headers['Retry-After']).toBeDefined();
    expect(err.outcome.issue?.[0]?.details?.text).toBe('Upstream hpr is unavailable (HTTP 503)');
    expect(h.service.stats().staleServed).toBe(2);
    expect(h.logLines.some((l) => l.includes('"level":"warn"') && l.includes('hpr person look-up failed'))).toBe(true);
  });

  test('after an outage is seen, stale persons are served without waiting for HPR', async () => {
    h = await startHarness();
    await h.service.read('900000001');
    h.clock.t += 25 * HOUR;
    h.fake.setHprOutage(503);
    await h.service.read('900000001');
    const calls = h.fake.stats.hprRequests;
    await h.service.read('900000001');
    expect(h.fake.stats.hprRequests).toBe(calls);
    h.clock.t += 30_000;
    h.fake.setHprOutage(undefined);
    expect((await h.service.read('900000001')).stale).toBe(false);
  });

  test('a person is not served beyond HPR_CACHE_MAX_STALE', async () => {
    h = await startHarness({ env: { HPR_CACHE_MAX_STALE: '1h' } });
    await h.service.read('900000001');
    h.clock.t += 25 * HOUR + 1;
    h.fake.setHprOutage(503);
    expect((await outcomeError(h.service.read('900000001'))).status).toBe(503);
  });
});

describe('Maskinporten and credentials', () => {
  test('a refused grant is a 502 that names the error codes, not the key or the grant', async () => {
    h = await startHarness({ env: { MASKINPORTEN_CLIENT_ID: 'not-registered' } });
    const err = await outcomeError(h.service.read('900000001'));
    expect(err.status).toBe(502);
    const text = err.outcome.issue?.[0]?.details?.text ?? '';
    expect(text).toBe(
      'Could not get a Maskinporten token for HPR: Upstream maskinporten refused our credentials (HTTP 400): invalid_grant (MP-100)',
    );
    expect(JSON.stringify(err.outcome)).not.toMatch(/PRIVATE KEY|eyJ|not-registered/);
    expect(h.fake.stats.hprRequests).toBe(0);
  });

  test('a Maskinporten outage is a 503', async () => {
    h = await startHarness();
    h.fake.setMaskinportenOutage(503);
    expect((await outcomeError(h.service.read('900000001'))).status).toBe(503);
  });

  test('without credentials: 503 naming the missing settings', async () => {
    h = await startHarness({ unconfigured: true, env: { MASKINPORTEN_KID: 'kid-value-never-shown' } });
    expect(h.service.status).toEqual({
      configured: false,
      missing: ['MASKINPORTEN_CLIENT_ID', 'MASKINPORTEN_PRIVATE_KEY (or MASKINPORTEN_PRIVATE_KEY_FILE)'],
    });
    const err = await outcomeError(h.service.read('900000001'));
    expect(err.status).toBe(503);
    expect(err.outcome.issue?.[0]?.details?.text).toBe(
      'Practitioner look-ups in HPR are not configured on this server. Missing settings: MASKINPORTEN_CLIENT_ID, MASKINPORTEN_PRIVATE_KEY (or MASKINPORTEN_PRIVATE_KEY_FILE)',
    );
    expect(JSON.stringify(err.outcome)).not.toContain('kid-value-never-shown');
    expect((await outcomeError(h.service.search('a', '2000-01-01'))).status).toBe(503);
  });

  test('the extended scope: personerutvidet, and still no fødselsnummer', async () => {
    h = await startHarness({ env: { HPR_SCOPE: 'nhn:hpr/basic nhn:hpr/extended' } });
    expect(h.service.status).toEqual({ configured: true, extended: true, synthetic: false });
    const read = await h.service.read('900000001');
    // HPR's public address, never the configured (here: fake) one
    expect(read.practitioner.meta?.source).toBe('https://api.offentlig.hpr.nhn.no/v1/personerutvidet/900000001');
    expect(JSON.stringify(read.practitioner)).not.toContain(h.fake.hprBaseUrl);
    const all = JSON.stringify([read, await h.service.search('Navnesen', '1985-06-06')]);
    for (const p of SYNTHETIC_PERSONS) {
      const nin = (p.person as { nin: string }).nin;
      expect(nin).toMatch(/^\d{11}$/);
      expect(all).not.toContain(nin);
    }
  });

  test('HPR_SYNTHETIC_DATA tags every Practitioner as test data', async () => {
    h = await startHarness({ env: { HPR_SYNTHETIC_DATA: 'true' } });
    const { practitioner } = await h.service.read('900000001');
    expect(practitioner.meta?.tag?.map((t) => t.code)).toEqual(['HTEST', 'synthetic']);
  });
});
