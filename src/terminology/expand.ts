/**
 * ValueSet expansion: `expandValueSet(ctx, valueSet, options)` builds the R4 ValueSet with its
 * `expansion` (http://hl7.org/fhir/R4/valueset-operation-expand.html).
 *
 * The codes come from compose.ts; this module adds what $expand defines on top:
 * - `filter`: a text search; every word of the filter must start a word of the code, the display
 *   or a designation (case-insensitive), which is how the tx-ecosystem search tests read it;
 * - display language (language.ts), `includeDesignations` / `designation`, `property`, and the
 *   concept properties that extensions carry (label, order, itemWeight, status): each code's
 *   `contains` entry is built by expand-contains.ts;
 * - hierarchy: `contains` nest along the code system hierarchy unless `excludeNested`, the value
 *   set enumerates codes / imports value sets, a page is asked for, or a text search runs over a
 *   whole code system (then the result is a flat search result, as tx.fhir.org gives it);
 * - paging (`offset`, `count`), `total`, and a size limit: an expansion larger than the limit
 *   without `count` is refused as too costly (the tx-ecosystem big suite);
 * - `expansion.parameter`: the inputs that shaped the result (with the defaults that took
 *   effect), `used-codesystem`, `used-valueset`, `used-supplement`;
 * - `date` (ctx.date): the code system and value set versions in effect that day, and the
 *   concepts' status that day (validity.ts); no version in effect is an error.
 * R5-only elements are written in their R4 cross-version extension form
 * (http://hl7.org/fhir/versions.html#extensions): `expansion.property` and
 * `expansion.contains.property`.
 */

import type {
  Extension,
  ValueSet,
  ValueSetExpansion,
  ValueSetExpansionContains,
  ValueSetExpansionParameter,
} from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { EXPAND_MSG, type ExpansionEntry, evaluateCompose, valueSetCanonical } from './compose.ts';
import type { TxContext } from './context.ts';
import { OUT_OF_DATE_PARAMETER } from './currency.ts';
import { ContainsBuilder } from './expand-contains.ts';
import { echoLanguageList, resolveDisplayLanguage, valueSetExpansionParameters } from './language.ts';
import { searchEntries, words } from './text-search.ts';
import { type VersionRules, withValueSetDefaults } from './version-rules.ts';
import { splitCanonical } from './versions.ts';

export const EXPANSION_PROPERTY_EXT =
  'http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property';
export { CONTAINS_PROPERTY_EXT } from './expand-contains.ts';

/** Default for `maxExpansionSize`: the size tx.fhir.org refuses without paging (big/expand-no-limit). */
export const DEFAULT_MAX_EXPANSION_SIZE = 1000;

export interface ExpandOptions {
  /** text filter */
  filter?: string;
  offset?: number;
  count?: number;
  includeDesignations?: boolean;
  /** `designation` parameters: `system|code` of a use, or `urn:ietf:bcp:47|lang` */
  designations?: string[];
  includeDefinition?: boolean;
  activeOnly?: boolean;
  excludeNested?: boolean;
  excludeNotForUI?: boolean;
  excludePostCoordinated?: boolean;
  /** the `displayLanguage` parameter */
  displayLanguage?: string;
  /** the HTTP Accept-Language header */
  acceptLanguage?: string;
  /** `property` parameters */
  properties?: string[];
  rules?: VersionRules;
  /** default-valueset-version / check-valueset-version / force-valueset-version */
  valueSetRules?: VersionRules;
  /** `useSupplement` parameters */
  useSupplements?: string[];
  /** `exclude-system` parameters: code systems (`url` or `url|version`) left out of the expansion */
  excludeSystems?: string[];
  /** largest expansion returned without `count` (default 1000) */
  maxExpansionSize?: number;
}

// ---------------------------------------------------------------------------------------------
// Hierarchy

function entryKey(e: { system: string; version?: string; code: string }): string {
  return `${e.system}|${e.version ?? ''}#${e.code}`;
}

/** Nests entries under their nearest ancestor that is in the expansion. */
function nest(entries: ExpansionEntry[], nodes: ValueSetExpansionContains[]): ValueSetExpansionContains[] {
  const byKey = new Map<string, ValueSetExpansionContains>();
  entries.forEach((e, i) => {
    byKey.set(entryKey(e), nodes[i]);
  });
  const roots: ValueSetExpansionContains[] = [];
  entries.forEach((e, i) => {
    const parent = nearestIncludedAncestor(e, byKey);
    if (!parent) roots.push(nodes[i]);
    else if (parent.contains) parent.contains.push(nodes[i]);
    else parent.contains = [nodes[i]];
  });
  return roots;
}

function nearestIncludedAncestor(
  e: ExpansionEntry,
  byKey: Map<string, ValueSetExpansionContains>,
): ValueSetExpansionContains | undefined {
  if (!e.concept || !e.source) return undefined;
  const idx = e.source.index;
  const seen = new Set<string>([e.code]);
  let frontier = [...e.concept.parents];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const p of frontier) {
      if (seen.has(p)) continue;
      seen.add(p);
      const hit = byKey.get(entryKey({ system: e.system, version: e.version, code: p }));
      if (hit) return hit;
      next.push(...(idx.get(p)?.parents ?? []));
    }
    frontier = next;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Expansion

function tooCostly(valueSet: ValueSet, limit: number): OperationOutcomeError {
  const text = EXPAND_MSG.tooCostly(valueSetCanonical(valueSet), limit);
  const issue = makeIssue({ code: 'too-costly', text, messageId: 'VALUESET_TOO_COSTLY' });
  issue.diagnostics = text;
  return new OperationOutcomeError(422, [issue]);
}

let lastNow = { ms: Number.NaN, iso: '' };

/** The current time as an ISO instant; formatted once per millisecond (busy servers expand many times in one). */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastNow.ms) lastNow = { ms, iso: new Date(ms).toISOString() };
  return lastNow.iso;
}

/** Elements left out of the expanded value set unless `includeDefinition` (as tx.fhir.org does). */
const DEFINITION_ELEMENTS = [
  'purpose',
  'compose',
  'description',
  'contact',
  'copyright',
  'publisher',
  'extension',
  'contained',
] as const;

/**
 * Expands a value set. Throws OperationOutcomeError when it cannot (see compose.ts) or when the
 * result is larger than `maxExpansionSize` and no `count` limits it.
 */
export function expandValueSet(ctx: TxContext, valueSet: ValueSet, given: ExpandOptions = {}): ValueSet {
  const options = withOwnParameters(valueSet, given);
  const filterWords = [...new Set(words(options.filter))];
  const composed = evaluateCompose(ctx, valueSet, {
    rules: options.rules,
    valueSetRules: options.valueSetRules,
    activeOnly: options.activeOnly,
    supplements: options.useSupplements,
    textFilter: filterWords,
  });

  let entries = filterWords.length > 0 ? searchEntries(composed, filterWords) : composed.entries;
  if (options.excludeNotForUI) entries = entries.filter((e) => !e.abstract);
  const excludedSystems = (options.excludeSystems ?? []).map((c) => splitCanonical(c));
  if (excludedSystems.length > 0) {
    entries = entries.filter(
      (e) => !excludedSystems.some((x) => x.url === e.system && (x.version === undefined || x.version === e.version)),
    );
  }

  const total = entries.length;
  const offset = Math.max(0, options.offset ?? 0);
  const count = options.count !== undefined ? Math.max(0, options.count) : undefined;
  const limit = options.maxExpansionSize ?? DEFAULT_MAX_EXPANSION_SIZE;
  if (count === undefined && total - offset > limit) throw tooCostly(valueSet, limit);

  const hierarchical =
    options.excludeNested !== true &&
    composed.hierarchyAllowed &&
    !(filterWords.length > 0 && composed.wholeSystemInclude) &&
    offset === 0 &&
    (count === undefined || count > total) &&
    entries.every((e) => (e.concept?.parents.length ?? 0) <= 1);

  const displayLanguage = resolveDisplayLanguage(options.displayLanguage, valueSet, options.acceptLanguage);
  const builder = new ContainsBuilder(valueSet, options, displayLanguage, composed.multiVersion, ctx.date);
  const page = hierarchical ? entries : entries.slice(offset, count === undefined ? undefined : offset + count);
  // building the contains is work too: a page of 100,000 codes is charged to the budget as it grows
  const nodes = page.map((e) => {
    ctx.budget.spend();
    return builder.build(e);
  });
  const contains = hierarchical ? nest(page, nodes) : nodes;

  const expansion: ValueSetExpansion = {
    // joined, not a template literal: a flat string (fast-json.ts)
    identifier: ['urn:uuid:', crypto.randomUUID()].join(''),
    timestamp: isoNow(),
    total,
  };
  if (options.offset !== undefined) expansion.offset = offset;
  const parameter: ValueSetExpansionParameter[] = [];
  const add = (name: string, key: string, value: unknown): void => {
    if (value === undefined) return;
    if (parameter.some((p) => p.name === name && (p as unknown as Record<string, unknown>)[key] === value)) return;
    const p: Record<string, unknown> = { name };
    p[key] = value;
    parameter.push(p as unknown as ValueSetExpansionParameter);
  };
  if (filterWords.length > 0) add('filter', 'valueString', options.filter);
  // the day the expansion was made for (the `date` parameter, at day precision)
  add('date', 'valueDateTime', ctx.date);
  // the list that took effect (the parameter, else the header or the value set's language)
  add('displayLanguage', 'valueCode', displayLanguage ? echoLanguageList(displayLanguage) : undefined);
  for (const d of options.designations ?? []) add('designation', 'valueString', d);
  add('excludeNested', 'valueBoolean', options.excludeNested);
  add('activeOnly', 'valueBoolean', options.activeOnly);
  add('includeDesignations', 'valueBoolean', options.includeDesignations);
  add('includeDefinition', 'valueBoolean', options.includeDefinition);
  add('excludeNotForUI', 'valueBoolean', options.excludeNotForUI);
  add('excludePostCoordinated', 'valueBoolean', options.excludePostCoordinated);
  add('offset', 'valueInteger', options.offset);
  add('count', 'valueInteger', options.count);
  for (const x of options.excludeSystems ?? []) add('exclude-system', 'valueUri', x);
  for (const [name, value] of composed.parameters) {
    if (name === 'versionsMatch') add(name, 'valueBoolean', value === 'true');
    else if (name === OUT_OF_DATE_PARAMETER) add(name, 'valueString', value);
    else add(name, 'valueUri', value);
  }
  if (parameter.length > 0) expansion.parameter = parameter;
  const extensions: Extension[] = [...composed.extensions];
  for (const [code, uri] of builder.declared) {
    extensions.push({
      url: EXPANSION_PROPERTY_EXT,
      extension: [{ url: 'code', valueCode: code }, ...(uri ? [{ url: 'uri', valueUri: uri }] : [])],
    });
  }
  if (extensions.length > 0) expansion.extension = extensions;
  if (contains.length > 0) expansion.contains = contains;

  const result = { ...expansionBase(valueSet, options.includeDefinition === true) } as ValueSet;
  result.expansion = expansion;
  return result;
}

/** The boolean $expand parameters a value set may set for its own expansions. */
const OWN_FLAGS = [
  'activeOnly',
  'excludeNested',
  'includeDesignations',
  'includeDefinition',
  'excludeNotForUI',
  'excludePostCoordinated',
] as const;

/**
 * The options with the value set's own parameters (`valueset-expansion-parameter` extensions: "a
 * default parameter to use when expanding this value set", which a parameter of the request
 * overrides, or adds to where the parameter repeats). displayLanguage is read where the display
 * language is decided (language.ts); $validate-code reads the same parameters (validate.ts).
 */
function withOwnParameters(valueSet: ValueSet, options: ExpandOptions): ExpandOptions {
  const own = valueSetExpansionParameters(valueSet);
  if (own.size === 0) return options;
  const merged: ExpandOptions = { ...options };
  for (const name of OWN_FLAGS) {
    const value = own.get(name);
    if (merged[name] === undefined && (value === 'true' || value === 'false')) merged[name] = value === 'true';
  }
  const designation = own.get('designation');
  if (designation !== undefined) merged.designations = [...(options.designations ?? []), designation];
  const property = own.get('property');
  if (property !== undefined && (options.properties ?? []).length === 0) merged.properties = [property];
  const rules = withValueSetDefaults(options.rules, own);
  if (rules) merged.rules = rules;
  return merged;
}

/** The elements of each value set that its expansions carry, with and without the definition. */
const bases = new WeakMap<ValueSet, { plain?: ValueSet; withDefinition?: ValueSet }>();

/**
 * The value set as its expansions carry it, without its expansion: made once per value set (stored
 * resources are not changed), and copied with a spread for each expansion, which is cheap and gives
 * every expansion the same object shape. It is built element by element rather than copied whole
 * and then pruned: an object that loses properties becomes a slow dictionary in V8, for every later
 * read and for serialising.
 */
function expansionBase(valueSet: ValueSet, includeDefinition: boolean): ValueSet {
  let known = bases.get(valueSet);
  if (!known) {
    known = {};
    bases.set(valueSet, known);
  }
  const kept = includeDefinition ? known.withDefinition : known.plain;
  if (kept) return kept;
  const leftOut = includeDefinition ? NEVER_COPIED : NEVER_COPIED_WITHOUT_DEFINITION;
  const source = valueSet as unknown as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const k of Object.keys(source)) if (!leftOut.has(k)) copy[k] = source[k];
  const base = copy as unknown as ValueSet;
  // status is 1..1: a value set sent without one is answered with `unknown` rather than an invalid resource
  if (typeof base.status !== 'string') base.status = 'unknown';
  if (includeDefinition) known.withDefinition = base;
  else known.plain = base;
  return base;
}

/** The elements of the value set an expansion never carries over: its narrative, meta and old expansion. */
const NEVER_COPIED = new Set<string>(['text', 'meta', 'expansion']);
const NEVER_COPIED_WITHOUT_DEFINITION = new Set<string>([...NEVER_COPIED, ...DEFINITION_ELEMENTS]);
