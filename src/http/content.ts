import type { ServerResponse } from 'node:http';
import type { Resource } from '@medplum/fhirtypes';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendHtmlPage } from '../html/respond.ts';
import { COMPRESS_MIN_BYTES, endMaybeCompressed, varyOnEncoding } from './compression.ts';
import { makeIssue, OperationOutcomeError } from './outcome.ts';
import { toFhirXml, XmlWriteError } from './xml-write.ts';

/**
 * Content negotiation (FHIR R4 http.html#mime-type and #parameters, `_format` and `_pretty`).
 * FHIR JSON is the default; FHIR XML is written when `_format` or `Accept` asks for it (and read
 * when a request body says it is XML: body.ts); a browser (`text/html` first, or `_format=html`)
 * gets the HTML view of the same answer (src/html). The choice is made once per request
 * (contentNegotiation) and kept in `res.locals.fhirFormat`; every FHIR answer, errors included,
 * is written in it. The XML work (xml-write.ts, xml-read.ts) happens only on the XML path.
 */

export const FHIR_JSON = 'application/fhir+json';
export const FHIR_JSON_CONTENT_TYPE = 'application/fhir+json; charset=utf-8';
export const FHIR_XML = 'application/fhir+xml';
export const FHIR_XML_CONTENT_TYPE = 'application/fhir+xml; charset=utf-8';

export type FhirFormat = 'json' | 'xml';
/** The format of an answer: a FHIR format, or an HTML page for a person in a browser (src/html). */
export type AnswerFormat = FhirFormat | 'html';

/** Media types whose body we can read and write. `application/json+fhir` and `application/xml+fhir` are the DSTU2 spellings. */
const JSON_TYPES = new Set([FHIR_JSON, 'application/json', 'application/json+fhir']);
const FHIR_XML_TYPES = new Set([FHIR_XML, 'application/xml+fhir']);
/** XML types that say nothing of FHIR: a browser lists them for any page it can show */
const GENERIC_XML_TYPES = new Set(['application/xml', 'text/xml']);
const XML_TYPES = new Set([...FHIR_XML_TYPES, ...GENERIC_XML_TYPES]);
/** `_format` short forms (http.html#parameters) and full media types we accept. */
const JSON_FORMATS = new Set(['json', ...JSON_TYPES]);
const XML_FORMATS = new Set(['xml', ...XML_TYPES]);
/** What a browser names when it wants a page (and `_format=html`). */
const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);
const HTML_FORMATS = new Set(['html', ...HTML_TYPES]);

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

/** The XML media types a FHIR body is read from (`+xml` types such as XHTML are not FHIR). */
export function isXmlMediaType(type: string): boolean {
  return XML_TYPES.has(type);
}

/**
 * The format an `Accept` header asks for; undefined when it allows neither FHIR JSON nor FHIR XML
 * (R4) at all. A missing header takes JSON.
 */
export function acceptedFormat(accept: string | undefined): AnswerFormat | undefined {
  if (accept === undefined || accept.trim() === '') return 'json';
  // a client sends the same header with every request: the answer is kept for the common ones
  const known = acceptMemo.get(accept);
  if (known !== undefined) return known ?? undefined;
  const result = parseAccept(accept);
  if (acceptMemo.size >= MAX_ACCEPT_MEMO) acceptMemo.clear();
  acceptMemo.set(accept, result ?? null);
  return result;
}

/** null: neither format is acceptable */
const acceptMemo = new Map<string, AnswerFormat | null>();
const MAX_ACCEPT_MEMO = 256;

/**
 * RFC 9110 §12.5.1: the type with the highest `q` wins; at equal `q` a named type wins over a
 * wildcard, JSON (the default) over XML, and a FHIR format over an HTML page. `application/xml` and
 * `text/xml` next to `text/html` are a browser's list of pages it can show, not a request for FHIR
 * XML: a browser (`text/html` first) gets the HTML view; `application/fhir+xml` always counts.
 */
function parseAccept(accept: string): AnswerFormat | undefined {
  let json = 0;
  let wildcard = 0;
  let fhirXml = 0;
  let genericXml = 0;
  let html = 0;
  for (const range of accept.split(',')) {
    if (range.trim() === '') continue;
    const m = parseMediaType(range);
    const q = m.params.q === undefined ? 1 : Number(m.params.q);
    if (!(q > 0)) continue;
    if (m.params.fhirversion !== undefined && !isSupportedFhirVersion(m.params.fhirversion)) continue;
    if (JSON_TYPES.has(m.type)) json = Math.max(json, q);
    else if (m.type === '*/*' || m.type === 'application/*') wildcard = Math.max(wildcard, q);
    else if (FHIR_XML_TYPES.has(m.type)) fhirXml = Math.max(fhirXml, q);
    else if (GENERIC_XML_TYPES.has(m.type)) genericXml = Math.max(genericXml, q);
    else if (HTML_TYPES.has(m.type)) html = Math.max(html, q);
  }
  const xml = Math.max(fhirXml, html > 0 ? 0 : genericXml);
  if (html > json && html > xml && html >= wildcard) return 'html';
  if (xml > json && xml >= wildcard) return 'xml';
  if (json > 0 || wildcard > 0) return 'json';
  return undefined;
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
 * Chooses the format of the answer, FHIR JSON or FHIR XML, from `_format` or else `Accept`, and
 * rejects with 406 a request that asks only for something else. `_format` overrides `Accept`
 * (http.html#parameters). The answer varies with `Accept`, which `Vary` tells caches.
 */
export function contentNegotiation(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (res.getHeader('Vary') === undefined) res.setHeader('Vary', 'Accept');
    else res.vary('Accept');
    const format = queryString(req, '_format');
    if (format !== undefined) {
      const m = formatMediaType(format);
      if (m.params.fhirversion !== undefined && !isSupportedFhirVersion(m.params.fhirversion)) {
        throw notAcceptable(
          `FHIR version ${m.params.fhirversion} is not supported; this server supports FHIR R4 (4.0)`,
        );
      }
      if (JSON_FORMATS.has(m.type)) res.locals.fhirFormat = 'json';
      else if (XML_FORMATS.has(m.type)) res.locals.fhirFormat = 'xml';
      else if (HTML_FORMATS.has(m.type)) res.locals.fhirFormat = 'html';
      else throw notAcceptable(unsupportedFormatText(m.type));
      next();
      return;
    }
    const accepted = acceptedFormat(req.get('accept'));
    if (accepted === undefined) {
      const first = parseMediaType(req.get('accept')?.split(',')[0] ?? '').type;
      throw notAcceptable(unsupportedFormatText(first));
    }
    res.locals.fhirFormat = accepted;
    next();
  };
}

/**
 * The format of an answer: the one negotiated, or for a request that did not get that far (an
 * error before the FHIR routes, a refused negotiation) the one it asks for where we have it, else JSON.
 */
export function responseFormat(req: Request, res: Response): AnswerFormat {
  const negotiated = res.locals.fhirFormat as AnswerFormat | undefined;
  if (negotiated !== undefined) return negotiated;
  const format = queryString(req, '_format');
  if (format !== undefined) {
    const type = formatMediaType(format).type;
    return XML_FORMATS.has(type) ? 'xml' : HTML_FORMATS.has(type) ? 'html' : 'json';
  }
  return acceptedFormat(req.get('accept')) ?? 'json';
}

/**
 * The media type `_format` names. A `+` in a query string decodes to a space:
 * `_format=application/fhir+json` arrives as `application/fhir json` (the space after a `;` is
 * only a space).
 */
function formatMediaType(format: string): MediaType {
  const m = parseMediaType(format);
  return { type: m.type.replace(/ /g, '+'), params: m.params };
}

function unsupportedFormatText(type: string): string {
  const shown = type.length > 100 ? `${type.slice(0, 100)}...` : type;
  return `Format '${shown}' is not supported: this server produces FHIR JSON (${FHIR_JSON}), FHIR XML (${FHIR_XML}) and HTML pages (text/html)`;
}

/** Whether the client asked for pretty-printed output (`_pretty=true`). */
export function wantsPretty(req: Request): boolean {
  return queryString(req, '_pretty') === 'true';
}

/** Writes a FHIR resource as the response body, in the negotiated format, honouring `_pretty`. The only place resources are written. */
export function sendResource(req: Request, res: Response, resource: Resource, status = 200): void {
  res.locals.fhirFormat ??= responseFormat(req, res);
  sendSerialised(res, serialise(req, res, resource), status);
}

/**
 * A resource as the response body text, in the negotiated format, honouring `_pretty`. For an HTML
 * page the body is the JSON (what the response cache keeps, shared with JSON answers); the page is
 * made from it when it is sent (sendSerialised).
 */
export function serialise(req: Request, res: Response, resource: Resource): string {
  return serialiseAs(res.locals.fhirFormat === 'xml' ? 'xml' : 'json', resource, wantsPretty(req));
}

/**
 * A resource as FHIR JSON or FHIR XML text. An answer XML cannot carry (content FHIR R4 does not
 * define, which a JSON answer would pass on) is a 406: the client can ask for it as JSON.
 */
export function serialiseAs(format: FhirFormat, resource: Resource, pretty: boolean): string {
  if (format === 'json') return pretty ? JSON.stringify(resource, null, 2) : JSON.stringify(resource);
  try {
    return toFhirXml(resource, pretty);
  } catch (err) {
    if (!(err instanceof XmlWriteError)) throw err;
    throw notAcceptable(`The answer cannot be written as FHIR XML (${err.message}): ask for JSON (_format=json)`);
  }
}

/**
 * Writes an already serialised FHIR body in the negotiated format: status, type and length, then
 * the body. A text body goes out with the headers in one write (Node joins them); a large answer
 * from a worker comes as UTF-8 bytes (offload.ts), which the event loop hands to the socket
 * without converting or scanning it. Express's `res.send` is not used: its conditional-GET and
 * ETag handling do not apply (the server sends no validators), and it turns a text over 1,000
 * characters into a Buffer, written apart from the headers. A HEAD request gets the headers only.
 */
export function sendSerialised(res: Response, body: string | Uint8Array, status: number): void {
  if (res.locals.fhirFormat === 'html') {
    sendHtmlPage(res, body, status);
    return;
  }
  writeFhirBody(res, res.locals.fhirFormat === 'xml' ? 'xml' : 'json', body, status);
}

/** sendSerialised for a FHIR format, on Node's response alone (the fast lane has no Express). */
export function writeFhirBody(
  res: ServerResponse,
  format: FhirFormat,
  body: string | Uint8Array,
  status: number,
): void {
  res.statusCode = status;
  res.setHeader('Content-Type', format === 'xml' ? FHIR_XML_CONTENT_TYPE : FHIR_JSON_CONTENT_TYPE);
  // a large answer to a client that takes br or gzip goes out compressed (compression.ts)
  const length = typeof body === 'string' ? body.length : body.byteLength;
  if (length >= COMPRESS_MIN_BYTES && res.req.headers['accept-encoding'] !== undefined) {
    endMaybeCompressed(res, body);
    return;
  }
  if (length >= COMPRESS_MIN_BYTES) varyOnEncoding(res);
  res.setHeader('Content-Length', byteLengthOf(body));
  endWithBody(res, body);
}

/** The length of a serialised body in bytes, as `Content-Length` gives it. */
export function byteLengthOf(body: string | Uint8Array): number {
  return typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
}

/** Ends the response with the body as it is (UTF-8), or without it for a HEAD request. */
export function endWithBody(res: ServerResponse, body: string | Uint8Array): void {
  if (res.req.method === 'HEAD') res.end();
  else if (typeof body === 'string') res.end(body, 'utf8');
  else res.end(body);
}
