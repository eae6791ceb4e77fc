import { LRUCache } from 'lru-cache';

/**
 * Answers of side-effect-free GET operations, by request. Terminology answers depend only on the
 * request and the loaded data, and FHIR validators ask the same questions over and over, so the
 * serialised body is kept and served again. A GET cannot carry `tx-resource`, so no
 * request-scoped terminology can leak between requests. The key includes the store's generation:
 * when the data are replaced, old answers stop matching.
 *
 * A request with `Cache-Control: no-cache` (RFC 9111 §5.2.1.4) bypasses the cache.
 */
export interface CachedAnswer {
  status: number;
  body: string;
}

export class ResponseCache {
  private readonly lru: LRUCache<string, CachedAnswer>;

  constructor(maxEntries: number, maxBytes: number) {
    this.lru = new LRUCache<string, CachedAnswer>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (v, k) => v.body.length + k.length + 64,
    });
  }

  get(key: string): CachedAnswer | undefined {
    return this.lru.get(key);
  }

  set(key: string, answer: CachedAnswer): void {
    // an answer larger than the whole cache is simply not kept
    this.lru.set(key, answer);
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
