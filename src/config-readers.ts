import { ConfigError } from './config-error.ts';

/**
 * Readers of configuration values, shared by src/config.ts and the settings of each upstream
 * (src/directory/hpr-config.ts, directory-config.ts), so that every variable of one kind is written
 * and checked the same way. Each throws ConfigError naming the variable; a value is echoed only
 * where it is not a secret (these readers never read keys).
 */

export type Env = Record<string, string | undefined>;

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
const UNITS: Record<string, number> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR, d: DAY };

/** The trimmed value, or undefined when the variable is unset or blank. */
export function nonEmpty(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number between ${min} and ${max}, got '${raw}'`);
  }
  return n;
}

/** A flag's value: true (true, 1, yes) or false (false, 0, no), any case; undefined for anything else. */
export function flagValue(raw: string | undefined): boolean | undefined {
  const v = raw?.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  return undefined;
}

export function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = flagValue(raw);
  if (value === undefined) throw new ConfigError(`${name} must be true or false, got '${raw.toLowerCase()}'`);
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = nonEmpty(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  const hit = allowed.find((a) => a === raw);
  if (!hit) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
  return hit;
}

/** An absolute http(s) URL without query, fragment or credentials, trailing `/` removed. */
export function httpUrl(env: Env, name: string): string | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got '${raw}'`);
  }
  // credentials are secrets: the message does not repeat the value
  if (url.username || url.password) throw new ConfigError(`${name} must not carry credentials`);
  if (url.search || url.hash) throw new ConfigError(`${name} must not have a query or fragment, got '${raw}'`);
  return raw.replace(/\/+$/, '');
}

const ISO_DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * Milliseconds of a duration written as whole seconds (`3600`), a number with a unit (`500ms`,
 * `30s`, `10m`, `6h`, `7d`) or an ISO 8601 duration of days, hours, minutes and seconds (`PT6H`,
 * `P1DT12H`); years, months and weeks are refused (their length varies). Undefined when unreadable.
 */
export function parseDuration(raw: string): number | undefined {
  const v = raw.trim();
  const unit = /^(\d+)\s*(ms|s|m|h|d)?$/i.exec(v);
  if (unit) return Number(unit[1]) * UNITS[(unit[2] ?? 's').toLowerCase()];
  const upper = v.toUpperCase();
  const m = ISO_DURATION.exec(upper);
  if (!m || upper === 'P' || upper.endsWith('T')) return undefined;
  const [, d, h, mi, s] = m;
  const ms = Number(d ?? 0) * DAY + Number(h ?? 0) * HOUR + Number(mi ?? 0) * MINUTE + Number(s ?? 0) * SECOND;
  return Number.isSafeInteger(Math.round(ms)) ? Math.round(ms) : undefined;
}

/** `ms` as an ISO 8601 duration (`PT6H`, `P1DT30M`), for messages and status output. */
export function formatDuration(ms: number): string {
  let s = Math.round(ms / 1000);
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3_600);
  s -= h * 3_600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const time = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s ? `${s}S` : ''}`;
  if (d === 0 && time === '') return 'PT0S';
  return `P${d ? `${d}D` : ''}${time ? `T${time}` : ''}`;
}

export function duration(env: Env, name: string, fallback: number, min = 0, max = 365 * DAY): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < min || ms > max) {
    throw new ConfigError(
      `${name} must be a duration between ${formatDuration(min)} and ${formatDuration(max)}, as seconds, 30s / 10m / 6h / 7d or ISO 8601 (PT6H), got '${raw}'`,
    );
  }
  return ms;
}
