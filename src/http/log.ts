import type { LogLevel } from '../config.ts';

/** Fields of one log line. Never put request bodies, query strings or credentials here. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * A logger that writes one JSON object per line (`time`, `level`, `msg`, then the fields) to
 * `write`, which defaults to stdout. Lines below `level` are dropped.
 */
export function createLogger(level: LogLevel, write: (line: string) => void = writeStdout): Logger {
  const emit = (lineLevel: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields) => {
    if (RANK[lineLevel] < RANK[level]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: lineLevel, msg, ...fields })}\n`);
  };
  return {
    level,
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}

function writeStdout(line: string): void {
  process.stdout.write(line);
}

/**
 * Error details for a server-side log line: the error's class and message, never the request.
 * No stack trace and no stack frame (house rule; a frame names files and line numbers of the
 * deployment), and any URL in the message is replaced by `<url>` (an error from a client library
 * can name the configured upstream address, which may carry a key or tenant in its path).
 */
export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      error: {
        name: err.name,
        message: withoutUrls(err.message).slice(0, 500),
        ...(typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? { code } : {}),
      },
    };
  }
  return { error: { value: withoutUrls(String(err)).slice(0, 200) } };
}

/** `text` with every absolute URL (scheme://...) replaced by `<url>`. */
export function withoutUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>)]*/gi, '<url>');
}
