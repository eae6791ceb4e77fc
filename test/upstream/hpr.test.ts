import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { UpstreamError } from '../../src/upstream/errors.ts';
import {
  createHprClient,
  HPR_SEARCH_QUERY,
  type HprClientOptions,
  parseHprPerson,
  parseHprSearch,
} from '../../src/upstream/hpr.ts';
import { createMaskinportenClient, type MaskinportenClient } from '../../src/upstream/maskinporten.ts';
import { TokenBucket } from '../../src/upstream/rate-limit.ts';
import { type FakeHprServer, startFakeHpr, type TestClientKey, testClientKey } from '../fakes/hpr-server.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/hpr');
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

function badResponse(fn: () => unknown): UpstreamError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).code).toBe('UPSTREAM_BAD_RESPONSE');
    return err as UpstreamError;
  }
  throw new Error('expected UPSTREAM_BAD_RESPONSE');
}

describe('parseHprPerson: tolerant DTOs', () => {
  test('every field of the person model', () => {
    const dto = parseHprPerson(fixture('person-full.json'));
    expect(dto.hprNummer).toBe('900000101');
    expect(dto.person).toEqual({
      fornavn: 'Fiktiv Fullstendig',
      mellomnavn: 'Mellom',
      etternavn: 'Eksempelsen-Prøve',
      fødselsdato: '1971-07-01T00:00:00',
      dødsdato: null,
    });
    expect(dto.sistOppdatert).toBe('2024-06-15T14:30:05.123');
    expect(dto.godkjenninger).toHaveLength(2);
    const [g] = dto.godkjenninger;
    // kodeverk.id is a number in some answers and a string in others: text either way
    expect(g.helsepersonellkategori).toEqual({
      verdi: 'LE',
      navn: 'Lege',
      kodeverk: { id: '9060', navn: 'Kategori helsepersonell' },
    });
    expect(g.autorisasjon?.kodeverk?.id).toBe('7704');
    expect(g.periode).toEqual({ fra: '1998-01-15', til: null });
    expect(g.spesialistgodkjenninger.map((s) => s.type?.verdi)).toEqual(['1', '152', '99']);
    expect(g.tilleggskompetanser[1].type?.kodeverk).toBeNull();
    expect(g.vilkår).toEqual([
      { type: { verdi: '3', navn: 'Syntetisk vilkår', kodeverk: { id: '7703', navn: null } } },
    ]);
    expect(g.rekvisisjonsretter[0].administrativeReaksjoner).toEqual([]);
  });

  test('a fødselsnummer is never read', () => {
    const dto = parseHprPerson(fixture('person-full.json'));
    const text = JSON.stringify(dto);
    expect(text).not.toContain('99070100000');
    expect(text).not.toMatch(/"nin"|manglerNin/);
    expect(JSON.stringify(parseHprPerson(fixture('person-minimal.json')))).not.toContain('12345678901');
  });

  test('the minimal answer NAV accepts: absent lists are empty', () => {
    expect(parseHprPerson(fixture('person-minimal.json'))).toEqual({
      hprNummer: '69420',
      erstattetAvHprNummer: null,
      person: { fornavn: 'Liten', mellomnavn: null, etternavn: 'Tester', fødselsdato: null, dødsdato: null },
      godkjenninger: [],
      administrativeReaksjoner: [],
      sistOppdatert: null,
      gjelderForDato: null,
    });
  });

  test('ASCII keys, a string hprNummer, null lists and null items', () => {
    const dto = parseHprPerson(fixture('person-tolerant.json'));
    expect(dto.hprNummer).toBe('900000102');
    expect(dto.person?.fødselsdato).toBe('1982-02-02');
    const [g] = dto.godkjenninger;
    expect(g.rekvisisjonsretter).toEqual([]);
    expect(g.tilleggskompetanser).toEqual([]);
    expect(g.administrativeReaksjoner).toEqual([]);
    expect(g.autorisasjon?.kodeverk).toBeNull();
    expect(g.vilkår[0].type?.navn).toBe('Vilkår i ASCII');
    expect(dto.administrativeReaksjoner).toEqual([]);
  });

  test.each<[string, unknown, string]>([
    ['no hprNummer', { person: {} }, 'person.hprNummer: missing'],
    ['a hprNummer with letters', { hprNummer: '12a' }, 'person.hprNummer: expected digits'],
    ['a list that is not a list', { hprNummer: 1, godkjenninger: {} }, 'person.godkjenninger: expected a list'],
    [
      'a code that is not an object',
      { hprNummer: 1, godkjenninger: [{ autorisasjon: 'x' }] },
      'person.godkjenninger[0].autorisasjon: expected an object, got "x"',
    ],
    [
      'an impossible date',
      { hprNummer: 1, person: { fødselsdato: '2020-02-30' } },
      'person.person.fødselsdato: not a valid date: "2020-02-30"',
    ],
    ['not an object', [1], 'person: expected an object, got an array'],
  ])('%s is a bad response', (_name, json, reason) => {
    expect(badResponse(() => parseHprPerson(json)).reason).toBe(reason);
  });
});

describe('parseHprSearch', () => {
  test.each<[string, unknown, string[]]>([
    ['a bare array', [{ hprNummer: 1 }, { hprNummer: '2' }], ['1', '2']],
    ['a wrapper with one list', fixture('search-wrapped.json'), ['900000103']],
    ['one person', { hprNummer: 3 }, ['3']],
    ['an empty array', [], []],
  ])('%s', (_name, json, numbers) => {
    expect(parseHprSearch(json).map((p) => p.hprNummer)).toEqual(numbers);
  });

  test.each<[string, unknown, string]>([
    ['no list', { antall: 0 }, 'search: no list of persons in the answer'],
    ['two lists', { a: [], b: [] }, 'search: several lists in the answer'],
    ['a string', 'x', 'search: expected a JSON array or object, got string'],
  ])('%s is a bad response', (_name, json, reason) => {
    expect(badResponse(() => parseHprSearch(json)).reason).toBe(reason);
  });
});

describe('HPR client against the fake HPR', () => {
  const clock = { t: Date.UTC(2026, 0, 15, 9, 0, 0) };
  let key: TestClientKey;
  let fake: FakeHprServer;
  let agent: Agent;

  beforeAll(async () => {
    key = testClientKey();
    fake = await startFakeHpr({ now: () => clock.t, clients: [key.client], bucket: { capacity: 3, refill: 1 } });
    agent = new Agent();
  });
  afterAll(async () => {
    await fake.close();
    await agent.close();
  });
  beforeEach(() => {
    clock.t += 3_600_000; // a full HPR bucket and expired tokens
    fake.setHprOutage(undefined);
    fake.stats.hprRequests = 0;
    fake.stats.tokenRequests = 0;
  });

  function setup(overrides: Partial<HprClientOptions> & { scope?: string } = {}) {
    const tokens: MaskinportenClient = createMaskinportenClient({
      issuer: fake.issuer,
      tokenEndpoint: fake.tokenEndpoint,
      clientId: key.clientId,
      kid: key.kid,
      privateKey: createPrivateKey(key.privateKeyPem),
      scope: overrides.scope ?? 'nhn:hpr/basic',
      dispatcher: agent,
      now: () => clock.t,
    });
    const bucket = new TokenBucket({ capacity: 200, refillAmount: 10, refillIntervalMs: 60_000, now: () => clock.t });
    const client = createHprClient({
      dispatcher: agent,
      tokens,
      bucket,
      baseUrl: fake.hprBaseUrl,
      sleep: async () => {},
      now: () => clock.t,
      ...overrides,
    });
    return { client, bucket, tokens };
  }

  test('GET /v1/personer/{n} with the bearer token', async () => {
    const { client } = setup();
    const dto = await client.getPerson('900000001');
    expect(dto?.person?.etternavn).toBe('Legesen');
    expect(fake.stats.byNumber.get('900000001')).toBeGreaterThan(0);
    expect(client.calls).toBe(1);
  });

  test('404 is null', async () => {
    const { client } = setup();
    expect(await client.getPerson('123456789')).toBeNull();
  });

  test(`search by ${HPR_SEARCH_QUERY.etternavn} and ${HPR_SEARCH_QUERY.fødselsdato}`, async () => {
    const { client } = setup();
    const found = await client.searchPersons('Navnesen', '1985-06-06');
    expect(found.map((p) => p.hprNummer).sort()).toEqual(['900000006', '900000007']);
  });

  test('the extended scope uses /v1/personerutvidet, and nin is still never read', async () => {
    const { client } = setup({ extended: true, scope: 'nhn:hpr/basic nhn:hpr/extended' });
    const dto = await client.getPerson('900000001');
    expect(dto?.hprNummer).toBe('900000001');
    expect(JSON.stringify(dto)).not.toContain('99900000001');
  });

  test('a 401 renews the token once', async () => {
    const { client } = setup();
    await client.getPerson('900000001');
    fake.revokeTokens();
    expect((await client.getPerson('900000002'))?.hprNummer).toBe('900000002');
    expect(fake.stats.tokenRequests).toBe(2);
    expect(client.calls).toBe(3);
  });

  test('an HPR 429 blocks our bucket until its Retry-After', async () => {
    // the fake's bucket holds 3; ours believes 200
    const { client, bucket } = setup();
    for (const n of ['900000001', '900000002', '900000003']) await client.getPerson(n);
    const err = await client.getPerson('900000004').catch((e: unknown) => e as UpstreamError);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).code).toBe('UPSTREAM_RATE_LIMITED');
    expect((err as UpstreamError).status).toBe(429);
    expect((err as UpstreamError).retryAfterMs).toBe(60_000);
    expect(bucket.available()).toBe(0);
    const before = fake.stats.hprRequests;
    const again = await client.getPerson('900000004').catch((e: unknown) => e as UpstreamError);
    expect((again as UpstreamError).code).toBe('UPSTREAM_RATE_LIMITED');
    expect((again as UpstreamError).status).toBeUndefined();
    expect(fake.stats.hprRequests).toBe(before);
    clock.t += 60_000;
    expect((await client.getPerson('900000004'))?.hprNummer).toBe('900000004');
  });

  test('an empty bucket: HPR is not called, and neither is Maskinporten', async () => {
    const { client, bucket } = setup();
    while (bucket.tryTake().ok) {}
    const err = (await client.getPerson('900000001').catch((e: unknown) => e)) as UpstreamError;
    expect(err.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(60_000);
    expect(err.message).toContain('HPR was not called');
    expect(fake.stats.hprRequests).toBe(0);
    expect(fake.stats.tokenRequests).toBe(0);
  });

  test('an outage: one retry (taking a token), then UPSTREAM_UNAVAILABLE', async () => {
    const { client, bucket } = setup();
    fake.setHprOutage(503);
    const err = (await client.getPerson('900000001').catch((e: unknown) => e)) as UpstreamError;
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(err.httpStatus).toBe(503);
    expect(fake.stats.hprRequests).toBe(2);
    expect(bucket.available()).toBe(198);
    expect(err.message).not.toContain('http');
  });
});
