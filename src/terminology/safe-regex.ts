import { RE2JS } from 're2js';

/**
 * Regular expressions that come from data or from a request (`regex` value set filters, code
 * system patterns) run on RE2 (re2js, a JavaScript port of RE2): matching takes time linear in the
 * input, whatever the pattern, so a pattern such as `(a+)+` cannot stall the process the way it
 * stalls a backtracking engine. RE2 has no back-references or look-around; a pattern that uses
 * them is refused as not valid, which is the honest answer for a filter we cannot evaluate.
 */

/** Longest pattern accepted (characters). FHIR filter values are short; anything longer is abuse. */
export const MAX_PATTERN_LENGTH = 1000;

export class PatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatternError';
  }
}

/** A compiled pattern that must match a whole value (FHIR `regex` filter semantics). */
export interface WholeMatcher {
  test(value: string): boolean;
}

const cache = new Map<string, WholeMatcher>();
const CACHE_MAX = 256;

/** Compiles `pattern` to match whole values; throws PatternError when it is too long or not valid. */
export function compileWholeMatch(pattern: string): WholeMatcher {
  const hit = cache.get(pattern);
  if (hit) return hit;
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new PatternError(`The regex is longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^error parsing regexp: /, '') : 'not valid';
    throw new PatternError(`The regex '${shorten(pattern)}' is not valid: ${shorten(reason)}`);
  }
  const matcher: WholeMatcher = { test: (value: string) => re.matches(value) };
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, matcher);
  return matcher;
}

function shorten(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}...` : s;
}
