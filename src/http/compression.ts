import type { ServerResponse } from 'node:http';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { LRUCache } from 'lru-cache';

/**
 * Compressed answers (issue 11, item 3; RFC 9110 §8.4 and §12.5.3): an answer of at least
 * COMPRESS_MIN_BYTES goes out as `br` or `gzip` when `Accept-Encoding` allows one (`br` when both are
 * equally welcome), with `Vary: Accept-Encoding`. The compression runs in libuv's thread pool
 * (zlib's asynchronous functions), never on the event loop, so a large answer (the NLK CodeSystem
 * is 8 MB of JSON) does not stall other requests. Smaller answers, HEAD, and clients that ask for
 * none go out as before, with no extra work beyond reading one header.
 */

export const COMPRESS_MIN_BYTES = 1024;

/** Answers this large or larger, with a strong ETag, are compressed once per ETag and encoding. */
export const COMPRESSED_CACHE_MIN_BYTES = 64 * 1024;

/**
 * The compressed bytes of large answers that carry a strong ETag (reads and `/metadata`:
 * conditional.ts). A strong ETag names exactly one representation (it is made from the data
 * generation and everything of the request that shapes the bytes), so its compressed form can be
 * kept under the tag and the encoding: a client that polls the NLK CodeSystem (8 MB of JSON) costs
 * one compression per data generation, not one per request. Bounded by bytes (least recently used
 * out); one per app (`app.locals.compressedAnswers`, set by createApp).
 */
export class CompressedAnswers {
  private readonly lru?: LRUCache<string, Buffer>;
  private readonly maxBytes: number;
  readonly lookups = { hits: 0, misses: 0 };

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
    if (maxBytes > 0) this.lru = new LRUCache({ maxSize: maxBytes, sizeCalculation: (b) => Math.max(1, b.byteLength) });
  }

  get(key: string): Buffer | undefined {
    if (!this.lru) return undefined;
    const found = this.lru.get(key);
    if (found) this.lookups.hits++;
    else this.lookups.misses++;
    return found;
  }

  set(key: string, bytes: Buffer): void {
    if (this.lru && bytes.byteLength <= this.maxBytes) this.lru.set(key, bytes);
  }

  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }
}

/** A response, from Express (whose app holds the kept compressed answers) or from the fast lane (no app). */
type AnswerResponse = ServerResponse & { app?: { locals?: Record<string, unknown> } };

/** The key of an answer's compressed form, when it may be kept: a strong ETag and a large body. */
function compressedKey(res: AnswerResponse, length: number, encoding: Encoding): string | undefined {
  if (length < COMPRESSED_CACHE_MIN_BYTES) return undefined;
  const etag = res.getHeader('ETag');
  if (typeof etag !== 'string' || etag.startsWith('W/')) return undefined;
  return `${encoding} ${etag}`;
}

export type Encoding = 'br' | 'gzip';

/** The encoding `Accept-Encoding` prefers among br and gzip, or undefined for none (identity). */
export function chooseEncoding(header: string | undefined): Encoding | undefined {
  if (!header) return undefined;
  let br = -1;
  let gz = -1;
  let any = -1;
  for (const part of header.split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (token === 'br') br = q;
    else if (token === 'gzip' || token === 'x-gzip') gz = Math.max(gz, q);
    else if (token === '*') any = q;
  }
  if (br < 0) br = any;
  if (gz < 0) gz = any;
  if (br > 0 && br >= gz) return 'br';
  if (gz > 0) return 'gzip';
  return undefined;
}

/** Adds `Accept-Encoding` to `Vary` (without Express's parser: this is on the path of every large answer). */
export function varyOnEncoding(res: AnswerResponse): void {
  const vary = res.getHeader('Vary');
  if (vary === undefined || vary === '') res.setHeader('Vary', 'Accept-Encoding');
  else if (!String(vary).includes('Accept-Encoding')) res.setHeader('Vary', `${vary}, Accept-Encoding`);
}

function compress(encoding: Encoding, body: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, out: Buffer) => (err ? reject(err) : resolve(out));
    if (encoding === 'br') {
      // quality 5: most of brotli's gain at a small part of its cost (the default, 11, is for static files)
      brotliCompress(
        body,
        {
          params: {
            [constants.BROTLI_PARAM_QUALITY]: 5,
            [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength,
            [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          },
        },
        done,
      );
    } else {
      gzip(body, { level: 6 }, done);
    }
  });
}

/**
 * Sends `body` (headers other than the length and encoding already set), compressed when the
 * request allows and it is large enough. Returns at once; the answer follows when it is ready. If
 * compressing fails, the body goes out as it is.
 */
export function endMaybeCompressed(res: AnswerResponse, body: string | Uint8Array): void {
  // a text's UTF-8 length is at least its length: enough to decide before converting it
  const atLeast = typeof body === 'string' ? body.length : body.byteLength;
  const encoding =
    atLeast >= COMPRESS_MIN_BYTES && res.req.method !== 'HEAD'
      ? chooseEncoding(res.req.headers['accept-encoding'])
      : undefined;
  const store = res.app?.locals?.compressedAnswers as CompressedAnswers | undefined;
  const key = encoding && store ? compressedKey(res, atLeast, encoding) : undefined;
  const kept = key ? store?.get(key) : undefined;
  if (kept && encoding) {
    varyOnEncoding(res);
    res.setHeader('Content-Encoding', encoding);
    res.setHeader('Content-Length', kept.byteLength);
    res.end(kept);
    return;
  }
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (bytes.byteLength >= COMPRESS_MIN_BYTES) varyOnEncoding(res);
  if (encoding === undefined || bytes.byteLength < COMPRESS_MIN_BYTES) {
    res.setHeader('Content-Length', bytes.byteLength);
    if (res.req.method === 'HEAD') res.end();
    else res.end(bytes);
    return;
  }
  compress(encoding, bytes).then(
    (out) => {
      if (key) store?.set(key, out);
      if (res.destroyed) return;
      res.setHeader('Content-Encoding', encoding);
      res.setHeader('Content-Length', out.byteLength);
      res.end(out);
    },
    () => {
      if (res.destroyed) return;
      res.setHeader('Content-Length', bytes.byteLength);
      res.end(bytes);
    },
  );
}
