// Self-consistency against the real tx-ecosystem files (skipped when the folder is absent): every
// expected template must accept a response built from it, after the same R4->R5 / scrub / sort
// pipeline a real response goes through, and must reject an obviously wrong one.

import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compare, evaluateOptional } from '../../conformance/runner/compare.ts';
import { prepareActual } from '../../conformance/runner/execute.ts';
import { isArray, isObject, type Json, type JsonObject } from '../../conformance/runner/json.ts';
import { fileLoader, loadTestCases, selectTests, type TestCase, testsPresent } from '../../conformance/runner/load.ts';

const DIR = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'tx-ecosystem');
const R4 = '4.0.1';
const modes = new Set(['general']);

/** tx.fhir.org's wording of each `$external:N$` (response file -> N -> text), when available. */
type Messages = Record<string, Record<string, string>>;

/** A concrete value for a template string (`messages`: this file's external texts). */
function instantiateString(s: string, messages: Record<string, string> | undefined): string {
  const e = s.replaceAll('$version$', R4);
  if (!(e.length >= 2 && e.startsWith('$') && e.endsWith('$'))) return e;
  const body = e.slice(1, -1);
  if (body.startsWith('choice:')) return body.slice(7).split('|')[0];
  if (body.startsWith('fragments:')) return `msg ${body.slice(10).split('|').join(' / ')}`;
  if (body.startsWith('external:')) {
    const rest = body.slice(9);
    const i = rest.indexOf(':');
    // the reference server's text, so that issues sort as they would for a real server
    const text = messages?.[i < 0 ? rest : rest.slice(0, i)];
    if (
      text !== undefined &&
      (i < 0 ||
        rest
          .slice(i + 1)
          .split('|')
          .every((f) => text.toLowerCase().includes(f.toLowerCase())))
    ) {
      return text;
    }
    return i < 0
      ? 'some message'
      : `msg ${rest
          .slice(i + 1)
          .split('|')
          .join(' / ')}`;
  }
  const fixed: Record<string, string> = {
    '': 'anything',
    instant: '2024-01-02T03:04:05.678Z',
    date: '2024-01-02',
    uuid: 'urn:uuid:12345678-1234-1234-1234-123456789abc',
    id: 'abc-1',
    url: 'http://example.org/x',
    token: 'tok',
    string: 'A string',
    semver: '1.9.3',
  };
  const v = fixed[body];
  if (v === undefined) throw new Error(`unknown template ${e}`);
  return v;
}

/** The template as a plausible response: directives dropped; optional content kept or not. */
function instantiate(t: Json, keepOptional: boolean, messages?: Record<string, string>): Json | undefined {
  if (typeof t === 'string') return instantiateString(t, messages);
  if (isArray(t)) {
    const out: Json[] = [];
    for (const item of t) {
      const v = instantiate(item, keepOptional, messages);
      if (v !== undefined) out.push(v);
    }
    return out;
  }
  if (isObject(t)) {
    if (!keepOptional && evaluateOptional(t.$optional$, modes, R4).optional) return undefined;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(t)) {
      if (k.startsWith('$')) continue;
      const iv = instantiate(v, keepOptional, messages);
      if (iv !== undefined && !(isArray(iv) && iv.length === 0 && isArray(v) && v.length > 0)) out[k] = iv;
    }
    return out;
  }
  return t;
}

const present = testsPresent(DIR);

describe.skipIf(!present)('templates from the tx-ecosystem folder', () => {
  const doc = present ? loadTestCases(DIR) : { suites: [] };
  const load = fileLoader(DIR);
  let messages: Messages = {};
  try {
    messages = present ? (load('messages-tx.fhir.org.json') as unknown as Messages) : {};
  } catch {
    // informative file; fragments are used without it
  }
  const tests: TestCase[] = present
    ? selectTests(doc, { modes, fhirVersion: R4 }).run.filter((t) => {
        try {
          if (t.response) load(t.response);
          return t.response !== undefined;
        } catch {
          return false;
        }
      })
    : [];

  it('has tests', () => expect(tests.length).toBeGreaterThan(400));

  it('every template accepts its instantiation without optional content', () => {
    const failures: string[] = [];
    for (const t of tests) {
      const expected = load(t.response ?? '');
      const actual = prepareActual(t, instantiate(expected, false, messages[t.response ?? '']) ?? null);
      const r = compare(expected, actual, {
        modes,
        fhirVersion: R4,
        pattern: t.operation === 'metadata' || t.operation === 'term-caps',
      });
      if (!r.ok) failures.push(`${t.suite}/${t.name}: ${r.differences[0]?.path} ${r.differences[0]?.message}`);
    }
    expect(failures).toEqual([]);
  });

  it('every template accepts its instantiation with optional content, except where the template is unsorted', () => {
    const failures: string[] = [];
    for (const t of tests) {
      const expected = load(t.response ?? '');
      const actual = prepareActual(t, instantiate(expected, true, messages[t.response ?? '']) ?? null);
      const r = compare(expected, actual, {
        modes,
        fhirVersion: R4,
        pattern: t.operation === 'metadata' || t.operation === 'term-caps',
      });
      if (!r.ok) failures.push(`${t.response}: ${r.differences[0]?.path}`);
    }
    // These templates list an optional `displayLanguage` expansion parameter after
    // `used-codesystem`; a sorted actual carrying it cannot match (README sorts by name).
    for (const f of failures) expect(f).toMatch(/\.json: ValueSet\.expansion\.parameter\[0\]\(displayLanguage\)/);
    expect(failures.length).toBeLessThanOrEqual(14);
  });

  it('every Parameters / ValueSet template rejects a response with one value changed', () => {
    const unchanged: string[] = [];
    for (const t of tests) {
      const expected = load(t.response ?? '');
      if (t.operation === 'metadata' || t.operation === 'term-caps') continue;
      const actual = instantiate(expected, false, messages[t.response ?? '']);
      if (!isObject(actual)) continue;
      actual.resourceType = `${String(actual.resourceType)}X`;
      const r = compare(expected, prepareActual(t, actual), { modes, fhirVersion: R4 });
      if (r.ok) unchanged.push(`${t.suite}/${t.name}`);
    }
    expect(unchanged).toEqual([]);
  });

  it('the test files are all readable (bar the known missing response:flat file)', () => {
    const missing: string[] = [];
    const suites = isArray(doc.suites) ? doc.suites : [];
    for (const s of suites) {
      if (!isObject(s) || !isArray(s.tests)) continue;
      for (const t of s.tests) {
        if (!isObject(t)) continue;
        for (const [k, v] of Object.entries(t)) {
          if (typeof v !== 'string' || !(k.startsWith('request') || k.startsWith('response') || k === 'profile'))
            continue;
          try {
            load(v);
          } catch {
            missing.push(v);
          }
        }
      }
    }
    expect(missing).toEqual(['search/search-expand-all-yes-flat-response.json']);
    expect(join(DIR, 'test-cases.json')).toContain('tx-ecosystem');
  });
});
