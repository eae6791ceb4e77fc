import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';
import { FHIR_JSON, isJsonMediaType, isSupportedFhirVersion, isXmlMediaType, parseMediaType } from './content.ts';
import { badRequest, makeIssue, OperationOutcomeError } from './outcome.ts';

/**
 * Reads a JSON request body into `req.body` (undefined when the request has none). Accepts
 * `application/fhir+json` and `application/json` with any media-type parameters, but rejects a
 * `fhirVersion` other than 4.0 (http.html#version-parameter). Every failure is an
 * OperationOutcomeError: 415 for other media types, 413 over `maxBodyBytes`, 400 for bad JSON.
 */
export function jsonBody(maxBodyBytes: number): RequestHandler {
  const parse = express.json({ limit: maxBodyBytes, strict: true, type: () => true });
  return (req: Request, res: Response, next: NextFunction) => {
    if (!hasBody(req)) {
      req.body = undefined;
      next();
      return;
    }
    checkContentType(req.get('content-type'));
    parse(req, res, (err?: unknown) => {
      if (err) next(toOutcomeError(err, maxBodyBytes));
      else next();
    });
  };
}

/** RFC 9112 §6.3: a request has a body when it has Transfer-Encoding or a non-zero Content-Length. */
function hasBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const len = req.headers['content-length'];
  return len !== undefined && len !== '0';
}

function unsupportedMediaType(text: string): OperationOutcomeError {
  return new OperationOutcomeError(415, [makeIssue({ code: 'not-supported', text })]);
}

function checkContentType(header: string | undefined): void {
  if (header === undefined || header.trim() === '') {
    throw unsupportedMediaType(`A request body needs a Content-Type: send ${FHIR_JSON}`);
  }
  const m = parseMediaType(header);
  if (isXmlMediaType(m.type)) {
    throw unsupportedMediaType(`XML is not supported: send the request body as JSON (${FHIR_JSON})`);
  }
  if (!isJsonMediaType(m.type)) {
    const shown = m.type.length > 100 ? `${m.type.slice(0, 100)}...` : m.type;
    throw unsupportedMediaType(`Content-Type '${shown}' is not supported: send ${FHIR_JSON}`);
  }
  const version = m.params.fhirversion;
  if (version !== undefined && !isSupportedFhirVersion(version)) {
    const shown = version.length > 20 ? `${version.slice(0, 20)}...` : version;
    throw unsupportedMediaType(
      `FHIR version ${shown} is not supported: this server supports FHIR R4 (fhirVersion=4.0)`,
    );
  }
}

/** Maps body-parser's errors (which carry a `type`) to OperationOutcomes that do not echo the input. */
function toOutcomeError(err: unknown, maxBodyBytes: number): unknown {
  const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
  switch (type) {
    case 'entity.too.large':
      return new OperationOutcomeError(413, [
        makeIssue({ code: 'too-long', text: `Request body is larger than the limit of ${maxBodyBytes} bytes` }),
      ]);
    case 'entity.parse.failed':
      return badRequest('Request body is not valid JSON');
    case 'charset.unsupported':
      return unsupportedMediaType('Unsupported charset: send the request body as UTF-8 JSON');
    case 'encoding.unsupported':
      return unsupportedMediaType('Unsupported Content-Encoding: send gzip, deflate, br or identity');
    case 'request.aborted':
      return badRequest('The request was aborted before its body was complete');
    case 'request.size.invalid':
      return badRequest('The request body does not match its Content-Length');
    default:
      return err;
  }
}
