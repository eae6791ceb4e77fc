import type { Request, Response } from 'express';

/**
 * Conditional reads (RFC 9110 §8.8.3 and §13.1.2; FHIR R4 http.html#read, #cread): a strong `ETag`
 * on reads and `/metadata`, and `304 Not Modified` when `If-None-Match` names it. The tag is derived
 * from what the answer is made of (the data generation, which changes with every change of the data,
 * and everything of the request that shapes the bytes: path, query, `Accept`, `Accept-Language`, the
 * base the links are built on), never by hashing the body, so it costs a few microseconds however
 * large the answer.
 */

/** FNV-1a, 64 bits, over UTF-16 code units: a short, stable fingerprint (not a security hash). */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * prime) & mask;
  }
  return h.toString(36);
}

/** A strong entity tag for an answer made of `parts`. */
export function entityTag(parts: readonly (string | number | undefined)[]): string {
  return `"${fnv1a64(parts.map((p) => (p === undefined ? '' : String(p))).join('\u0000'))}"`;
}

/** The parts of a request that shape a representation's bytes. */
export function representationParts(req: Request, base: string): string[] {
  return [req.originalUrl, req.get('accept') ?? '', req.get('accept-language') ?? '', base];
}

/** Whether an `If-None-Match` header matches `etag` (weak comparison, as §13.1.2 asks; `*` matches any). */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  const wanted = bare(etag);
  return header.split(',').some((t) => t.trim() === '*' || bare(t) === wanted);
}

/**
 * Sets `ETag`; when the request's `If-None-Match` matches it, answers `304 Not Modified` (no body)
 * and returns true. Only for GET and HEAD: another method never gets a 304.
 */
export function answerNotModified(req: Request, res: Response, etag: string): boolean {
  res.setHeader('ETag', etag);
  if ((req.method !== 'GET' && req.method !== 'HEAD') || !ifNoneMatchMatches(req.get('if-none-match'), etag)) {
    return false;
  }
  res.statusCode = 304;
  res.end();
  return true;
}
