import type { Request } from 'express';

/**
 * The absolute FHIR base a request reached, for paging links, `fullUrl`s and the statements' `url`
 * (issue 11, item 4):
 * - PUBLIC_BASE_URL, when set, always wins;
 * - with TRUST_PROXY=true, the address the client used, as the reverse proxy reports it: RFC 7239
 *   `Forwarded` (its first element, the one the client-facing proxy wrote: `proto`, `host`), else
 *   `X-Forwarded-Proto` / `X-Forwarded-Host` (their first values), else the `Host` header; then
 *   `X-Forwarded-Prefix` (the path the proxy mounts the service under) and `/fhir`;
 * - otherwise `http://localhost:PORT/fhir` (config.ts).
 * Forwarded values are accepted only in a strict form (a scheme of http or https, a host name or
 * address with an optional port, a prefix of plain path segments); anything else is ignored, so no
 * header can put other text into a link. Without TRUST_PROXY the headers are never read: a client
 * talking to the service directly cannot choose the links it gets.
 */

export interface BaseUrlSettings {
  /** the default base (PUBLIC_BASE_URL or http://localhost:PORT/fhir) */
  publicBaseUrl: string;
  /** whether PUBLIC_BASE_URL was set (then it wins over any header) */
  publicBaseUrlSet: boolean;
  trustProxy: boolean;
}

export type BaseUrlOf = (req: Request) => string;

const FHIR_MOUNT = '/fhir';
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;
const PROTO = /^https?$/i;
const PREFIX = /^(?:\/[A-Za-z0-9._~-]+)+$/;

function firstValue(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const v = header.split(',')[0]?.trim();
  return v ? v : undefined;
}

/** `proto` and `host` of the first element of a `Forwarded` header (RFC 7239 §4). */
export function parseForwarded(header: string | undefined): { proto?: string; host?: string } {
  const first = header?.split(',')[0];
  if (!first) return {};
  const out: { proto?: string; host?: string } = {};
  for (const pair of first.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const key = pair.slice(0, eq).trim().toLowerCase();
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (key === 'proto') out.proto = value;
    else if (key === 'host') out.host = value;
  }
  return out;
}

/** The base of a request as the proxy reports it, or undefined when the headers give no usable host. */
export function forwardedBase(req: Pick<Request, 'get'>): string | undefined {
  const forwarded = parseForwarded(req.get('forwarded'));
  const proto = forwarded.proto ?? firstValue(req.get('x-forwarded-proto')) ?? 'http';
  const host = forwarded.host ?? firstValue(req.get('x-forwarded-host')) ?? req.get('host');
  const prefix = firstValue(req.get('x-forwarded-prefix'))?.replace(/\/+$/, '') ?? '';
  if (!PROTO.test(proto) || host === undefined || !HOST.test(host)) return undefined;
  if (prefix !== '' && (!PREFIX.test(prefix) || prefix.split('/').some((seg) => seg === '.' || seg === '..'))) {
    return undefined;
  }
  return `${proto.toLowerCase()}://${host}${prefix}${FHIR_MOUNT}`;
}

export function baseUrlResolver(settings: BaseUrlSettings): BaseUrlOf {
  const fixed = settings.publicBaseUrl.replace(/\/+$/, '');
  if (settings.publicBaseUrlSet || !settings.trustProxy) return () => fixed;
  return (req) => forwardedBase(req) ?? fixed;
}
