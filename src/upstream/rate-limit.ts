/**
 * A client-side token bucket that mirrors an upstream's own rate limit, so that we stop before the
 * upstream locks us out rather than after.
 *
 * HPR (seed 002, "Hvordan fungerer rate limiting?"): "token bucket rate limiting. Med en
 * bøttestørrelse på 200 og en periodisk refill på 10/minutt". The refill is *periodic*: the bucket
 * gains `refillAmount` tokens once per `refillIntervalMs`, not one token every 6 s (ASP.NET Core's
 * TokenBucketRateLimiter works that way, with TokensPerPeriod and ReplenishmentPeriod). The bucket
 * starts full, as the upstream's does for a client that has been quiet.
 *
 * Our refill instants cannot be in phase with the upstream's, so an upstream 429 is the last word:
 * `block(ms)` empties the bucket and refuses every call until the upstream's Retry-After has passed.
 * The clock is injected so tests never sleep.
 */

export interface TokenBucketOptions {
  /** the most tokens the bucket holds (HPR: 200) */
  capacity: number;
  /** tokens added per refill period (HPR: 10) */
  refillAmount: number;
  /** length of a refill period in ms (HPR: 60 000) */
  refillIntervalMs: number;
  /** tokens at the start (default: capacity) */
  initialTokens?: number;
  /** the clock, in ms (default Date.now) */
  now?: () => number;
}

export type TakeResult = { ok: true; remaining: number } | { ok: false; retryAfterMs: number };

/**
 * What an upstream client needs of a rate limiter: the local TokenBucket below, or the bucket the
 * replicas share in Redis (shared/hpr-budget.ts), whose `tryTake` asks Redis.
 */
export interface RateLimiter {
  /** the most tokens the bucket holds */
  readonly capacity: number;
  /** tokens available as far as this process knows (0 while blocked) */
  available(): number;
  /** how long until a token can be had, as far as this process knows (0: try) */
  retryAfterMs(): number;
  /** takes one token, or says how long to wait for one; never waits for a token */
  tryTake(): TakeResult | Promise<TakeResult>;
  /** the upstream answered 429: no token for `retryAfterMs` (or until the next refill) */
  block(retryAfterMs?: number): void;
}

export class TokenBucket implements RateLimiter {
  readonly capacity: number;
  readonly refillAmount: number;
  readonly refillIntervalMs: number;
  private readonly now: () => number;
  private tokens: number;
  /** the start of the current refill period */
  private periodStart: number;
  /** no token is handed out before this instant (an upstream 429's Retry-After) */
  private blockedUntil = 0;

  constructor(options: TokenBucketOptions) {
    const { capacity, refillAmount, refillIntervalMs } = options;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a whole number ≥ 1');
    if (!Number.isInteger(refillAmount) || refillAmount < 1) {
      throw new RangeError('refillAmount must be a whole number ≥ 1');
    }
    if (!(refillIntervalMs > 0)) throw new RangeError('refillIntervalMs must be > 0');
    this.capacity = capacity;
    this.refillAmount = refillAmount;
    this.refillIntervalMs = refillIntervalMs;
    this.now = options.now ?? Date.now;
    this.tokens = Math.min(capacity, Math.max(0, options.initialTokens ?? capacity));
    this.periodStart = this.now();
  }

  /** Adds the tokens of every refill period that has ended since the last look. */
  private refill(now: number): void {
    // a period start in the future (after block(), or a clock stepped back) adds nothing until it is reached
    if (now < this.periodStart) return;
    const periods = Math.floor((now - this.periodStart) / this.refillIntervalMs);
    if (periods > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + periods * this.refillAmount);
      this.periodStart += periods * this.refillIntervalMs;
    }
  }

  /** Tokens available now (0 while blocked). */
  available(): number {
    const now = this.now();
    this.refill(now);
    return now < this.blockedUntil ? 0 : this.tokens;
  }

  /** How long until a token can be had (0 when one is available now). */
  retryAfterMs(): number {
    const now = this.now();
    this.refill(now);
    if (now < this.blockedUntil) return this.blockedUntil - now;
    if (this.tokens >= 1) return 0;
    return this.periodStart + this.refillIntervalMs - now;
  }

  /** Takes one token, or says how long to wait for one. Never waits. */
  tryTake(): TakeResult {
    const wait = this.retryAfterMs();
    if (wait > 0) return { ok: false, retryAfterMs: wait };
    this.tokens -= 1;
    return { ok: true, remaining: this.tokens };
  }

  /**
   * The upstream answered 429: our count was too optimistic. Empties the bucket and refuses tokens
   * for `retryAfterMs` (the upstream's Retry-After), or until our next refill when it sent none.
   * A Retry-After from a token-bucket limiter is the time to its next refill, so our refill phase
   * is moved to match: the block ends with one refill (`refillAmount` tokens), as the upstream's does.
   */
  block(retryAfterMs?: number): void {
    const now = this.now();
    this.refill(now);
    this.tokens = 0;
    if (retryAfterMs === undefined) {
      this.blockedUntil = Math.max(this.blockedUntil, this.periodStart + this.refillIntervalMs);
      return;
    }
    const until = now + Math.max(0, retryAfterMs);
    if (until <= this.blockedUntil) return;
    this.blockedUntil = until;
    this.periodStart = until - this.refillIntervalMs;
  }
}
