import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { type JWTHeaderParameters, SignJWT } from 'jose';
import { type Dispatcher, request } from 'undici';
import { UpstreamError, type UpstreamErrorCode } from './errors.ts';
import type { UpstreamCallObserver } from './http.ts';

/**
 * Maskinporten token client: the JWT grant (RFC 7523) of a Maskinporten client, exchanged for an
 * access token that is cached until shortly before it expires, with one refresh in flight at a
 * time (STYLE.md example 6, after jose `src/jwks/remote.ts`).
 *
 * Protocol (felleslosninger/docs, `maskinporten_protocol_jwtgrant.md` and
 * `maskinporten_protocol_token.md`; research/upstream-apis.md §4):
 * - header `alg` RS256 and either `kid` (a key registered on the client) or `x5c` (the
 *   virksomhetssertifikat chain);
 * - claims `aud` = the Maskinporten issuer (with its trailing slash), `iss` = the client id,
 *   `scope` (space-separated), `iat`, `exp` at most 120 s after `iat`, and a fresh `jti` (a grant
 *   cannot be used twice: MP-012);
 * - `POST <token endpoint>` with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…`
 *   as `application/x-www-form-urlencoded`; the answer is `{access_token, token_type, expires_in, scope}`,
 *   an error is `{error, error_description}` (e.g. `invalid_grant` / `MP-100 …`).
 *
 * Failures are UpstreamErrors of upstream `maskinporten`. Their messages carry the OAuth `error` code
 * (one of those RFC 6749 defines) and the `MP-nnn` code only. The `error_description` is not kept at
 * all, not even for the log: it is Maskinporten's free text and can repeat the client id or the
 * grant's claims. The private key, the grant and the access token never appear in any message.
 */

export const MASKINPORTEN_UPSTREAM = 'maskinporten';
export const MASKINPORTEN_PROD_ISSUER = 'https://maskinporten.no/';
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Maskinporten refuses a grant whose `exp` is more than 120 s after its `iat`. */
export const MAX_GRANT_LIFETIME_S = 120;

export interface MaskinportenSettings {
  /** the `aud` of the grant, e.g. `https://maskinporten.no/` (with the trailing slash) */
  issuer: string;
  /** where the grant is posted, e.g. `https://maskinporten.no/token` */
  tokenEndpoint: string;
  clientId: string;
  /** the id of the key registered on the client; used unless `certChain` is given */
  kid?: string;
  /** the RSA private key that signs the grant */
  privateKey: KeyObject;
  /** the certificate chain as `x5c` values (base64 DER, leaf first); when given it replaces `kid` */
  certChain?: readonly string[];
  /** space-separated scopes, e.g. `nhn:hpr/basic` */
  scope: string;
}

export interface MaskinportenClientOptions extends MaskinportenSettings {
  dispatcher: Dispatcher;
  /** the clock in ms (default Date.now); the grant's `iat` and the token's expiry use it */
  now?: () => number;
  /** `exp − iat` of the grant in seconds (default and maximum 120) */
  grantLifetimeS?: number;
  /**
   * a token is renewed this long before it expires (default 30 s, and at most half its lifetime), so
   * that it does not expire between our check and the upstream's
   */
  refreshMarginMs?: number;
  /** after a failed token request, callers get the same error for this long (default 5 s) */
  failureCooldownMs?: number;
  /** time limit of the token request (default 10 s) */
  timeoutMs?: number;
  /** told of each token request when it ends (for metrics) */
  onCall?: UpstreamCallObserver;
}

export interface AccessToken {
  value: string;
  /** when we consider it expired (ms, our clock), the refresh margin already taken off */
  renewAt: number;
  /** the scopes granted, as the token endpoint named them */
  scope?: string;
}

export interface TokenCallOptions {
  signal?: AbortSignal;
}

export interface MaskinportenClient {
  /** A valid access token: the cached one, or a new one (one request at a time). */
  getToken(call?: TokenCallOptions): Promise<string>;
  /** Forgets `token` (e.g. after an upstream 401), so the next getToken fetches a new one. */
  invalidate(token: string): void;
  /** How many token requests have been sent (for tests and /readyz). */
  readonly tokenRequests: number;
}

/** Signs one JWT grant. Exported for tests; getToken() is the normal way in. */
export async function createGrant(settings: MaskinportenSettings, nowMs: number, lifetimeS = MAX_GRANT_LIFETIME_S) {
  const iat = Math.floor(nowMs / 1000);
  const x5c = settings.certChain && settings.certChain.length > 0 ? [...settings.certChain] : undefined;
  if (!x5c && !settings.kid) throw new Error('Maskinporten: neither a kid nor a certificate chain is configured');
  // `x5c` replaces `kid` when a virksomhetssertifikat is used (maskinporten_protocol_jwtgrant.md)
  const header: JWTHeaderParameters = x5c ? { alg: 'RS256', x5c } : { alg: 'RS256', kid: settings.kid };
  return new SignJWT({ scope: settings.scope })
    .setProtectedHeader(header)
    .setAudience(settings.issuer)
    .setIssuer(settings.clientId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.min(MAX_GRANT_LIFETIME_S, Math.max(1, Math.floor(lifetimeS))))
    .setJti(randomUUID())
    .sign(settings.privateKey);
}

export function createMaskinportenClient(options: MaskinportenClientOptions): MaskinportenClient {
  const now = options.now ?? Date.now;
  const refreshMarginMs = options.refreshMarginMs ?? 30_000;
  const failureCooldownMs = options.failureCooldownMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const lifetimeS = Math.min(MAX_GRANT_LIFETIME_S, options.grantLifetimeS ?? MAX_GRANT_LIFETIME_S);

  let current: AccessToken | undefined;
  let inflight: Promise<AccessToken> | undefined;
  let lastFailure: { error: UpstreamError; until: number } | undefined;
  let requests = 0;

  async function fetchToken(): Promise<AccessToken> {
    requests++;
    const started = now();
    const assertion = await createGrant(options, started, lifetimeS);
    if (!options.onCall) return exchange(assertion, started);
    const t0 = performance.now();
    try {
      const token = await exchange(assertion, started);
      options.onCall({ upstream: MASKINPORTEN_UPSTREAM, ms: performance.now() - t0 });
      return token;
    } catch (err) {
      const error = err instanceof UpstreamError ? err.code : 'UPSTREAM_BAD_RESPONSE';
      options.onCall({ upstream: MASKINPORTEN_UPSTREAM, ms: performance.now() - t0, error });
      throw err;
    }
  }

  /** The token request: the grant posted, the answer read (`started`: when the grant was made, our clock). */
  async function exchange(assertion: string, started: number): Promise<AccessToken> {
    const body = new URLSearchParams({ grant_type: JWT_BEARER_GRANT_TYPE, assertion }).toString();
    const base = { upstream: MASKINPORTEN_UPSTREAM, url: options.tokenEndpoint, attempts: 1 };

    let res: Dispatcher.ResponseData;
    try {
      res = await request(options.tokenEndpoint, {
        dispatcher: options.dispatcher,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      const timedOut =
        (err as { name?: unknown } | null)?.name === 'TimeoutError' ||
        code === 'UND_ERR_CONNECT_TIMEOUT' ||
        code === 'UND_ERR_HEADERS_TIMEOUT' ||
        code === 'UND_ERR_BODY_TIMEOUT';
      throw new UpstreamError(timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE', { ...base, cause: err });
    }

    const status = res.statusCode;
    let json: unknown;
    try {
      const text = await res.body.text();
      json = text.trim() === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (status < 200 || status >= 300) throw tokenError(status, json, base);

    const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
    const value = o.access_token;
    const expiresIn = typeof o.expires_in === 'string' ? Number(o.expires_in) : o.expires_in;
    const tokenType = o.token_type;
    if (typeof value !== 'string' || value === '') {
      throw new UpstreamError('UPSTREAM_BAD_RESPONSE', { ...base, status, reason: 'no access_token in the answer' });
    }
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw new UpstreamError('UPSTREAM_BAD_RESPONSE', {
        ...base,
        status,
        reason: 'no valid expires_in in the answer',
      });
    }
    if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) {
      throw new UpstreamError('UPSTREAM_BAD_RESPONSE', { ...base, status, reason: 'token_type is not Bearer' });
    }
    // the lifetime counts from when we asked, not from when the answer came: never later than Maskinporten's
    const lifetimeMs = expiresIn * 1000;
    const margin = Math.min(refreshMarginMs, lifetimeMs / 2);
    return {
      value,
      renewAt: started + lifetimeMs - margin,
      ...(typeof o.scope === 'string' ? { scope: o.scope } : {}),
    };
  }

  function refresh(): Promise<AccessToken> {
    inflight ??= fetchToken()
      .then(
        (token) => {
          current = token;
          lastFailure = undefined;
          return token;
        },
        (err: unknown) => {
          if (err instanceof UpstreamError) lastFailure = { error: err, until: now() + failureCooldownMs };
          throw err;
        },
      )
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  return {
    async getToken(call?: TokenCallOptions): Promise<string> {
      if (current && now() < current.renewAt) return current.value;
      // a failure is remembered for a short while, so that a broken configuration or an outage is not hammered
      if (!inflight && lastFailure && now() < lastFailure.until) throw lastFailure.error;
      const pending = refresh();
      const token = call?.signal ? await raceAbort(pending, call.signal) : await pending;
      return token.value;
    },
    invalidate(token: string): void {
      if (current?.value === token) current = undefined;
    },
    get tokenRequests() {
      return requests;
    },
  };
}

/**
 * The OAuth 2.0 error codes (RFC 6749 §4.1.2.1 and §5.2): the only upstream words an error repeats.
 * Anything else is left out, so a changed or hostile answer cannot put its text in a message.
 */
const OAUTH_ERROR_CODES = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
]);

/** A Maskinporten error answer as an UpstreamError whose message names the OAuth and MP codes only. */
function tokenError(status: number, json: unknown, base: { upstream: string; url: string; attempts: number }) {
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const error = typeof o.error === 'string' && OAUTH_ERROR_CODES.has(o.error) ? o.error : undefined;
  const description = typeof o.error_description === 'string' ? o.error_description : undefined;
  const mp = description ? /\bMP-\d{3}\b/.exec(description)?.[0] : undefined;
  const reason = error ? `${error}${mp ? ` (${mp})` : ''}` : undefined;
  let code: UpstreamErrorCode;
  if (status === 429) code = 'UPSTREAM_RATE_LIMITED';
  else if (status === 408 || status === 504) code = 'UPSTREAM_TIMEOUT';
  else if (status >= 500) code = 'UPSTREAM_UNAVAILABLE';
  // RFC 6749 §5.2: a refused grant, client or scope is 400/401; for us a configuration problem
  else if (status === 400 || status === 401 || status === 403) code = 'UPSTREAM_UNAUTHORIZED';
  else code = 'UPSTREAM_HTTP_ERROR';
  return new UpstreamError(code, {
    ...base,
    status,
    ...(reason ? { reason } : {}),
  });
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    return Promise.reject(
      new UpstreamError('UPSTREAM_ABORTED', { upstream: MASKINPORTEN_UPSTREAM, cause: signal.reason }),
    );
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(new UpstreamError('UPSTREAM_ABORTED', { upstream: MASKINPORTEN_UPSTREAM, cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
