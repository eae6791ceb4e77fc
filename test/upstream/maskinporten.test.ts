import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { Agent, MockAgent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { UpstreamError } from '../../src/upstream/errors.ts';
import {
  createGrant,
  createMaskinportenClient,
  JWT_BEARER_GRANT_TYPE,
  type MaskinportenClientOptions,
} from '../../src/upstream/maskinporten.ts';
import { type FakeHprServer, startFakeHpr, type TestClientKey, testClientKey } from '../fakes/hpr-server.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/hpr');
const START = Date.UTC(2026, 0, 15, 9, 0, 0);

let clock: { t: number };
let key: TestClientKey;
let certKey: { pem: string; cert: X509Certificate };
let fake: FakeHprServer;
let agent: Agent;

beforeAll(async () => {
  clock = { t: START };
  key = testClientKey({ scopes: ['nhn:hpr/basic'] });
  certKey = {
    pem: readFileSync(join(FIXTURES, 'test-virksomhet-key.pem'), 'utf8'),
    cert: new X509Certificate(readFileSync(join(FIXTURES, 'test-virksomhet-cert.pem'))),
  };
  fake = await startFakeHpr({
    now: () => clock.t,
    tokenLifetimeS: 599,
    clients: [
      key.client,
      {
        clientId: 'cert-client',
        publicKey: certKey.cert.publicKey,
        certificate: certKey.cert.raw.toString('base64'),
        scopes: ['nhn:hpr/basic'],
      },
    ],
  });
  agent = new Agent();
});

afterAll(async () => {
  await fake.close();
  await agent.close();
});

beforeEach(() => {
  clock.t += 3_600_000; // each test in its own hour: tokens of earlier tests have expired
  fake.grants.length = 0;
  fake.refusals.length = 0;
  fake.stats.tokenRequests = 0;
  fake.setMaskinportenOutage(undefined);
});

function options(overrides: Partial<MaskinportenClientOptions> = {}): MaskinportenClientOptions {
  return {
    issuer: fake.issuer,
    tokenEndpoint: fake.tokenEndpoint,
    clientId: key.clientId,
    kid: key.kid,
    privateKey: createPrivateKey(key.privateKeyPem),
    scope: 'nhn:hpr/basic',
    dispatcher: agent,
    now: () => clock.t,
    ...overrides,
  };
}

async function upstreamError(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamError);
    return err as UpstreamError;
  }
  throw new Error('expected an UpstreamError');
}

describe('the JWT grant, as the fake Maskinporten verifies it with the client’s public key', () => {
  test('kid: RS256, aud = issuer, iss = client id, scope, lifetime ≤ 120 s, a jti', async () => {
    const client = createMaskinportenClient(options());
    const token = await client.getToken();
    expect(token).toMatch(/^[\w-]{20,}$/);
    expect(fake.refusals).toEqual([]);
    expect(fake.grants).toHaveLength(1);
    const [{ header, payload }] = fake.grants;
    expect(header).toEqual({ alg: 'RS256', kid: key.kid });
    expect(payload.aud).toBe(fake.issuer);
    expect(payload.iss).toBe(key.clientId);
    expect(payload.scope).toBe('nhn:hpr/basic');
    expect(payload.iat).toBe(Math.floor(clock.t / 1000));
    expect((payload.exp as number) - (payload.iat as number)).toBeLessThanOrEqual(120);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('x5c: a certificate chain replaces kid', async () => {
    const client = createMaskinportenClient(
      options({
        clientId: 'cert-client',
        kid: undefined,
        privateKey: createPrivateKey(certKey.pem),
        certChain: [certKey.cert.raw.toString('base64')],
      }),
    );
    await client.getToken();
    expect(fake.refusals).toEqual([]);
    expect(fake.grants[0].header).toEqual({ alg: 'RS256', x5c: [certKey.cert.raw.toString('base64')] });
    expect(fake.grants[0].payload.iss).toBe('cert-client');
  });

  test('every grant has a fresh jti, and a grant used twice is refused (MP-012)', async () => {
    const client = createMaskinportenClient(options());
    const first = await client.getToken();
    client.invalidate(first);
    await client.getToken();
    expect(fake.grants).toHaveLength(2);
    expect(fake.grants[0].payload.jti).not.toBe(fake.grants[1].payload.jti);

    const grant = await createGrant(options(), clock.t);
    const post = () =>
      fetch(fake.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: grant }),
      });
    expect((await post()).status).toBe(200);
    const again = await post();
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ error: 'invalid_grant', error_description: 'MP-012 Grant is used before.' });
  });

  interface BadGrant {
    lifetime?: number;
    aud?: string;
    kid?: string;
    iatOffset?: number;
  }
  test.each<[string, BadGrant, string]>([
    ['a lifetime over 120 s', { lifetime: 121 }, 'exp is more than 120 seconds after iat'],
    ['another audience', { aud: 'https://maskinporten.no/' }, 'MP-110'],
    ['an unknown kid', { kid: 'other-key' }, 'MP-100'],
    ['an iat 60 s off', { iatOffset: 60 }, 'iat is not within 10 seconds'],
  ])('the fake refuses %s', async (_name, bad, expected) => {
    const iat = Math.floor(clock.t / 1000) + (bad.iatOffset ?? 0);
    const grant = await new SignJWT({ scope: 'nhn:hpr/basic' })
      .setProtectedHeader({ alg: 'RS256', kid: bad.kid ?? key.kid })
      .setAudience(bad.aud ?? fake.issuer)
      .setIssuer(key.clientId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + (bad.lifetime ?? 120))
      .setJti(crypto.randomUUID())
      .sign(createPrivateKey(key.privateKeyPem));
    const res = await fetch(fake.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT_TYPE, assertion: grant }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_description: string }).error_description).toContain(expected);
  });

  test('a grant signed with another key is refused', async () => {
    const other = testClientKey();
    const client = createMaskinportenClient(options({ privateKey: createPrivateKey(other.privateKeyPem) }));
    const err = await upstreamError(client.getToken());
    expect(err.code).toBe('UPSTREAM_UNAUTHORIZED');
    expect(fake.refusals[0].error).toBe('invalid_grant');
  });
});

describe('token cache', () => {
  test('one token for many calls, sequential and concurrent', async () => {
    const client = createMaskinportenClient(options());
    const first = await client.getToken();
    for (let i = 0; i < 100; i++) expect(await client.getToken()).toBe(first);
    const many = await Promise.all(Array.from({ length: 50 }, () => client.getToken()));
    expect(new Set(many)).toEqual(new Set([first]));
    expect(fake.stats.tokenRequests).toBe(1);
    expect(client.tokenRequests).toBe(1);
  });

  test('concurrent callers of an empty cache share one request', async () => {
    const client = createMaskinportenClient(options());
    const tokens = await Promise.all(Array.from({ length: 50 }, () => client.getToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(fake.stats.tokenRequests).toBe(1);
  });

  test('renewed shortly before expires_in (599 s, margin 30 s)', async () => {
    const client = createMaskinportenClient(options());
    const first = await client.getToken();
    clock.t += 568_000;
    expect(await client.getToken()).toBe(first);
    clock.t += 1_000;
    const second = await client.getToken();
    expect(second).not.toBe(first);
    expect(fake.stats.tokenRequests).toBe(2);
  });

  test('invalidate() forgets only the token it names', async () => {
    const client = createMaskinportenClient(options());
    const first = await client.getToken();
    client.invalidate('some-other-token');
    expect(await client.getToken()).toBe(first);
    client.invalidate(first);
    expect(await client.getToken()).not.toBe(first);
  });
});

describe('errors reveal no secret', () => {
  test('a refused client is a 502-class error naming the OAuth and MP codes only', async () => {
    const client = createMaskinportenClient(options({ clientId: 'unknown-client' }));
    const err = await upstreamError(client.getToken());
    expect(err.code).toBe('UPSTREAM_UNAUTHORIZED');
    expect(err.httpStatus).toBe(502);
    expect(err.upstream).toBe('maskinporten');
    expect(err.message).toBe('Upstream maskinporten refused our credentials (HTTP 400): invalid_grant (MP-100)');
    const everything = JSON.stringify({ message: err.message, log: err.toLogObject() });
    expect(everything).not.toContain('PRIVATE KEY');
    expect(everything).not.toMatch(/eyJ[\w-]+\.eyJ/); // no JWT (the grant)
    // Maskinporten's own description is not kept, not even for the log (it can repeat the client id)
    expect(everything).not.toContain('Invalid assertion');
    expect(everything).not.toContain('unknown-client');
  });

  test('a scope the client may not use is invalid_scope (MP-200)', async () => {
    const client = createMaskinportenClient(options({ scope: 'nhn:hpr/export' }));
    const err = await upstreamError(client.getToken());
    expect(err.message).toContain('invalid_scope (MP-200)');
  });

  test('a Maskinporten outage is a 503, remembered for the cool-down, then retried', async () => {
    fake.setMaskinportenOutage(503);
    const client = createMaskinportenClient(options({ failureCooldownMs: 5_000 }));
    const err = await upstreamError(client.getToken());
    expect(err.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(err.httpStatus).toBe(503);
    fake.setMaskinportenOutage(undefined);
    expect(await upstreamError(client.getToken())).toBe(err);
    expect(fake.stats.tokenRequests).toBe(1);
    clock.t += 5_000;
    await client.getToken();
    expect(fake.stats.tokenRequests).toBe(2);
  });

  test('no connection is UPSTREAM_UNAVAILABLE', async () => {
    const client = createMaskinportenClient(options({ tokenEndpoint: 'http://127.0.0.1:1/token' }));
    expect((await upstreamError(client.getToken())).code).toBe('UPSTREAM_UNAVAILABLE');
  });
});

describe('token answers that cannot be used (MockAgent)', () => {
  let mock: MockAgent;
  beforeEach(() => {
    mock = new MockAgent();
    mock.disableNetConnect();
  });
  afterEach(async () => {
    mock.assertNoPendingInterceptors();
    await mock.close();
  });

  test.each([
    ['no access_token', { token_type: 'Bearer', expires_in: 120 }, 'no access_token in the answer'],
    ['no expires_in', { access_token: 'abc', token_type: 'Bearer' }, 'no valid expires_in in the answer'],
    ['another token type', { access_token: 'abc', token_type: 'MAC', expires_in: 120 }, 'token_type is not Bearer'],
  ])('%s is a bad response', async (_name, body, reason) => {
    mock
      .get('https://maskinporten.example')
      .intercept({ path: '/token', method: 'POST' })
      .reply(200, body, { headers: { 'content-type': 'application/json' } });
    const client = createMaskinportenClient(
      options({
        dispatcher: mock,
        issuer: 'https://maskinporten.example/',
        tokenEndpoint: 'https://maskinporten.example/token',
      }),
    );
    const err = await upstreamError(client.getToken());
    expect(err.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(err.reason).toBe(reason);
  });

  test('the documented error answer', async () => {
    const body = JSON.parse(readFileSync(join(FIXTURES, 'maskinporten-error.json'), 'utf8'));
    mock
      .get('https://maskinporten.example')
      .intercept({ path: '/token', method: 'POST' })
      .reply(400, body, { headers: { 'content-type': 'application/json' } });
    const client = createMaskinportenClient(
      options({
        dispatcher: mock,
        issuer: 'https://maskinporten.example/',
        tokenEndpoint: 'https://maskinporten.example/token',
      }),
    );
    const err = await upstreamError(client.getToken());
    expect(err.reason).toBe('invalid_grant (MP-100)');
  });
});
