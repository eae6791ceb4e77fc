// Template comparison of an expected response (a tx-ecosystem template) with the actual
// response, after the actual has been converted to R5, scrubbed and sorted.
//
// README "Comparing a response", step 3 — every rule below cites it:
//   - objects: a property of the actual must exist in the expected, unless listed in
//     `$optional-properties$` ("*" = all); a property of the expected must exist in the actual
//     unless it is `$optional$` or listed in `$optional-properties$`.
//   - arrays: in order; the actual may not be longer; expected items marked `$optional$` may be
//     missing; `$count-arrays$: [names]` compares only the lengths.
//   - `$optional$` values: true, "!mode", "mode", "version:4" / "version:5", "warning:...".
//   - strings: exact, except whole `$...$` templates (see matchString); two strings both
//     containing `<div` are not compared.
//   - booleans and numbers: exact, and the JSON types must agree.
//   - metadata / term-caps: pattern mode (the actual may carry anything more; each expected
//     array item must be found among the actual items in the same relative order).

import { isArray, isObject, type Json, type JsonObject, preview } from './json.ts';

export interface CompareOptions {
  /** Modes switched on for the run (`general` is implied by the caller). */
  modes: ReadonlySet<string>;
  /** FHIR version of the run, substituted for `$version$` and tested by `version:N`. */
  fhirVersion: string;
  /** Pattern mode (metadata and term-caps). */
  pattern?: boolean;
  /** Stop collecting differences after this many (default 10). */
  maxDifferences?: number;
}

export interface Difference {
  path: string;
  message: string;
}

export interface CompareResult {
  ok: boolean;
  differences: Difference[];
  /** `$optional$: "warning:..."` content that was missing (README: "note a warning if missing"). */
  warnings: string[];
}

interface Ctx {
  modes: ReadonlySet<string>;
  fhirVersion: string;
  pattern: boolean;
}

/** Where a comparison reports to. With both lists null it is a pure yes/no probe. */
interface Sink {
  diffs: Difference[] | null;
  warnings: string[] | null;
  max: number;
}

const PROBE: Sink = { diffs: null, warnings: null, max: 0 };

export function compare(expected: Json, actual: Json, options: CompareOptions): CompareResult {
  const ctx: Ctx = { modes: options.modes, fhirVersion: options.fhirVersion, pattern: options.pattern ?? false };
  const sink: Sink = { diffs: [], warnings: [], max: options.maxDifferences ?? 10 };
  const root = isObject(expected) && typeof expected.resourceType === 'string' ? expected.resourceType : '$';
  const ok = cmp(ctx, expected, actual, root, sink);
  return { ok, differences: sink.diffs ?? [], warnings: sink.warnings ?? [] };
}

// ---------------------------------------------------------------------------------------------
// $optional$

export interface OptionalState {
  optional: boolean;
  /** Set for `warning:...` markers: the text to report when the content is missing. */
  warning?: string;
}

/**
 * Evaluate an `$optional$` marker (README: `true`; `"!mode"` optional unless that mode is on;
 * `"mode"`; `"version:4"` / `"version:5"`; `"warning:..."` optional, note a warning if missing).
 * `"mode"` is read as the complement of `"!mode"`: optional when that mode is on. A string
 * `"true"` is a mode name like any other (the IG says so explicitly).
 */
export function evaluateOptional(
  marker: Json | undefined,
  modes: ReadonlySet<string>,
  fhirVersion: string,
): OptionalState {
  if (marker === true) return { optional: true };
  if (typeof marker !== 'string') return { optional: false };
  if (marker.startsWith('warning:')) return { optional: true, warning: marker.slice('warning:'.length) };
  if (marker.startsWith('version:')) return { optional: fhirVersion.startsWith(marker.slice('version:'.length)) };
  if (marker.startsWith('!')) return { optional: !modes.has(marker.slice(1)) };
  return { optional: modes.has(marker) };
}

function itemOptional(ctx: Ctx, item: Json): OptionalState {
  if (!isObject(item) || !('$optional$' in item)) return { optional: false };
  return evaluateOptional(item.$optional$, ctx.modes, ctx.fhirVersion);
}

/**
 * May an expected property be absent from the actual? Yes when its value is an object marked
 * `$optional$`, or an array whose items are all optional (an actual without the property is an
 * actual with zero items, which such an array accepts: e.g. the `operationoutcome-message-id`
 * extension marked `"!tx.fhir.org"` on issues of servers that send no extension at all).
 */
function absenceAllowed(ctx: Ctx, value: Json): OptionalState {
  if (isObject(value)) return itemOptional(ctx, value);
  if (isArray(value)) {
    const warnings: string[] = [];
    for (const item of value) {
      const s = itemOptional(ctx, item);
      if (!s.optional) return { optional: false };
      if (s.warning) warnings.push(s.warning);
    }
    return warnings.length > 0 ? { optional: true, warning: warnings.join('; ') } : { optional: true };
  }
  return { optional: false };
}

// ---------------------------------------------------------------------------------------------
// string templates

const RE_INSTANT =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/;
// FHIR dateTime (covers date-only forms too): `$date$` is used for CapabilityStatement.date and
// software.releaseDate, both dateTime.
const RE_DATE =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
const RE_UUID = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RE_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const RE_URL = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;
// FHIR `code`: no leading/trailing whitespace, no runs of whitespace.
const RE_TOKEN = /^\S+( \S+)*$/;
const RE_SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

function containsAll(actual: string, fragments: string[]): boolean {
  const a = actual.toLowerCase();
  return fragments.every((f) => a.includes(f.toLowerCase()));
}

/**
 * Match an actual string against an expected template string. Returns undefined on a match, or a
 * description of what was expected.
 *
 * `$version$` is substituted wherever it occurs (the files use it inside longer strings, e.g.
 * `http://hl7.org/fhir/administrative-gender|$version$`), then a whole value `$...$` is a
 * template: `$$`, `$instant$`, `$date$`, `$uuid$`, `$id$`, `$url$`, `$token$`, `$string$`,
 * `$semver$`, `$choice:a|b$`, `$fragments:a|b$`, `$external:N$` / `$external:N:a|b$`. With no
 * messages file an `$external$` is checked by its fragments only (everything after `N:`, split on
 * `|`; URLs in fragments keep their colons); without fragments it matches anything.
 */
export function matchString(expected: string, actual: string, fhirVersion: string): string | undefined {
  const e = expected.includes('$version$') ? expected.replaceAll('$version$', fhirVersion) : expected;
  if (!(e.length >= 2 && e.startsWith('$') && e.endsWith('$'))) {
    return actual === e ? undefined : preview(e);
  }
  const body = e.slice(1, -1);
  if (body === '') return undefined;
  if (body.startsWith('choice:')) {
    const choices = body.slice('choice:'.length).split('|');
    return choices.includes(actual) ? undefined : `one of ${preview(choices)}`;
  }
  if (body.startsWith('fragments:')) {
    const fragments = body.slice('fragments:'.length).split('|');
    return containsAll(actual, fragments) ? undefined : `a string containing all of ${preview(fragments)}`;
  }
  if (body.startsWith('external:')) {
    const rest = body.slice('external:'.length);
    const colon = rest.indexOf(':');
    if (colon < 0) return undefined;
    const fragments = rest.slice(colon + 1).split('|');
    return containsAll(actual, fragments)
      ? undefined
      : `a message (external ${rest.slice(0, colon)}) containing all of ${preview(fragments)}`;
  }
  switch (body) {
    case 'instant':
      return RE_INSTANT.test(actual) ? undefined : 'an instant';
    case 'date':
      return RE_DATE.test(actual) ? undefined : 'a date/dateTime';
    case 'uuid':
      return RE_UUID.test(actual) ? undefined : 'a urn:uuid:';
    case 'id':
      return RE_ID.test(actual) ? undefined : 'an id';
    case 'url':
      return RE_URL.test(actual) ? undefined : 'an absolute URL';
    case 'token':
      return RE_TOKEN.test(actual) ? undefined : 'a token';
    case 'string':
      return actual.length > 0 && actual.trim() === actual ? undefined : 'a string without leading/trailing space';
    case 'semver':
      return RE_SEMVER.test(actual) ? undefined : 'a semver';
    default:
      return `(unknown template ${e})`;
  }
}

// ---------------------------------------------------------------------------------------------
// recursive comparison

function kind(v: Json | undefined): string {
  if (v === undefined) return 'absent';
  if (v === null) return 'null';
  if (isArray(v)) return 'array';
  return typeof v;
}

function fail(sink: Sink, path: string, message: string): false {
  if (sink.diffs && sink.diffs.length < sink.max) sink.diffs.push({ path, message });
  return false;
}

function collecting(sink: Sink): boolean {
  return sink.diffs !== null && sink.diffs.length < sink.max;
}

function stringList(v: Json | undefined): string[] {
  return isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** `parameter[3](message)`: the index plus a name/code/url of the item, to make paths readable. */
function itemPath(path: string, index: number, item: Json | undefined): string {
  let label = '';
  if (isObject(item)) {
    for (const k of ['name', 'code', 'url']) {
      const v = item[k];
      if (typeof v === 'string') {
        label = `(${v.length > 40 ? `${v.slice(0, 39)}…` : v})`;
        break;
      }
    }
  }
  return `${path}[${index}]${label}`;
}

function cmp(ctx: Ctx, e: Json, a: Json, path: string, sink: Sink): boolean {
  if (isArray(e) || isArray(a)) {
    if (!isArray(e) || !isArray(a)) return fail(sink, path, `expected ${kind(e)}, got ${kind(a)} ${preview(a)}`);
    return cmpArray(ctx, e, a, path, sink);
  }
  if (isObject(e) || isObject(a)) {
    if (!isObject(e) || !isObject(a)) return fail(sink, path, `expected ${kind(e)}, got ${kind(a)} ${preview(a)}`);
    return cmpObject(ctx, e, a, path, sink);
  }
  // primitives: strings go through the template matcher; otherwise exact, same JSON type
  if (typeof e === 'string' && typeof a === 'string') {
    if (e.includes('<div') && a.includes('<div')) return true;
    const want = matchString(e, a, ctx.fhirVersion);
    return want === undefined ? true : fail(sink, path, `expected ${want}, got ${preview(a)}`);
  }
  if (kind(e) !== kind(a)) {
    return fail(sink, path, `expected ${kind(e)} ${preview(e)}, got ${kind(a)} ${preview(a)}`);
  }
  return e === a ? true : fail(sink, path, `expected ${preview(e)}, got ${preview(a)}`);
}

/** `error/not-found: text` of an OperationOutcome's first issue, to say why a server failed. */
function outcomeSummary(a: JsonObject): string {
  const issue = isArray(a.issue) ? a.issue[0] : undefined;
  if (!isObject(issue)) return '';
  const details = isObject(issue.details) ? issue.details.text : undefined;
  const text = typeof details === 'string' ? details : issue.diagnostics;
  return ` (${String(issue.severity)}/${String(issue.code)}${typeof text === 'string' ? `: ${preview(text, 150)}` : ''})`;
}

function cmpObject(ctx: Ctx, e: JsonObject, a: JsonObject, path: string, sink: Sink): boolean {
  // A different resource type makes every other difference noise: report it alone.
  if (typeof e.resourceType === 'string' && typeof a.resourceType === 'string' && e.resourceType !== a.resourceType) {
    return fail(sink, path, `expected resourceType ${e.resourceType}, got ${a.resourceType}${outcomeSummary(a)}`);
  }
  const optionalProps = stringList(e['$optional-properties$']);
  const allOptional = optionalProps.includes('*');
  const countOnly = stringList(e['$count-arrays$']);
  let ok = true;
  for (const [k, ev] of Object.entries(e)) {
    // `$...$` keys are template directives, never data. Keys like the misspelt `"$optional"` in a
    // few version/* files are directives too: no FHIR property name starts with `$`.
    if (k.startsWith('$') || k === 'fhir_comments') continue;
    const p = `${path}.${k}`;
    if (k in a) {
      const av = a[k];
      let r: boolean;
      if (countOnly.includes(k) && isArray(ev) && isArray(av)) {
        r = ev.length === av.length || fail(sink, p, `expected ${ev.length} items, got ${av.length}`);
      } else {
        r = cmp(ctx, ev, av, p, sink);
      }
      if (!r) {
        ok = false;
        if (!collecting(sink)) return false;
      }
      continue;
    }
    if (allOptional || optionalProps.includes(k)) continue;
    const absence = absenceAllowed(ctx, ev);
    if (absence.optional) {
      if (absence.warning && sink.warnings) sink.warnings.push(`${p}: missing (${absence.warning})`);
      continue;
    }
    ok = fail(sink, p, `missing property; expected ${preview(ev)}`);
    if (!collecting(sink)) return false;
  }
  if (!ctx.pattern) {
    for (const [k, av] of Object.entries(a)) {
      if (k in e || k === 'fhir_comments' || allOptional || optionalProps.includes(k)) continue;
      ok = fail(sink, `${path}.${k}`, `unexpected property; got ${preview(av)}`);
      if (!collecting(sink)) return false;
    }
  }
  return ok;
}

function cmpArray(ctx: Ctx, e: Json[], a: Json[], path: string, sink: Sink): boolean {
  if (ctx.pattern) return cmpArrayPattern(ctx, e, a, path, sink);
  const optional = e.map((item) => itemOptional(ctx, item));

  if (!optional.some((o) => o.optional)) {
    // No optional items: a plain pairwise comparison (the common case, and the big expansions).
    const n = Math.min(e.length, a.length);
    for (let i = 0; i < n; i++) {
      if (!cmp(ctx, e[i], a[i], itemPath(path, i, a[i]), sink)) return false;
    }
    if (a.length > e.length) {
      return fail(sink, itemPath(path, e.length, a[e.length]), `unexpected extra item ${preview(a[e.length])}`);
    }
    if (a.length < e.length) {
      return fail(
        sink,
        `${path}[${a.length}]`,
        `missing item (got ${a.length} of ${e.length}); expected ${preview(e[a.length])}`,
      );
    }
    return true;
  }

  // With optional items: does some in-order alignment consume every actual item, matching each
  // one to an expected item and skipping only optional expected items? Memoised search, so an
  // optional item that happens to match the next actual item cannot wrongly steal it.
  const es = e.length;
  const as = a.length;
  const pairMemo = new Map<number, boolean>();
  const pair = (i: number, c: number): boolean => {
    const key = i * as + c;
    let r = pairMemo.get(key);
    if (r === undefined) {
      r = cmp(ctx, e[i], a[c], '', PROBE);
      pairMemo.set(key, r);
    }
    return r;
  };
  const restOptional = (i: number): boolean => optional.slice(i).every((o) => o.optional);
  const fitMemo = new Map<number, boolean>();
  const fits = (i: number, c: number): boolean => {
    if (i === es) return c === as;
    if (c === as) return restOptional(i);
    if (as - c > es - i) return false;
    const key = i * (as + 1) + c;
    let r = fitMemo.get(key);
    if (r === undefined) {
      r = (pair(i, c) && fits(i + 1, c + 1)) || (optional[i].optional && fits(i + 1, c));
      fitMemo.set(key, r);
    }
    return r;
  };

  if (fits(0, 0)) {
    if (sink.warnings) {
      // Walk the alignment found, collecting warnings (skipped `warning:` items and nested ones).
      let c = 0;
      for (let i = 0; i < es; i++) {
        if (c < as && pair(i, c) && fits(i + 1, c + 1)) {
          cmp(ctx, e[i], a[c], itemPath(path, c, a[c]), sink);
          c++;
        } else if (optional[i].warning) {
          sink.warnings.push(`${itemPath(path, i, e[i])}: missing (${optional[i].warning})`);
        }
      }
    }
    return true;
  }
  if (!sink.diffs) return false;

  // Explain the failure with the greedy in-order walk (the reference runner's algorithm): the first
  // required expected item that does not match the current actual item, or a surplus actual item.
  let c = 0;
  for (let i = 0; i < es; i++) {
    if (c >= as) {
      if (restOptional(i)) break;
      return fail(sink, `${path}[${i}]`, `missing item (got ${as} items); expected ${preview(e[i])}`);
    }
    if (pair(i, c)) {
      c++;
      continue;
    }
    if (optional[i].optional) continue;
    cmp(ctx, e[i], a[c], itemPath(path, c, a[c]), sink);
    return false;
  }
  if (c < as) return fail(sink, itemPath(path, c, a[c]), `unexpected extra item ${preview(a[c])}`);
  // Greedy walk succeeded where the search failed: cannot happen, but never report a silent failure.
  return fail(sink, path, 'array items do not match');
}

function cmpArrayPattern(ctx: Ctx, e: Json[], a: Json[], path: string, sink: Sink): boolean {
  // Pattern mode: each expected item must be found among the actual items, in the same relative
  // order; extra actual items are fine. Earliest-match greedy is optimal for subsequences.
  let c = 0;
  for (let i = 0; i < e.length; i++) {
    let found = -1;
    for (let j = c; j < a.length; j++) {
      if (cmp(ctx, e[i], a[j], '', PROBE)) {
        found = j;
        break;
      }
    }
    if (found < 0) {
      const opt = itemOptional(ctx, e[i]);
      if (opt.optional) {
        if (opt.warning && sink.warnings) sink.warnings.push(`${itemPath(path, i, e[i])}: missing (${opt.warning})`);
        continue;
      }
      if (!sink.diffs) return false;
      // Say why. If some candidate matches down to a nested difference, that difference is the
      // explanation (e.g. the CodeSystem resource lacks one operation); else report the item.
      let best = -1;
      let bestDepth = 0;
      for (let j = c; j < a.length && j < c + 50; j++) {
        const probe: Sink = { diffs: [], warnings: null, max: 1 };
        cmp(ctx, e[i], a[j], '', probe);
        const first = probe.diffs?.[0]?.path ?? '';
        const depth = (first.replace(/\([^)]*\)/g, '').match(/[.[]/g) ?? []).length;
        if (depth > bestDepth) {
          best = j;
          bestDepth = depth;
        }
      }
      if (best >= 0 && bestDepth >= 2) {
        cmp(ctx, e[i], a[best], itemPath(path, best, a[best]), sink);
      } else {
        const where = c > 0 ? ` after actual item ${c - 1}` : '';
        fail(sink, `${path}[${i}]`, `no actual item${where} matches expected ${preview(e[i])}`);
      }
      return false;
    }
    if (sink.warnings) cmp(ctx, e[i], a[found], itemPath(path, found, a[found]), sink);
    c = found + 1;
  }
  return true;
}
