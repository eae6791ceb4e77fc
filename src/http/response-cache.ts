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
 */
export interface CachedAnswer {
  status: number;
  body: string;
}

export class ResponseCache {
  private readonly lru: LRUCache<string, CachedAnswer>;
  private generation?: number;

  constructor(maxEntries: number, maxBytes: number) {
    this.lru = new LRUCache<string, CachedAnswer>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (v, k) => v.body.length + k.length + 64,
    });
  }

  /** The answer kept for `key` from data generation `generation`. */
  get(generation: number, key: string): CachedAnswer | undefined {
    if (!this.adopt(generation)) return undefined;
    return this.lru.get(key);
  }

  /** Keeps an answer computed from data generation `generation` (ignored when that is no longer current). */
  set(generation: number, key: string, answer: CachedAnswer): void {
    if (!this.adopt(generation)) return;
    // an answer larger than the whole cache is simply not kept
    this.lru.set(key, answer);
  }

  /** Moves to a newer generation (dropping every answer); false for an older one. */
  private adopt(generation: number): boolean {
    if (this.generation === generation) return true;
    if (this.generation !== undefined && generation < this.generation) return false;
    this.lru.clear();
    this.generation = generation;
    return true;
  }

  get size(): number {
    return this.lru.size;
  }

  clear(): void {
    this.lru.clear();
  }
}

/** Whether the client asked not to be answered from a cache. */
export function bypassesCache(cacheControl: string | undefined, pragma: string | undefined): boolean {
  if (cacheControl && /(^|,)\s*(no-cache|no-store|max-age\s*=\s*0)\s*(,|$)/i.test(cacheControl)) return true;
  return pragma !== undefined && /no-cache/i.test(pragma);
}
