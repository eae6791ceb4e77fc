/**
 * The "pattern mode" comparison the tx-ecosystem test runner applies to metadata and term-caps
 * responses (shared/tx-ecosystem/README.md, "Comparing a response"): the actual may carry anything
 * more; every expected property must be present; every expected array item must be found among the
 * actual items in the same relative order; `$...$` string templates match classes of values.
 * Returns a list of differences (empty when the actual matches).
 */

const FHIR_VERSION = '4.0.1';

const TEMPLATES: Record<string, (s: string) => boolean> = {
  $$: () => true,
  $url$: (s) => /^(https?:\/\/|urn:)\S+$/.test(s),
  $token$: (s) => /^\S+$/.test(s),
  $string$: (s) => s.length > 0 && s.trim() === s,
  $id$: (s) => /^[A-Za-z0-9\-.]{1,64}$/.test(s),
  $date$: (s) => /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.test(s),
  $instant$: (s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s),
  $semver$: (s) => /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(s),
  $version$: (s) => s === FHIR_VERSION,
  $uuid$: (s) => /^urn:uuid:[0-9a-f-]{36}$/i.test(s),
};

export function matchPattern(expected: unknown, actual: unknown, path = ''): string[] {
  if (typeof expected === 'string') {
    if (typeof actual !== 'string') return [`${path}: expected a string, got ${JSON.stringify(actual)}`];
    const template = TEMPLATES[expected];
    if (template) return template(actual) ? [] : [`${path}: '${actual}' does not match ${expected}`];
    return expected === actual ? [] : [`${path}: expected '${expected}', got '${actual}'`];
  }
  if (typeof expected === 'number' || typeof expected === 'boolean' || expected === null) {
    return expected === actual ? [] : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array`];
    let from = 0;
    for (let i = 0; i < expected.length; i++) {
      let found = -1;
      for (let j = from; j < actual.length; j++) {
        if (matchPattern(expected[i], actual[j], `${path}[${j}]`).length === 0) {
          found = j;
          break;
        }
      }
      if (found < 0) return [`${path}[${i}]: no item matches ${JSON.stringify(expected[i]).slice(0, 200)} (in order)`];
      from = found + 1;
    }
    return [];
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return [`${path}: expected an object`];
    const out: string[] = [];
    for (const [key, value] of Object.entries(expected)) {
      if (!(key in actual)) {
        out.push(`${path}.${key}: missing`);
        continue;
      }
      out.push(...matchPattern(value, (actual as Record<string, unknown>)[key], `${path}.${key}`));
    }
    return out;
  }
  return [`${path}: unexpected pattern ${JSON.stringify(expected)}`];
}
