import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  FHIR_JSON,
  FHIR_XML,
  type FhirFormat,
  isJsonMediaType,
  isSupportedFhirVersion,
  isXmlMediaType,
  parseMediaType,
} from './content.ts';
import { badRequest, makeIssue, OperationOutcomeError } from './outcome.ts';
import { parseFhirXml } from './xml-read.ts';

/**
 * Request bodies: read as a stream, decompressed as a stream (`Content-Encoding` gzip, deflate, br),
 * and counted while they arrive, so that no body costs more memory than the limit:
 * - the bytes as sent (compressed or not) and the bytes after decompression are each cut off at
 *   `maxBodyBytes`: a "zip bomb" is stopped when its output passes the limit, not after;
 * - all bodies being read at one time together hold at most `BodyBudget.max` bytes; a body that
 *   does not fit is answered 503 with Retry-After, so many large bodies at once cannot exhaust memory.
 * After a refusal the rest of the body is read and dropped (up to the limit again), so that the
 * client, still sending, receives the answer instead of a reset connection.
 */

/** The bytes of request bodies held in memory at one time, over all requests. */
export class BodyBudget {
  readonly max: number;
  private used = 0;

  constructor(max: number) {
    this.max = max;
  }

  /** Takes `n` bytes; false (and nothing taken) when they do not fit. */
  take(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }

  get inUse(): number {
    return this.used;
  }
}

type ContentCoding = 'identity' | 'gzip' | 'deflate' | 'br';

/**
 * Reads a FHIR request body into `req.body` as FHIR JSON (undefined when the request has none, or an
 * empty one). Accepts FHIR JSON (`application/fhir+json`, `application/json`) and FHIR XML
 * (`application/fhir+xml`, `application/xml`, `text/xml`: read into the same JSON, xml-read.ts)
 * with any media-type parameters, but rejects a `fhirVersion` other than 4.0
 * (http.html#version-parameter) and a charset other than UTF-8. Every failure is an
 * OperationOutcomeError: 415 for other media types or encodings, 413 over `maxBodyBytes`, 503 when
 * the budget of all bodies is spent, 400 for bad JSON, bad XML or bad compression.
 */
export function fhirBody(
  maxBodyBytes: number,
  budget = new BodyBudget(2 * maxBodyBytes),
  options: { rawAbove?: number } = {},
): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    if (!hasBody(req)) {
      req.body = undefined;
      next();
      return;
    }
    const format = checkContentType(req.get('content-type'));
    const coding = contentCoding(req.get('content-encoding'));
    const bytes = await readBody(req, coding, maxBodyBytes, budget);
    try {
      if (options.rawAbove !== undefined && bytes.buffer.length > options.rawAbove) {
        // a large body is parsed where it is used (a worker thread: offload.ts), not on the event loop
        req.body = undefined;
        (req as RawBodyRequest).rawBody = bytes.buffer;
        if (format === 'xml') (req as RawBodyRequest).rawBodyXml = true;
      } else {
        req.body = format === 'json' ? parseJson(bytes.buffer) : parseXml(bytes.buffer);
      }
    } finally {
      budget.give(bytes.held);
    }
    next();
  };
}

/**
 * Whether the fast lane (fast-lane.ts) may read this request's body itself, as fhirBody would read
 * it: `none` for a request without a body, `json` for an uncompressed FHIR JSON body of a declared
 * length of at most `limit` bytes. Undefined for any other body (chunked, compressed, XML, larger,
 * or one fhirBody refuses): the request is left to Express unread, and fhirBody reads or refuses it.
 */
export function laneBody(req: IncomingMessage, limit: number): 'none' | 'json' | undefined {
  if (!hasBody(req)) return 'none';
  const headers = req.headers;
  // a chunked body has no declared length
  if (headers['transfer-encoding'] !== undefined || !(Number(headers['content-length']) <= limit)) return undefined;
  try {
    if (contentCoding(headers['content-encoding']) !== 'identity') return undefined;
    return checkContentType(headers['content-type']) === 'json' ? 'json' : undefined;
  } catch {
    return undefined;
  }
}

/** A FHIR JSON body read as fhirBody reads it (laneBody said `json`): parsed, its bytes given back to the budget. */
export async function readJsonBody(req: IncomingMessage, maxBodyBytes: number, budget: BodyBudget): Promise<unknown> {
  const bytes = await readBody(req, 'identity', maxBodyBytes, budget);
  try {
    return parseJson(bytes.buffer);
  } finally {
    budget.give(bytes.held);
  }
}

/** A request whose large body was kept unparsed (fhirBody `rawAbove`). */
export interface RawBodyRequest extends Request {
  rawBody?: Buffer;
  /** whether `rawBody` is FHIR XML (else JSON) */
  rawBodyXml?: boolean;
}

/** RFC 9112 §6.3: a request has a body when it has Transfer-Encoding or a non-zero Content-Length. */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const len = req.headers['content-length'];
  return len !== undefined && len !== '0';
}

function unsupportedMediaType(text: string): OperationOutcomeError {
  return new OperationOutcomeError(415, [makeIssue({ code: 'not-supported', text })]);
}

function tooLarge(maxBodyBytes: number, what: string, headers: Record<string, string> = {}): OperationOutcomeError {
  return new OperationOutcomeError(
    413,
    [makeIssue({ code: 'too-long', text: `Request body is larger than the limit of ${maxBodyBytes} bytes${what}` })],
    headers,
  );
}

function checkContentType(header: string | undefined): FhirFormat {
  if (header === undefined || header.trim() === '') {
    throw unsupportedMediaType(`A request body needs a Content-Type: send ${FHIR_JSON} or ${FHIR_XML}`);
  }
  const m = parseMediaType(header);
  const format = isJsonMediaType(m.type) ? 'json' : isXmlMediaType(m.type) ? 'xml' : undefined;
  if (format === undefined) {
    const shown = m.type.length > 100 ? `${m.type.slice(0, 100)}...` : m.type;
    throw unsupportedMediaType(`Content-Type '${shown}' is not supported: send ${FHIR_JSON} or ${FHIR_XML}`);
  }
  const charset = m.params.charset?.toLowerCase();
  // RFC 8259 §8.1: JSON exchanged between systems is UTF-8; FHIR XML is UTF-8 too (xml.html)
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw unsupportedMediaType(
      `Unsupported charset: send the request body as UTF-8 ${format === 'json' ? 'JSON' : 'XML'}`,
    );
  }
  const version = m.params.fhirversion;
  if (version !== undefined && !isSupportedFhirVersion(version)) {
    const shown = version.length > 20 ? `${version.slice(0, 20)}...` : version;
    throw unsupportedMediaType(
      `FHIR version ${shown} is not supported: this server supports FHIR R4 (fhirVersion=4.0)`,
    );
  }
  return format;
}

/** RFC 9110 §8.4: one content coding (x-gzip is gzip, §18.6); several stacked codings are not accepted. */
function contentCoding(header: string | undefined): ContentCoding {
  const v = header?.trim().toLowerCase() ?? '';
  if (v === '' || v === 'identity') return 'identity';
  if (v === 'gzip' || v === 'x-gzip') return 'gzip';
  if (v === 'deflate' || v === 'br') return v;
  throw unsupportedMediaType('Unsupported Content-Encoding: send gzip, deflate, br or identity');
}

function decompressor(coding: Exclude<ContentCoding, 'identity'>): Transform {
  if (coding === 'gzip') return createGunzip();
  if (coding === 'deflate') return createInflate();
  return createBrotliDecompress();
}

interface ReadBody {
  buffer: Buffer;
  /** bytes taken from the budget, to give back once the body is parsed */
  held: number;
}

/**
 * Reads the body of `req`, decompressing it, within the limit and the budget. On failure the
 * budget is given back and the rest of the body is read and dropped.
 */
export function readBody(
  req: IncomingMessage,
  coding: ContentCoding,
  maxBodyBytes: number,
  budget: BodyBudget,
): Promise<ReadBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    // known to be too large before a byte is read: not worth receiving, so the connection closes
    return Promise.reject(tooLarge(maxBodyBytes, '', { Connection: 'close' }));
  }
  const what = coding === 'identity' ? '' : ' (after decompression)';
  return new Promise<ReadBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let held = 0;
    let received = 0;
    let settled = false;
    const inflater = coding === 'identity' ? undefined : decompressor(coding);

    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
      if (inflater) {
        inflater.off('data', keep);
        inflater.off('end', done);
        inflater.off('error', onInflateError);
        inflater.destroy();
      }
    };
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      chunks.length = 0;
      budget.give(held);
      held = 0;
      discardRest(req, maxBodyBytes);
      reject(err);
    };
    const done = () => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve({ buffer: Buffer.concat(chunks, held), held });
    };
    /** One chunk of the body as it will be parsed: counted against the limit and the budget. */
    function keep(chunk: Buffer) {
      if (settled) return;
      if (held + chunk.length > maxBodyBytes) return fail(tooLarge(maxBodyBytes, what));
      if (!budget.take(chunk.length)) return fail(busy());
      held += chunk.length;
      chunks.push(chunk);
    }
    function onData(chunk: Buffer) {
      received += chunk.length;
      // the limit holds for the bytes as sent too (a compressed body larger than the limit)
      if (received > maxBodyBytes) return fail(tooLarge(maxBodyBytes, ''));
      if (!inflater) return keep(chunk);
      if (!inflater.write(chunk)) {
        req.pause();
        inflater.once('drain', () => req.resume());
      }
    }
    function onEnd() {
      if (inflater) inflater.end();
      else done();
    }
    function onInflateError() {
      fail(badRequest(`Request body is not valid ${coding} data (Content-Encoding: ${coding})`));
    }
    function onAbort() {
      fail(badRequest('The request was aborted before its body was complete'));
    }
    function onClose() {
      if (!req.complete) onAbort();
    }

    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
    if (inflater) {
      inflater.on('data', keep);
      inflater.on('end', done);
      inflater.on('error', onInflateError);
    }
  });
}

function busy(): OperationOutcomeError {
  return new OperationOutcomeError(
    503,
    [
      makeIssue({
        code: 'transient',
        text: 'The server is receiving too many large request bodies at once; try again shortly',
      }),
    ],
    { 'Retry-After': '1' },
  );
}

/**
 * After a refusal: reads and drops the rest of the body, so the client, which may still be sending,
 * gets the answer rather than a reset; past `cap` more bytes the connection is closed instead.
 */
function discardRest(req: IncomingMessage, cap: number): void {
  if (req.complete || req.destroyed) return;
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > cap) req.socket.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A body's text: UTF-8, a byte order mark dropped; a 400 (without the input) when it is not UTF-8. */
function decodeUtf8(buffer: Uint8Array): string {
  try {
    return utf8.decode(buffer);
  } catch {
    throw badRequest('Request body is not valid UTF-8');
  }
}

/**
 * The body as JSON: an object or an array (as body-parser's `strict`), UTF-8 (a BOM is dropped).
 * Undefined for an empty body. Errors do not echo the input.
 */
export function parseJson(buffer: Uint8Array): unknown {
  if (buffer.length === 0) return undefined;
  const text = decodeUtf8(buffer);
  const first = /\S/.exec(text)?.[0];
  if (first === undefined) return undefined;
  if (first !== '{' && first !== '[') throw badRequest('Request body is not valid JSON');
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('Request body is not valid JSON');
  }
}

/** A request body of the given format as FHIR JSON (undefined for an empty body). */
export function parseBody(buffer: Uint8Array, format: FhirFormat): unknown {
  return format === 'json' ? parseJson(buffer) : parseXml(buffer);
}

/** The XML declaration's encoding, if it names one (XML 1.0 §4.3.3). */
const XML_DECLARATION_ENCODING = /^<\?xml\s[^?]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/;

/**
 * The body as FHIR XML, read into FHIR JSON (xml-read.ts): UTF-8 (a BOM is dropped, and an XML
 * declaration may name no other encoding). Undefined for an empty body. Errors do not echo the input.
 */
export function parseXml(buffer: Uint8Array): unknown {
  if (buffer.length === 0) return undefined;
  const text = decodeUtf8(buffer);
  if (!/\S/.test(text)) return undefined;
  const encoding = XML_DECLARATION_ENCODING.exec(text)?.[1]?.toLowerCase();
  if (encoding !== undefined && encoding !== 'utf-8' && encoding !== 'utf8') {
    throw unsupportedMediaType('Unsupported encoding: send the XML request body as UTF-8');
  }
  return parseFhirXml(text);
}
