import { describe, expect, test } from 'vitest';
import { TokenBucket } from '../../src/upstream/rate-limit.ts';

const MINUTE = 60_000;

function hprBucket(start = 1_000_000) {
  const clock = { t: start };
  const bucket = new TokenBucket({ capacity: 200, refillAmount: 10, refillIntervalMs: MINUTE, now: () => clock.t });
  return { clock, bucket };
}

function takeAll(bucket: TokenBucket): number {
  let n = 0;
  while (bucket.tryTake().ok) n++;
  return n;
}

describe('TokenBucket (HPR: 200, refilled 10 per minute)', () => {
  test('starts full: 200 tokens, then a refusal with the time to the next refill', () => {
    const { clock, bucket } = hprBucket();
    expect(takeAll(bucket)).toBe(200);
    clock.t += 15_000;
    expect(bucket.tryTake()).toEqual({ ok: false, retryAfterMs: 45_000 });
  });

  test('refills periodically: nothing before the minute, 10 at it', () => {
    const { clock, bucket } = hprBucket();
    takeAll(bucket);
    clock.t += MINUTE - 1;
    expect(bucket.available()).toBe(0);
    clock.t += 1;
    expect(bucket.available()).toBe(10);
    expect(takeAll(bucket)).toBe(10);
    expect(bucket.retryAfterMs()).toBe(MINUTE);
  });

  test('several periods add up, but never beyond capacity', () => {
    const { clock, bucket } = hprBucket();
    takeAll(bucket);
    clock.t += 3 * MINUTE + 5_000;
    expect(bucket.available()).toBe(30);
    clock.t += 60 * MINUTE;
    expect(bucket.available()).toBe(200);
  });

  test('the refill keeps its phase while the bucket is full', () => {
    const { clock, bucket } = hprBucket();
    clock.t += 10 * MINUTE + 30_000;
    takeAll(bucket);
    expect(bucket.retryAfterMs()).toBe(30_000);
  });

  test('block(retryAfter) empties the bucket, refuses until then, and ends with one refill', () => {
    const { clock, bucket } = hprBucket();
    expect(bucket.available()).toBe(200);
    bucket.block(42_000);
    expect(bucket.tryTake()).toEqual({ ok: false, retryAfterMs: 42_000 });
    clock.t += 41_999;
    expect(bucket.available()).toBe(0);
    clock.t += 1;
    expect(bucket.available()).toBe(10);
    // the next refill is a whole period after the block ended (the upstream's phase)
    takeAll(bucket);
    expect(bucket.retryAfterMs()).toBe(MINUTE);
  });

  test('block() without Retry-After waits for our next refill', () => {
    const { clock, bucket } = hprBucket();
    clock.t += 20_000;
    bucket.block();
    expect(bucket.retryAfterMs()).toBe(40_000);
    clock.t += 40_000;
    expect(bucket.available()).toBe(10);
  });

  test('a shorter second block does not shorten the first', () => {
    const { bucket } = hprBucket();
    bucket.block(50_000);
    bucket.block(5_000);
    expect(bucket.retryAfterMs()).toBe(50_000);
  });

  test('initialTokens', () => {
    const bucket = new TokenBucket({
      capacity: 5,
      refillAmount: 1,
      refillIntervalMs: 1000,
      initialTokens: 2,
      now: () => 0,
    });
    expect(takeAll(bucket)).toBe(2);
  });

  test.each([
    [{ capacity: 0, refillAmount: 1, refillIntervalMs: 1 }],
    [{ capacity: 1, refillAmount: 0, refillIntervalMs: 1 }],
    [{ capacity: 1, refillAmount: 1, refillIntervalMs: 0 }],
    [{ capacity: 1.5, refillAmount: 1, refillIntervalMs: 1 }],
  ])('rejects %j', (options) => {
    expect(() => new TokenBucket(options)).toThrow(RangeError);
  });
});
