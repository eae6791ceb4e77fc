import type { Logger } from '../http/log.ts';
import { type RateLimiter, type TakeResult, TokenBucket } from '../upstream/rate-limit.ts';
import { LuaScript, type SharedState, SharedStateUnavailable } from './redis.ts';

/**
 * HPR's token bucket (200, refilled 10 once a minute) kept in Redis, so that every replica of one
 * Maskinporten client draws on one budget, as HPR counts it: the key names the client id.
 *
 * A token is taken by one Lua script, atomically: it refills the bucket by the periods elapsed on
 * Redis's own clock (TIME, so the replicas' clocks do not matter), takes one token and returns
 * what is left, or how long to wait. The same hash holds `pausedUntil`: an HPR 429 sets it from
 * the Retry-After, and every replica is then refused until it has passed. The refill is periodic,
 * as in rate-limit.ts (ASP.NET Core's TokenBucketRateLimiter): `refillAmount` once per interval.
 *
 * Redis lost: the replica goes on with a local bucket holding its share of HPR's budget
 * (capacity / REPLICAS, refill / REPLICAS; at least one token per interval × REPLICAS/refill),
 * starting from its share of what Redis last said was left, so the replicas together stay within
 * HPR's bucket. The tokens it takes alone are counted, and charged to the shared bucket with the
 * first take after Redis returns. If Redis lost its data meanwhile (a restart without persistence),
 * the bucket is made again from what the first replica back last heard from Redis (plus the
 * refills since), less what each replica took alone, not full: HPR's own bucket did not refill
 * because ours was lost. An HPR 429 corrects what is left of the difference, for everyone.
 */

const BUCKET_SCRIPT = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local interval = tonumber(ARGV[3])
local op = ARGV[4]
local arg = tonumber(ARGV[5])
local ttl = tonumber(ARGV[6])
local init = tonumber(ARGV[7])
if init < 0 then init = cap end
local h = redis.call('HMGET', KEYS[1], 'tokens', 'periodStart', 'pausedUntil')
local tokens = tonumber(h[1])
local periodStart = tonumber(h[2])
local paused = tonumber(h[3]) or 0
if tokens == nil or periodStart == nil then
  tokens = math.min(cap, init)
  periodStart = now
end
if now >= periodStart then
  local periods = math.floor((now - periodStart) / interval)
  if periods > 0 then
    tokens = math.min(cap, tokens + periods * amount)
    periodStart = periodStart + periods * interval
  end
end
local result
if op == 'block' then
  tokens = 0
  if arg < 0 then
    paused = math.max(paused, periodStart + interval)
  else
    local untilMs = now + arg
    if untilMs > paused then
      paused = untilMs
      periodStart = untilMs - interval
    end
  end
  result = {0, paused - now}
else
  tokens = math.max(0, tokens - arg)
  if now < paused then
    result = {0, paused - now}
  elseif tokens >= 1 then
    tokens = tokens - 1
    result = {1, tokens}
  else
    result = {0, periodStart + interval - now}
  end
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'periodStart', periodStart, 'pausedUntil', paused)
redis.call('PEXPIRE', KEYS[1], ttl)
return result
`);

export interface SharedBucketOptions {
  shared: SharedState;
  /** the Maskinporten client id: one bucket per client, as HPR counts */
  clientId: string;
  capacity: number;
  refillAmount: number;
  refillIntervalMs: number;
  /** the replicas expected (REPLICAS): the local share while Redis is down is 1/replicas */
  replicas: number;
  now?: () => number;
  logger?: Logger;
}

/** The share of a bucket one of `replicas` may use alone, never more than its part of the whole. */
export function localShare(
  b: { capacity: number; refillAmount: number; refillIntervalMs: number },
  replicas: number,
): { capacity: number; refillAmount: number; refillIntervalMs: number } {
  const capacity = Math.max(1, Math.floor(b.capacity / replicas));
  if (b.refillAmount >= replicas) {
    return { capacity, refillAmount: Math.floor(b.refillAmount / replicas), refillIntervalMs: b.refillIntervalMs };
  }
  // fewer tokens per interval than replicas: one token every few intervals each
  return { capacity, refillAmount: 1, refillIntervalMs: b.refillIntervalMs * Math.ceil(replicas / b.refillAmount) };
}

export class SharedTokenBucket implements RateLimiter {
  readonly capacity: number;
  private readonly o: SharedBucketOptions;
  private readonly now: () => number;
  private readonly key: string;
  /** the bucket expires when untouched long enough to be full again (then it starts full anyway) */
  private readonly ttlMs: number;
  /** what Redis said last */
  private lastRemaining: number;
  /** when Redis said it (this process's clock); undefined before the first answer */
  private lastHeardAt?: number;
  private waitUntil = 0;
  /** the local share, while Redis cannot be asked */
  private alone?: TokenBucket;
  /** tokens taken alone, not yet charged to the shared bucket */
  private debt = 0;
  /** takes that went to Redis, and those that were decided alone (for /readyz and tests) */
  sharedTakes = 0;
  localTakes = 0;

  constructor(options: SharedBucketOptions) {
    this.o = options;
    this.capacity = options.capacity;
    this.now = options.now ?? Date.now;
    this.key = options.shared.key('hpr', 'bucket', options.clientId);
    this.lastRemaining = options.capacity;
    this.ttlMs = (Math.ceil(options.capacity / options.refillAmount) + 1) * options.refillIntervalMs;
  }

  available(): number {
    if (this.alone) return this.alone.available();
    return this.now() < this.waitUntil ? 0 : this.lastRemaining;
  }

  retryAfterMs(): number {
    if (this.alone) return this.alone.retryAfterMs();
    return Math.max(0, this.waitUntil - this.now());
  }

  async tryTake(): Promise<TakeResult> {
    if (this.o.shared.available) {
      const debt = this.debt;
      try {
        const r = await this.script('take', debt);
        this.debt -= debt;
        this.sharedTakes++;
        this.lastHeardAt = this.now();
        if (this.alone) {
          this.alone = undefined;
          this.o.logger?.info('hpr budget: shared again', { charged: debt });
        }
        if (r.ok) {
          this.lastRemaining = r.value;
          this.waitUntil = 0;
          return { ok: true, remaining: r.value };
        }
        this.lastRemaining = 0;
        this.waitUntil = this.now() + r.value;
        return { ok: false, retryAfterMs: Math.max(1, r.value) };
      } catch (err) {
        if (!(err instanceof SharedStateUnavailable)) throw err;
      }
    }
    this.localTakes++;
    const taken = this.localBucket().tryTake();
    if (taken.ok) this.debt++;
    return taken;
  }

  block(retryAfterMs?: number): void {
    this.waitUntil = Math.max(this.waitUntil, this.now() + (retryAfterMs ?? this.o.refillIntervalMs));
    this.lastRemaining = 0;
    this.alone?.block(retryAfterMs);
    if (!this.o.shared.available) {
      this.localBucket().block(retryAfterMs);
      return;
    }
    // every replica is paused: HPR's 429 is the last word
    this.script('block', retryAfterMs === undefined ? -1 : Math.max(0, Math.round(retryAfterMs))).catch(() => {
      this.localBucket().block(retryAfterMs);
    });
  }

  private localBucket(): TokenBucket {
    if (!this.alone) {
      const share = localShare(this.o, this.o.replicas);
      const initialTokens = Math.min(share.capacity, Math.floor(this.lastRemaining / this.o.replicas));
      this.alone = new TokenBucket({ ...share, initialTokens, now: this.now });
      if (this.waitUntil > this.now()) this.alone.block(this.waitUntil - this.now());
      this.o.logger?.warn('hpr budget: redis unavailable, using this replica’s share of HPR’s bucket', {
        capacity: share.capacity,
        perInterval: share.refillAmount,
        intervalMs: share.refillIntervalMs,
        startsWith: initialTokens,
      });
    }
    return this.alone;
  }

  /** What the bucket would hold now by what Redis said last, for remaking a bucket Redis lost (-1: full). */
  private estimate(): number {
    if (this.lastHeardAt === undefined) return -1;
    const periods = Math.floor((this.now() - this.lastHeardAt) / this.o.refillIntervalMs);
    return Math.min(this.capacity, this.lastRemaining + periods * this.o.refillAmount);
  }

  private async script(op: 'take' | 'block', arg: number): Promise<{ ok: boolean; value: number }> {
    const { capacity, refillAmount, refillIntervalMs } = this.o;
    const args = [capacity, refillAmount, refillIntervalMs, op, arg, this.ttlMs, this.estimate()];
    const r = await this.o.shared.run((redis) => BUCKET_SCRIPT.run(redis, [this.key], args));
    if (!Array.isArray(r) || r.length !== 2) throw new SharedStateUnavailable('unexpected bucket script answer');
    return { ok: Number(r[0]) === 1, value: Number(r[1]) };
  }
}
