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

/** Error details for a server-side log line: name, message and stack, never the request. */
export function errorFields(err: unknown): LogFields {
  // No stack trace in the logs (house rule): the name, the message and the one place it was thrown.
  if (err instanceof Error) {
    const at = err.stack
      ?.split('\n')
      .find((l) => l.trim().startsWith('at '))
      ?.trim()
      .replace(/^at /, '')
      .replace(/file:\/\/\S*?\/(src|mappings)\//, '$1/');
    return { error: { name: err.name, message: err.message, ...(at ? { at } : {}) } };
  }
  return { error: { value: String(err) } };
}
