import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeProtectedHeader,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
  type ProtectedHeaderParameters,
} from 'jose';
import { HPR_BASIC_SCOPE, HPR_EXTENDED_SCOPE, HPR_SEARCH_QUERY } from '../../src/upstream/hpr.ts';
import { type RawHprPerson, SYNTHETIC_PERSONS } from './hpr-persons.ts';

/**
 * A fake Maskinporten and a fake HPR (Helsepersonellregisteret Offentlig API) on one loopback HTTP
 * server, for tests and the demo. No network.
 *
 * Maskinporten (`POST /token`) checks a JWT grant as Maskinporten documents it
 * (maskinporten_protocol_jwtgrant.md): `grant_type` jwt-bearer; the signature with the client's
 * registered public key (`kid`) or certificate (`x5c`); `aud` = the issuer, `iss` = a known client
 * id; `iat` within ±10 s of its clock and `exp − iat` ≤ 120 s; a `jti` never seen before (MP-012);
 * every `scope` allowed to the client. Errors are `{error, error_description}` with the documented
 * MP codes. A token lives `tokenLifetimeS` (default 120 s).
 *
 * HPR (`GET /v1/personer/{hprNummer}`, `GET /v1/personer?…`, and the `personerutvidet` twins for the
 * extended scope) checks the bearer token and its scope, then rate-limits per client exactly as
 * seed 002 describes HPR: a bucket of 200 refilled with 10 once a minute, 429 with Retry-After when
 * empty. The basic scope never returns `nin`; the extended one does (so tests can prove it is never
 * passed on). The search reads its parameters by the names src/upstream/hpr.ts assumes.
 *
 * Run it alone (`node test/fakes/hpr-server.ts [port]`) for a demo with the synthetic persons: it
 * prints the environment that points the service at it.
 */

export interface FakeClient {
  clientId: string;
  /** the id the client's key is registered under */
  kid?: string;
  publicKey: KeyObject;
  /** the registered certificate (base64 DER), for grants that carry `x5c` */
  certificate?: string;
  scopes: readonly string[];
}

export interface FakeHprOptions {
  clients: FakeClient[];
  /** raw HPR persons (default: the synthetic ones) */
  persons?: Iterable<RawHprPerson>;
  /** the clock in ms (default Date.now) */
  now?: () => number;
  /** lifetime of issued access tokens (default 120 s) */
  tokenLifetimeS?: number;
  /** HPR's bucket (default 200, refilled 10 per 60 s) */
  bucket?: { capacity?: number; refill?: number; intervalMs?: number };
  port?: number;
}

export interface VerifiedGrant {
  header: ProtectedHeaderParameters;
  payload: JWTPayload;
}

export interface FakeStats {
  tokenRequests: number;
  tokensIssued: number;
  /** every request to an HPR path, refused ones included */
  hprRequests: number;
  /** HPR requests answered with data or 404 (they went through the rate limiter) */
  hprServed: number;
  /** person look-ups per HPR number (served ones) */
  byNumber: Map<string, number>;
  searches: number;
  rateLimited: number;
  unauthorized: number;
  /** the most HPR requests in progress at once */
  maxInFlight: number;
}

export interface FakeHprServer {
  origin: string;
  /** the Maskinporten issuer and grant audience: `<origin>/maskinporten/` */
  issuer: string;
  tokenEndpoint: string;
  hprBaseUrl: string;
  stats: FakeStats;
  /** the grants that passed verification, decoded */
  grants: VerifiedGrant[];
  /** the grants refused, as answered */
  refusals: { error: string; error_description: string }[];
  persons: Map<string, RawHprPerson>;
  /** every HPR call answers this status (an outage) until called with undefined */
  setHprOutage(status: number | undefined): void;
  setMaskinportenOutage(status: number | undefined): void;
  /** HPR answers wait until the returned function is called */
  hold(): () => void;
  /** forgets every issued token (HPR then answers 401) */
  revokeTokens(): void;
  /** tokens left in a client's HPR bucket */
  bucketLeft(clientId: string): number;
  close(): Promise<void>;
}

const MAX_GRANT_LIFETIME_S = 120;
const CLOCK_SKEW_S = 10;

export async function startFakeHpr(options: FakeHprOptions): Promise<FakeHprServer> {
  const now = options.now ?? Date.now;
  const tokenLifetimeS = options.tokenLifetimeS ?? 120;
  const capacity = options.bucket?.capacity ?? 200;
  const refill = options.bucket?.refill ?? 10;
  const intervalMs = options.bucket?.intervalMs ?? 60_000;
  const clients = new Map(options.clients.map((c) => [c.clientId, c]));
  const persons = new Map<string, RawHprPerson>();
  for (const p of options.persons ?? SYNTHETIC_PERSONS) persons.set(String(p.hprNummer), p);

  const seenJti = new Set<string>();
  const tokens = new Map<string, { clientId: string; scopes: Set<string>; exp: number }>();
  const buckets = new Map<string, { tokens: number; periodStart: number }>();
  const grants: VerifiedGrant[] = [];
  const refusals: { error: string; error_description: string }[] = [];
  const stats: FakeStats = {
    tokenRequests: 0,
    tokensIssued: 0,
    hprRequests: 0,
    hprServed: 0,
    byNumber: new Map(),
    searches: 0,
    rateLimited: 0,
    unauthorized: 0,
    maxInFlight: 0,
  };
  let hprOutage: number | undefined;
  let maskinportenOutage: number | undefined;
  let held: { promise: Promise<void>; release: () => void } | undefined;
  let inFlight = 0;
  let issuer = '';

  /** HPR's limiter, written independently of src/upstream/rate-limit.ts so the tests check one against the other. */
  function take(clientId: string): { ok: true } | { ok: false; retryAfterS: number } {
    const t = now();
    const b = buckets.get(clientId) ?? { tokens: capacity, periodStart: t };
    buckets.set(clientId, b);
    const periods = Math.floor((t - b.periodStart) / intervalMs);
    if (periods > 0) {
      b.tokens = Math.min(capacity, b.tokens + periods * refill);
      b.periodStart += periods * intervalMs;
    }
    if (b.tokens > 0) {
      b.tokens--;
      return { ok: true };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((b.periodStart + intervalMs - t) / 1000)) };
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(text);
  }

  function problem(res: ServerResponse, status: number, title: string, headers: Record<string, string> = {}): void {
    // HPR is an ASP.NET Core service: errors are RFC 7807 ProblemDetails
    send(
      res,
      status,
      { type: 'about:blank', title, status },
      { ...headers, 'content-type': 'application/problem+json' },
    );
  }

  function refuse(res: ServerResponse, error: string, description: string): void {
    refusals.push({ error, error_description: description });
    send(res, 400, { error, error_description: description });
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.tokenRequests++;
    if (maskinportenOutage !== undefined) {
      send(res, maskinportenOutage, { error: 'server_error', error_description: 'Maskinporten is unavailable (fake)' });
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      refuse(res, 'unsupported_grant_type', 'Invalid grant type');
      return;
    }
    const assertion = form.get('assertion');
    if (!assertion) {
      refuse(res, 'invalid_request', 'MP-011 Missing assertion');
      return;
    }
    let header: ProtectedHeaderParameters;
    let claimedIss: unknown;
    try {
      header = decodeProtectedHeader(assertion);
      claimedIss = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8')).iss;
    } catch {
      refuse(res, 'invalid_grant', 'MP-100 Invalid assertion. Client authentication failed.');
      return;
    }
    const client = typeof claimedIss === 'string' ? clients.get(claimedIss) : undefined;
    if (!client) {
      refuse(res, 'invalid_grant', 'MP-100 Invalid assertion. Client authentication failed.');
      return;
    }
    if (!['RS256', 'RS384', 'RS512'].includes(String(header.alg))) {
      refuse(res, 'invalid_grant', 'MP-100 Invalid assertion. Unsupported alg.');
      return;
    }
    // the key: a registered kid, or a certificate chain whose leaf is the registered certificate
    let key: KeyObject;
    if (Array.isArray(header.x5c) && header.x5c.length > 0) {
      let leaf: X509Certificate;
      try {
        leaf = new X509Certificate(Buffer.from(header.x5c[0], 'base64'));
      } catch {
        refuse(res, 'invalid_grant', 'MP-120 Invalid certificate');
        return;
      }
      if (!client.certificate || leaf.raw.toString('base64') !== client.certificate) {
        refuse(res, 'invalid_grant', 'MP-120 Certificate is not registered for this client');
        return;
      }
      key = leaf.publicKey;
    } else if (header.kid !== undefined && header.kid === client.kid) {
      key = client.publicKey;
    } else {
      refuse(res, 'invalid_grant', 'MP-100 Invalid assertion. Client authentication failed (unknown kid).');
      return;
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(assertion, key, {
        algorithms: ['RS256', 'RS384', 'RS512'],
        audience: issuer,
        issuer: client.clientId,
        currentDate: new Date(now()),
        clockTolerance: CLOCK_SKEW_S,
        requiredClaims: ['iat', 'exp', 'jti', 'scope'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired)
        refuse(res, 'invalid_grant', 'MP-130 Invalid assertion. JWT is expired.');
      else if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud')
        refuse(res, 'invalid_grant', 'MP-110 Invalid assertion. Invalid audience.');
      else refuse(res, 'invalid_grant', `MP-100 Invalid assertion. ${err instanceof Error ? err.message : 'invalid'}`);
      return;
    }
    const iat = payload.iat as number;
    const exp = payload.exp as number;
    if (Math.abs(iat - now() / 1000) > CLOCK_SKEW_S) {
      refuse(res, 'invalid_grant', 'Invalid assertion. iat is not within 10 seconds of the server time.');
      return;
    }
    if (exp - iat > MAX_GRANT_LIFETIME_S) {
      refuse(res, 'invalid_grant', 'Invalid assertion. exp is more than 120 seconds after iat.');
      return;
    }
    const jti = String(payload.jti);
    if (seenJti.has(jti)) {
      refuse(res, 'invalid_grant', 'MP-012 Grant is used before.');
      return;
    }
    seenJti.add(jti);
    const scopes = String(payload.scope).split(' ').filter(Boolean);
    const denied = scopes.filter((s) => !client.scopes.includes(s));
    if (scopes.length === 0 || denied.length > 0) {
      refuse(res, 'invalid_scope', `MP-200 Invalid scope: ${denied.join(' ') || '(none)'}`);
      return;
    }
    grants.push({ header, payload });
    const value = randomBytes(32).toString('base64url');
    tokens.set(value, { clientId: client.clientId, scopes: new Set(scopes), exp: now() + tokenLifetimeS * 1000 });
    stats.tokensIssued++;
    send(res, 200, { access_token: value, token_type: 'Bearer', expires_in: tokenLifetimeS, scope: scopes.join(' ') });
  }

  async function hpr(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    stats.hprRequests++;
    inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    try {
      if (held) await held.promise;
      if (hprOutage !== undefined) {
        problem(res, hprOutage, 'Service unavailable (fake outage)');
        return;
      }
      const m = /^\/v1\/(personer|personerutvidet)(?:\/([^/]+))?$/.exec(url.pathname);
      if (!m || req.method !== 'GET') {
        problem(res, 404, 'Not found');
        return;
      }
      const extended = m[1] === 'personerutvidet';
      const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const t = auth ? tokens.get(auth) : undefined;
      if (!t || t.exp <= now()) {
        stats.unauthorized++;
        problem(res, 401, 'Unauthorized', { 'www-authenticate': 'Bearer error="invalid_token"' });
        return;
      }
      if (!t.scopes.has(extended ? HPR_EXTENDED_SCOPE : HPR_BASIC_SCOPE)) {
        problem(res, 403, 'Forbidden');
        return;
      }
      const taken = take(t.clientId);
      if (!taken.ok) {
        stats.rateLimited++;
        problem(res, 429, 'Too Many Requests', { 'retry-after': String(taken.retryAfterS) });
        return;
      }
      stats.hprServed++;
      const shown = (p: RawHprPerson) => (extended ? p : withoutNin(p));
      if (m[2] !== undefined) {
        stats.byNumber.set(m[2], (stats.byNumber.get(m[2]) ?? 0) + 1);
        const p = persons.get(m[2]);
        if (p) send(res, 200, shown(p));
        else problem(res, 404, 'Not Found');
        return;
      }
      stats.searches++;
      const etternavn = url.searchParams.get(HPR_SEARCH_QUERY.etternavn);
      const dato = url.searchParams.get(HPR_SEARCH_QUERY.fødselsdato);
      if (!etternavn || !dato) {
        problem(res, 400, 'etternavn og fødselsdato må oppgis');
        return;
      }
      const hits = [...persons.values()].filter((p) => {
        const pp = p.person as { etternavn?: string; fødselsdato?: string } | undefined;
        return pp?.etternavn?.toLowerCase() === etternavn.toLowerCase() && pp?.fødselsdato === dato;
      });
      send(res, 200, hits.map(shown));
    } finally {
      inFlight--;
    }
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const handle =
      url.pathname === '/maskinporten/token' && req.method === 'POST'
        ? token(req, res)
        : url.pathname.startsWith('/v1/')
          ? hpr(req, res, url)
          : Promise.resolve(problem(res, 404, 'Not found'));
    handle.catch((err: unknown) => {
      if (!res.headersSent) problem(res, 500, err instanceof Error ? err.message : 'error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  issuer = `${origin}/maskinporten/`;

  return {
    origin,
    issuer,
    tokenEndpoint: `${issuer}token`,
    hprBaseUrl: origin,
    stats,
    grants,
    refusals,
    persons,
    setHprOutage(status) {
      hprOutage = status;
    },
    setMaskinportenOutage(status) {
      maskinportenOutage = status;
    },
    hold() {
      let release = () => {};
      const promise = new Promise<void>((resolve) => {
        release = resolve;
      });
      held = { promise, release };
      return () => {
        held = undefined;
        release();
      };
    },
    revokeTokens() {
      tokens.clear();
    },
    bucketLeft(clientId) {
      const b = buckets.get(clientId);
      if (!b) return capacity;
      const periods = Math.floor((now() - b.periodStart) / intervalMs);
      return Math.min(capacity, b.tokens + Math.max(0, periods) * refill);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function withoutNin(p: RawHprPerson): RawHprPerson {
  const person = p.person as Record<string, unknown> | undefined;
  if (!person) return p;
  const { nin: _nin, manglerNin: _m, ...rest } = person;
  return { ...p, person: rest };
}

// --- Test helpers ------------------------------------------------------------------------------

export interface TestClientKey {
  clientId: string;
  kid: string;
  privateKeyPem: string;
  /** the client as the fake Maskinporten registers it */
  client: FakeClient;
}

/** A Maskinporten client with a fresh RSA key, registered for `scopes` (default basic and extended). */
export function testClientKey(
  options: { clientId?: string; kid?: string; scopes?: readonly string[] } = {},
): TestClientKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientId = options.clientId ?? 'test-client';
  const kid = options.kid ?? 'test-key-1';
  return {
    clientId,
    kid,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    client: {
      clientId,
      kid,
      publicKey: createPublicKey(privateKey),
      scopes: options.scopes ?? [HPR_BASIC_SCOPE, HPR_EXTENDED_SCOPE],
    },
  };
}

/** The settings (as environment variables) that point the HPR directory at the fake. */
export function fakeHprEnv(
  fake: FakeHprServer,
  key: TestClientKey,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    MASKINPORTEN_ISSUER: fake.issuer,
    MASKINPORTEN_CLIENT_ID: key.clientId,
    MASKINPORTEN_KID: key.kid,
    MASKINPORTEN_PRIVATE_KEY: key.privateKeyPem,
    HPR_BASE_URL: fake.hprBaseUrl,
    ...extra,
  };
}

// --- Standalone: the demo ------------------------------------------------------------------------

if (import.meta.main) {
  const port = Number(process.argv[2] ?? process.env.FAKE_HPR_PORT ?? 8090);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dir = mkdtempSync(join(tmpdir(), 'fake-hpr-'));
  const keyFile = join(dir, 'demo-client-key.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  const fake = await startFakeHpr({
    port,
    clients: [
      {
        clientId: 'demo-client',
        kid: 'demo-key',
        publicKey: createPublicKey(privateKey),
        scopes: [HPR_BASIC_SCOPE, HPR_EXTENDED_SCOPE],
      },
    ],
  });
  const env = {
    MASKINPORTEN_ISSUER: fake.issuer,
    MASKINPORTEN_CLIENT_ID: 'demo-client',
    MASKINPORTEN_KID: 'demo-key',
    MASKINPORTEN_PRIVATE_KEY_FILE: keyFile,
    HPR_BASE_URL: fake.hprBaseUrl,
    HPR_SYNTHETIC_DATA: 'true',
  };
  process.stdout.write(
    `Fake Maskinporten + HPR (synthetic persons) at ${fake.origin}\n` +
      `HPR numbers: ${[...fake.persons.keys()].join(', ')}\n` +
      `Point the service at it with:\n${Object.entries(env)
        .map(([k, v]) => `  export ${k}=${v}`)
        .join('\n')}\n`,
  );
  const stop = () => {
    void fake.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
