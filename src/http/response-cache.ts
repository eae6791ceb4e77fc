import { LRUCache } from 'lru-cache';

/**
 * Answers of side-effect-free GET operations, by request. Terminology answers depend only on the
 * request and the loaded data, and FHIR validators ask the same questions over and over, so the
 * serialised body is kept and served again. A GET cannot carry `tx-resource`, so no
 * request-scoped terminology can leak between requests. Every answer belongs to the generation of
 * the data it was computed from (TerminologySource): when a newer generation is seen (the data
 * were swapped), every older answer is dropped at once, and an answer of an older generation that
 * finishes after the swap is not kept.
 *
 * A request with `Cache-Control: no-cache` (RFC 9111 §5.2.1.4) bypasses the cache.
 *
 * Memory: an entry is counted as the UTF-8 bytes of its body (what Buffer.byteLength says, which is
 * at least what V8 holds for a one-byte string and a fair bound for a two-byte one) plus its key and
 * a fixed overhead. An answer larger than `maxEntryBytes` is never kept (a 24 MB expansion would
 * otherwise push out thousands of small, often asked answers, and such answers are cheap to ask
 * again relative to their size), and the entries together never pass `maxBytes`.
 */
export interface CachedAnswer {
  status: number;
  /** the serialised body: text, or its UTF-8 bytes (an answer a worker sent as bytes, offload.ts) */
  body: string | Uint8Array;
}

/** Bytes counted for an entry besides its body and key: the entry object, the LRU's slots. */
const ENTRY_OVERHEAD = 128;

export class ResponseCache {
  private readonly lru: LRUCache<string, CachedAnswer>;
  private readonly maxEntryBytes: number;
  private generation?: number;
  /** look-ups answered from the cache, look-ups that found nothing, requests that asked not to be (metrics) */
  private counts = { hits: 0, misses: 0, bypasses: 0 };

  /**
   * @param maxEntries most answers kept
   * @param maxBytes most bytes kept in all (RESPONSE_CACHE_BYTES)
   * @param maxEntryBytes most bytes of one entry (RESPONSE_CACHE_MAX_ENTRY_BYTES; default and at most `maxBytes`)
   */
  constructor(maxEntries: number, maxBytes: number, maxEntryBytes = maxBytes) {
    this.maxEntryBytes = Math.min(maxEntryBytes, maxBytes);
    this.lru = new LRUCache<string, CachedAnswer>({
      max: maxEntries,
      maxSize: maxBytes,
      // LRUCache refuses an entry above maxEntrySize, and evicts others until the total fits
      maxEntrySize: this.maxEntryBytes,
    });
  }

  /** The answer kept for `key` from data generation `generation`. */
  get(generation: number, key: string): CachedAnswer | undefined {
    const answer = this.adopt(generation) ? this.lru.get(key) : undefined;
    if (answer) this.counts.hits++;
    else this.counts.misses++;
    return answer;
  }

  /** Notes a request that could have been answered from the cache but asked not to be (`no-cache`). */
  bypassed(): void {
    this.counts.bypasses++;
  }

  /** Look-ups since the cache was made: hits, misses and bypasses. */
  get lookups(): Readonly<{ hits: number; misses: number; bypasses: number }> {
    return this.counts;
  }

  /** Keeps an answer computed from data generation `generation` (ignored when that is no longer current). */
  set(generation: number, key: string, answer: CachedAnswer): void {
    if (!this.adopt(generation)) return;
    // counted once, here: an answer too large to keep is not even handed to the LRU
    const size = entryBytes(key, answer);
    if (size > this.maxEntryBytes) {
      this.lru.delete(key);
      return;
    }
    this.lru.set(key, answer, { size });
  }

  /** Moves to a newer generation (dropping every answer); false for an older one. */
  private adopt(generation: number): boolean {
    if (this.generation === generation) return true;
    if (this.generation !== undefined && generation < this.generation) return false;
    this.lru.clear();
    this.generation = generation;
    return true;
  }

  /** Number of answers kept. */
  get size(): number {
    return this.lru.size;
  }

  /** Bytes counted for the answers kept (see above). */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  clear(): void {
    this.lru.clear();
  }
}

/** The bytes an entry is counted as: body and key as UTF-8, and a fixed overhead. */
function entryBytes(key: string, answer: CachedAnswer): number {
  const body = typeof answer.body === 'string' ? Buffer.byteLength(answer.body, 'utf8') : answer.body.byteLength;
  return body + Buffer.byteLength(key, 'utf8') + ENTRY_OVERHEAD;
}

/** Whether the client asked not to be answered from a cache. */
export function bypassesCache(cacheControl: string | undefined, pragma: string | undefined): boolean {
  if (cacheControl && /(^|,)\s*(no-cache|no-store|max-age\s*=\s*0)\s*(,|$)/i.test(cacheControl)) return true;
  return pragma !== undefined && /no-cache/i.test(pragma);
}
