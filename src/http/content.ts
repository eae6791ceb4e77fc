import type { Resource } from '@medplum/fhirtypes';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { makeIssue, OperationOutcomeError } from './outcome.ts';

/**
 * Content negotiation (FHIR R4 http.html#mime-type and #parameters, `_format` and `_pretty`).
 * This server speaks JSON only: FHIR JSON out, FHIR JSON or plain JSON in.
 */

export const FHIR_JSON = 'application/fhir+json';
export const FHIR_JSON_CONTENT_TYPE = 'application/fhir+json; charset=utf-8';

/** Media types whose body we can read and write. `application/json+fhir` is the DSTU2 spelling. */
const JSON_TYPES = new Set([FHIR_JSON, 'application/json', 'application/json+fhir']);
const XML_TYPES = new Set(['application/fhir+xml', 'application/xml', 'text/xml', 'application/xml+fhir']);
/** `_format` short forms (http.html#parameters) and full media types we accept. */
const JSON_FORMATS = new Set(['json', ...JSON_TYPES]);

export interface MediaType {
  /** `type/subtype`, lower case */
  type: string;
  /** parameter names lower case, values as sent (unquoted) */
  params: Record<string, string>;
}

/** Parses one media type or media range such as `application/fhir+json; fhirVersion=4.0`. */
export function parseMediaType(value: string): MediaType {
  const [head, ...rest] = value.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    const raw = p.slice(eq + 1).trim();
    params[key] = raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1) : raw;
  }
  return { type: head.trim().toLowerCase(), params };
}

/** FHIR R4 is `4.0` (or a 4.0.x patch version) in the `fhirVersion` media-type parameter (http.html#version-parameter). */
export function isSupportedFhirVersion(v: string): boolean {
  return /^4\.0(\.\d+)?$/.test(v.trim());
}

export function isJsonMediaType(type: string): boolean {
  return JSON_TYPES.has(type);
}

export function isXmlMediaType(type: string): boolean {
  return XML_TYPES.has(type) || type.endsWith('+xml');
}

/** Whether an `Accept` header allows a FHIR JSON (R4) response. A missing header does. */
export function acceptsFhirJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  // a client sends the same header with every request: the answer is kept for the common ones
  const known = acceptMemo.get(accept);
  if (known !== undefined) return known;
  const result = parseAccept(accept);
  if (acceptMemo.size >= MAX_ACCEPT_MEMO) acceptMemo.clear();
  acceptMemo.set(accept, result);
  return result;
}

const acceptMemo = new Map<string, boolean>();
const MAX_ACCEPT_MEMO = 256;

function parseAccept(accept: string): boolean {
  for (const range of accept.split(',')) {
    if (range.trim() === '') continue;
    const m = parseMediaType(range);
    const q = m.params.q === undefined ? 1 : Number(m.params.q);
    if (!(q > 0)) continue;
    if (m.params.fhirversion !== undefined && !isSupportedFhirVersion(m.params.fhirversion)) continue;
    if (m.type === '*/*' || m.type === 'application/*' || JSON_TYPES.has(m.type)) return true;
  }
  return false;
}

/** The first value of a query parameter, if it came as a string. */
export function queryString(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
}

function notAcceptable(text: string): OperationOutcomeError {
  return new OperationOutcomeError(406, [makeIssue({ code: 'not-supported', text })]);
}

/**
 * Rejects with 406 a request whose `_format` or `Accept` asks only for something other than FHIR
 * JSON. `_format` overrides `Accept` (http.html#parameters).
 */
export function contentNegotiation(): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const format = queryString(req, '_format');
    if (format !== undefined) {
      // A `+` in a query string decodes to a space: `_format=application/fhir+json` arrives as `application/fhir json`.
      const m = parseMediaType(format.replace(/ /g, '+'));
      if (m.params.fhirversion !== undefined && !isSupportedFhirVersion(m.params.fhirversion)) {
        throw notAcceptable(
          `FHIR version ${m.params.fhirversion} is not supported; this server supports FHIR R4 (4.0)`,
        );
      }
      if (!JSON_FORMATS.has(m.type)) throw notAcceptable(unsupportedFormatText(m.type));
      next();
      return;
    }
    if (!acceptsFhirJson(req.get('accept'))) {
      const first = parseMediaType(req.get('accept')?.split(',')[0] ?? '').type;
      throw notAcceptable(unsupportedFormatText(first));
    }
    next();
  };
}

function unsupportedFormatText(type: string): string {
  const shown = type.length > 100 ? `${type.slice(0, 100)}...` : type;
  if (type === 'xml' || isXmlMediaType(type)) {
    return `XML is not supported: this server only produces JSON (${FHIR_JSON})`;
  }
  return `Format '${shown}' is not supported: this server only produces JSON (${FHIR_JSON})`;
}

/** Whether the client asked for pretty-printed output (`_pretty=true`). */
export function wantsPretty(req: Request): boolean {
  return queryString(req, '_pretty') === 'true';
}

/** Writes a FHIR resource as the response body, honouring `_pretty`. The only place resources are written. */
export function sendResource(req: Request, res: Response, resource: Resource, status = 200): void {
  sendSerialised(res, serialise(req, resource), status);
}

/** A resource as the response body text, honouring `_pretty`. */
export function serialise(req: Request, resource: Resource): string {
  return wantsPretty(req) ? JSON.stringify(resource, null, 2) : JSON.stringify(resource);
}

/**
 * Writes an already serialised FHIR JSON body: status, type and length, then the body. A text body
 * goes out with the headers in one write (Node joins them); a large answer from a worker comes as
 * UTF-8 bytes (offload.ts), which the event loop hands to the socket without converting or scanning
 * it. Express's `res.send` is not used: its conditional-GET and ETag handling do not apply (the server
 * sends no validators), and it turns a text over 1,000 characters into a Buffer, written apart from
 * the headers. A HEAD request gets the headers only.
 */
export function sendSerialised(res: Response, body: string | Uint8Array, status: number): void {
  res.statusCode = status;
  res.setHeader('Content-Type', FHIR_JSON_CONTENT_TYPE);
  res.setHeader('Content-Length', typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength);
  if (res.req.method === 'HEAD') res.end();
  else if (typeof body === 'string') res.end(body, 'utf8');
  else res.end(body);
}
