import { ConfigError } from '../config-error.ts';
import { duration, type Env, integer, MINUTE, nonEmpty } from '../config-readers.ts';

/**
 * Settings of the state the replicas share in Redis (README, "Several replicas on Redis"). Without
 * REDIS_URL the service runs alone, exactly as before.
 *
 * | Variable | Default |
 * |---|---|
 * | REDIS_URL | none: no sharing (`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS) |
 * | REDIS_KEY_PREFIX | `nff:` (every key; lets several deployments share one Redis) |
 * | REDIS_TIMEOUT | `250ms` (time limit of one Redis command; then the replica carries on alone) |
 * | REPLICAS | `2` with REDIS_URL, else `1` (the replicas expected: each takes 1/REPLICAS of HPR's bucket while Redis is down) |
 */
export interface SharedConfig {
  /** the Redis URL; may hold a password: never log it */
  redisUrl?: string;
  keyPrefix: string;
  commandTimeoutMs: number;
  replicas: number;
}

export function parseSharedConfig(env: Env): SharedConfig {
  const redisUrl = redisUrlOf(env);
  const keyPrefix = nonEmpty(env, 'REDIS_KEY_PREFIX') ?? 'nff:';
  if (!/^[\w:.-]{1,64}$/.test(keyPrefix)) {
    throw new ConfigError(`REDIS_KEY_PREFIX must be 1 to 64 letters, digits, '_', '-', '.' or ':', got '${keyPrefix}'`);
  }
  return {
    ...(redisUrl ? { redisUrl } : {}),
    keyPrefix,
    commandTimeoutMs: duration(env, 'REDIS_TIMEOUT', 250, 10, MINUTE / 6),
    replicas: integer(env, 'REPLICAS', redisUrl ? 2 : 1, 1, 1000),
  };
}

function redisUrlOf(env: Env): string | undefined {
  const raw = nonEmpty(env, 'REDIS_URL');
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // the value may hold a password: never repeat it
    throw new ConfigError(
      'REDIS_URL must be a redis:// or rediss:// URL (the value is not repeated: it may hold a password)',
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`REDIS_URL must be a redis:// or rediss:// URL, not ${url.protocol}`);
  }
  if (!url.hostname) throw new ConfigError('REDIS_URL names no host');
  if (url.pathname && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname)) {
    throw new ConfigError('REDIS_URL: the path must be a database number (e.g. /0)');
  }
  return raw;
}
