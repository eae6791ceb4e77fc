import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../http/log.ts';

/**
 * The link to the Redis (or Valkey) that the replicas of one deployment share (REDIS_URL): HPR's
 * token bucket, the person cache and its locks, and the leases and results of the data refreshes
 * live there (README, "Several replicas on Redis").
 *
 * Redis is a help, never a dependency of an answer: every command has a short time limit
 * (REDIS_TIMEOUT), commands are not queued while the connection is down (they fail at once), and a
 * circuit breaker stops asking after a few failures in a row, so that a lost Redis costs a request
 * at most one time limit and usually nothing. Callers catch SharedStateUnavailable and carry on
 * alone (local caches, a local share of HPR's budget). ioredis reconnects in the background; when
 * the connection is ready again the breaker closes and sharing resumes.
 *
 * The URL may hold a password: it is never logged or shown (only host and port are).
 */

/** Redis could not be asked (down, too slow, breaker open): the caller carries on without it. */
export class SharedStateUnavailable extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`shared state (Redis) unavailable: ${reason}`, options);
    this.name = 'SharedStateUnavailable';
  }
}

export interface SharedStateOptions {
  url: string;
  /** time limit of one command, in ms */
  commandTimeoutMs: number;
  /** prefix of every key, e.g. `nff:` */
  keyPrefix: string;
  logger?: Logger;
  /** consecutive failures that open the breaker (default 3) */
  failureThreshold?: number;
  /** how long an open breaker refuses commands before one is let through (default 5 s) */
  openMs?: number;
  /** the clock (default Date.now) */
  now?: () => number;
}

export interface SharedStateStatus {
  state: 'up' | 'down' | 'connecting';
  /** host:port of the Redis (never the password) */
  server: string;
  since: string;
  /** commands that failed (timeouts, refusals, connection lost) since start */
  failures: number;
  /** times the service lost Redis and went on alone */
  outages: number;
  lastError?: string;
}

/** `redis://user:pass@host:6379/0` → `host:6379`. */
export function redisServerName(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'redis';
  }
}

export class SharedState {
  /** this process among the replicas: the value of the locks and leases it holds */
  readonly replicaId = randomUUID();
  readonly keyPrefix: string;
  private readonly client: Redis;
  private readonly log?: Logger;
  private readonly now: () => number;
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly server: string;
  private state: SharedStateStatus['state'] = 'connecting';
  private since: number;
  private consecutive = 0;
  private openUntil = 0;
  private failures = 0;
  private outages = 0;
  private lastError?: string;
  private closed = false;
  private readonly upListeners: (() => void)[] = [];

  constructor(options: SharedStateOptions) {
    this.now = options.now ?? Date.now;
    this.since = this.now();
    this.log = options.logger;
    this.keyPrefix = options.keyPrefix;
    this.threshold = options.failureThreshold ?? 3;
    this.openMs = options.openMs ?? 5000;
    this.server = redisServerName(options.url);
    this.client = new Redis(options.url, {
      lazyConnect: true,
      // no queue: a command while the connection is down fails at once instead of waiting for it
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(1000, options.commandTimeoutMs * 4),
      // reconnect for ever, at most every 2 s: sharing resumes by itself when Redis is back
      retryStrategy: (times) => Math.min(2000, 100 * times),
      // the replicas must not block on a Redis that answers slowly to the ready check
      enableReadyCheck: true,
    });
    this.client.on('ready', () => this.up());
    this.client.on('close', () => this.down('connection closed'));
    // ioredis emits errors on the client for connection problems; they are noted, never thrown
    this.client.on('error', (err: Error) => {
      this.lastError = errorCode(err);
    });
  }

  /** Starts connecting; resolves when connected or when the first attempt failed (never throws). */
  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (err) {
      this.down(errorCode(err));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  /** Whether a command would be tried now (connected and the breaker closed or half-open). */
  get available(): boolean {
    return this.client.status === 'ready' && this.now() >= this.openUntil;
  }

  /** Called each time the connection is (again) ready: e.g. to settle what was done alone. */
  onUp(listener: () => void): void {
    this.upListeners.push(listener);
  }

  key(...parts: string[]): string {
    return `${this.keyPrefix}${parts.join(':')}`;
  }

  /**
   * Runs one command (or a few) on Redis. Throws SharedStateUnavailable when Redis is down, the
   * breaker open, or the command fails or times out; the caller carries on without Redis.
   */
  async run<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
    if (!this.available) {
      throw new SharedStateUnavailable(this.client.status === 'ready' ? 'circuit open' : 'not connected');
    }
    try {
      const value = await fn(this.client);
      this.consecutive = 0;
      if (this.state !== 'up' && this.client.status === 'ready') this.up();
      return value;
    } catch (err) {
      this.failures++;
      this.consecutive++;
      this.lastError = errorCode(err);
      if (this.consecutive >= this.threshold) {
        this.openUntil = this.now() + this.openMs;
        this.down(this.lastError);
      }
      throw new SharedStateUnavailable(this.lastError, { cause: err });
    }
  }

  status(): SharedStateStatus {
    return {
      state: this.state,
      server: this.server,
      since: new Date(this.since).toISOString(),
      failures: this.failures,
      outages: this.outages,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private up(): void {
    if (this.state === 'up') return;
    const wasDown = this.state === 'down';
    this.state = 'up';
    this.since = this.now();
    this.consecutive = 0;
    this.openUntil = 0;
    this.log?.[wasDown ? 'warn' : 'info'](
      wasDown ? 'redis is back: sharing state with the other replicas again' : 'redis connected',
      { redis: this.server },
    );
    for (const l of this.upListeners) l();
  }

  private down(reason: string): void {
    if (this.closed || this.state === 'down') return;
    this.state = 'down';
    this.since = this.now();
    this.outages++;
    this.log?.warn('redis unavailable: serving alone with local caches and a local share of the HPR budget', {
      redis: this.server,
      reason,
    });
  }
}

/** A short, safe description of a Redis error (no URL, no password: ioredis messages hold neither). */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const message = err instanceof Error ? err.message : String(err);
  if (/timed out/i.test(message)) return 'TIMEOUT';
  return message.slice(0, 80).replace(/\b[a-z][a-z0-9+.-]*:\/\/\S*/gi, '<url>');
}

/** A Lua script run by EVALSHA, loaded by EVAL the first time a server lacks it (NOSCRIPT). */
export class LuaScript {
  readonly source: string;
  readonly sha: string;
  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
