/**
 * ValueSet expansion: `expandValueSet(ctx, valueSet, options)` builds the R4 ValueSet with its
 * `expansion` (http://hl7.org/fhir/R4/valueset-operation-expand.html).
 *
 * The codes come from compose.ts; this module adds what $expand defines on top:
 * - `filter`: a text search; every word of the filter must start a word of the code, the display
 *   or a designation (case-insensitive), which is how the tx-ecosystem search tests read it;
 * - display language (language.ts), `includeDesignations` / `designation`, `property`, and the
 *   concept properties that extensions carry (label, order, itemWeight, status);
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
  CodeSystem,
  CodeSystemConcept,
  CodeSystemConceptDesignation,
  Coding,
  Extension,
  ValueSet,
  ValueSetComposeIncludeConcept,
  ValueSetComposeIncludeConceptDesignation,
  ValueSetExpansion,
  ValueSetExpansionContains,
  ValueSetExpansionParameter,
} from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { arrayOf } from './arrays.ts';
import { designationSources } from './code-systems.ts';
import { type CodeSystemIndex, type IndexedConcept, indexCodeSystem } from './codesystem-index.ts';
import { EXPAND_MSG, type ExpansionEntry, evaluateCompose, valueSetCanonical } from './compose.ts';
import type { TxContext } from './context.ts';
import { OUT_OF_DATE_PARAMETER } from './currency.ts';
import {
  chooseDisplay,
  type DisplayCandidate,
  formatLanguagePreferences,
  type LanguagePreference,
  PREFERRED_FOR_LANGUAGE,
  parseLanguagePreferences,
  resolveDisplayLanguage,
} from './language.ts';
import { searchEntries, words } from './text-search.ts';
import type { VersionRules } from './version-rules.ts';
import { splitCanonical } from './versions.ts';

export const EXPANSION_PROPERTY_EXT =
  'http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property';
export const CONTAINS_PROPERTY_EXT =
  'http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property';
export const COMPOSE_PROPERTY_EXT = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.compose.property';

const SD = 'http://hl7.org/fhir/StructureDefinition';

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
// Building contains

interface PropertyValue {
  code: string;
  uri?: string;
  valueKey: string;
  value: unknown;
}

function valueKeyOf(obj: object): string | undefined {
  for (const k of Object.keys(obj)) if (k.startsWith('value')) return k;
  return undefined;
}

function extValue(exts: Extension[] | undefined, url: string): { key: string; value: unknown } | undefined {
  const ext = exts?.find((e) => e.url === url);
  if (!ext) return undefined;
  const key = valueKeyOf(ext);
  return key ? { key, value: (ext as unknown as Record<string, unknown>)[key] } : undefined;
}

function numeric(v: { value: unknown } | undefined): number | undefined {
  if (!v) return undefined;
  const n = typeof v.value === 'number' ? v.value : Number(v.value);
  return Number.isFinite(n) ? n : undefined;
}

/** The extensions read for concept properties (made once: they are read for every code expanded). */
const EXT = {
  standardsStatus: 'http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status',
  valueSetLabel: 'http://hl7.org/fhir/StructureDefinition/valueset-label',
  codeSystemLabel: 'http://hl7.org/fhir/StructureDefinition/codesystem-label',
  valueSetOrder: 'http://hl7.org/fhir/StructureDefinition/valueset-conceptOrder',
  codeSystemOrder: 'http://hl7.org/fhir/StructureDefinition/codesystem-conceptOrder',
  itemWeight: 'http://hl7.org/fhir/StructureDefinition/itemWeight',
};

/**
 * The URIs of the standard concept properties (http://hl7.org/fhir/concept-properties). Written out
 * rather than joined from a base: a joined constant stays a V8 "cons" string in the old generation,
 * and JSON.stringify leaves its fast path for the whole answer that carries one (an expansion
 * declaring `status` took twice as long to serialise).
 */
const PROP = {
  status: 'http://hl7.org/fhir/concept-properties#status',
  label: 'http://hl7.org/fhir/concept-properties#label',
  order: 'http://hl7.org/fhir/concept-properties#order',
  itemWeight: 'http://hl7.org/fhir/concept-properties#itemWeight',
  definition: 'http://hl7.org/fhir/concept-properties#definition',
};

/** Code system concept extensions that are copied onto `contains` as they are. */
const CS_COPIED_EXTENSIONS = new Set([
  `${SD}/coding-sctdescid`,
  `${SD}/rendering-style`,
  `${SD}/rendering-xhtml`,
  `${SD}/codesystem-alternate`,
]);

/** Value set concept extensions that are copied onto `contains` as they are. */
const VS_COPIED_EXTENSIONS = new Set([
  `${SD}/valueset-supplement`,
  `${SD}/valueset-deprecated`,
  `${SD}/structuredefinition-standards-status`,
  `${SD}/valueset-concept-definition`,
  `${SD}/coding-sctdescid`,
  `${SD}/rendering-style`,
  `${SD}/rendering-xhtml`,
]);

/** The supplement concepts of an entry whose code system has no supplement or language pack. */
const NO_SUPPLEMENT_CONCEPTS: readonly { cs: CodeSystem; concept: IndexedConcept }[] = [];
const NO_DESIGNATIONS: readonly ValueSetComposeIncludeConceptDesignation[] = [];

/** Designation uses that mark a designation as a display in its language. */
function displayUse(use: Coding | undefined): boolean {
  if (!use) return true;
  return use.code === 'display' || use.code === PREFERRED_FOR_LANGUAGE.code;
}

class ContainsBuilder {
  private readonly prefs: LanguagePreference[];
  private readonly options: ExpandOptions;
  private readonly valueSet: ValueSet;
  private readonly multiVersion: boolean;
  private readonly requested: string[];
  /** the properties asked for, and whether that is every one (`*`) */
  private readonly wanted: Set<string>;
  private readonly allProperties: boolean;
  private readonly designationFilter: { system: string; code: string }[];
  /** the request's `date`: the day concept status is judged at (validity.ts) */
  private readonly at?: string;
  /** expansion.property declarations, code → uri */
  readonly declared = new Map<string, string | undefined>();
  /** the default day of the code system last asked (defaultDay) */
  private dayOf: { idx: CodeSystemIndex; day: string } | undefined;

  constructor(
    valueSet: ValueSet,
    options: ExpandOptions,
    displayLanguage: string | undefined,
    multiVersion: boolean,
    at: string | undefined,
  ) {
    this.valueSet = valueSet;
    if (at !== undefined) this.at = at;
    this.options = options;
    this.multiVersion = multiVersion;
    this.prefs = parseLanguagePreferences(displayLanguage);
    this.requested = [...(options.properties ?? []), ...composeProperties(valueSet)]
      .flatMap((p) => p.split(','))
      .map((p) => p.trim())
      .filter((p) => p !== '');
    this.wanted = new Set(this.requested);
    this.allProperties = this.wanted.has('*');
    this.designationFilter = (options.designations ?? []).map((d) => {
      const i = d.lastIndexOf('|');
      return i < 0 ? { system: '', code: d } : { system: d.slice(0, i), code: d.slice(i + 1) };
    });
  }

  build(entry: ExpansionEntry): ValueSetExpansionContains {
    if (!entry.concept || !entry.source) return this.fromStoredContains(entry);
    const { concept, source } = entry;
    const cs = source.codeSystem;
    const extra = designationSources(source);
    const supConcepts =
      extra.length === 0
        ? NO_SUPPLEMENT_CONCEPTS
        : extra
            .map((s) => ({ cs: s, concept: indexCodeSystem(s).get(entry.code) }))
            .filter((x): x is { cs: CodeSystem; concept: IndexedConcept } => x.concept !== undefined);
    const out: ValueSetExpansionContains = { system: entry.system };
    if (this.multiVersion && entry.version !== undefined) out.version = entry.version;
    if (entry.abstract) out.abstract = true;
    if (entry.inactive) out.inactive = true;
    out.code = entry.code;

    // display and designations
    const vsc = entry.vsConcept;
    const defaultDisplay = vsc?.display ?? concept.display;
    const defaultLanguage = vsc?.display
      ? ((entry.valueSet ?? this.valueSet).language ?? this.valueSet.language ?? cs.language)
      : cs.language;
    const vsDesignations = vsc?.designation === undefined ? NO_DESIGNATIONS : arrayOf(vsc.designation);
    const designations: readonly CodeSystemConceptDesignation[] =
      supConcepts.length === 0 && vsDesignations.length === 0
        ? concept.designation
        : [
            ...concept.designation,
            ...supConcepts.flatMap((s) => s.concept.designation),
            ...vsDesignations.filter((d) => d !== null && typeof d === 'object'),
          ];
    // without a language asked for, the display is the concept's own (chooseDisplay): no candidates to weigh
    const candidates: (DisplayCandidate & { at: number })[] = [];
    if (this.prefs.length > 0) {
      for (let at = 0; at < designations.length; at++) {
        const d = designations[at];
        if (d.language && d.value && displayUse(d.use)) candidates.push({ value: d.value, language: d.language, at });
      }
    }
    const choice = chooseDisplay(this.prefs, defaultLanguage, defaultDisplay !== undefined, candidates);
    let chosenAt = -1;
    if (choice === 'default') {
      if (defaultDisplay !== undefined) out.display = defaultDisplay;
    } else if (choice !== 'none') {
      chosenAt = candidates[choice].at;
      out.display = candidates[choice].value;
    }
    if (this.options.includeDesignations) {
      const list: CodeSystemConceptDesignation[] = [];
      if (choice !== 'default' && defaultDisplay !== undefined) {
        list.push({
          ...(defaultLanguage ? { language: defaultLanguage } : {}),
          use: { ...PREFERRED_FOR_LANGUAGE },
          value: defaultDisplay,
        });
      }
      designations.forEach((d, at) => {
        if (at !== chosenAt && d.value) list.push(d);
      });
      const kept = list.filter((d) => this.designationWanted(d)).map(copyDesignation);
      if (kept.length > 0) out.designation = kept;
    }

    // extensions copied as they are
    const extensions: Extension[] = [];
    for (const ext of concept.extension ?? []) if (CS_COPIED_EXTENSIONS.has(ext.url)) extensions.push(ext);
    for (const s of supConcepts) {
      for (const ext of s.concept.extension ?? []) if (CS_COPIED_EXTENSIONS.has(ext.url)) extensions.push(ext);
    }
    for (const ext of vsc?.extension ?? []) if (VS_COPIED_EXTENSIONS.has(ext.url)) extensions.push(ext);

    // properties
    const props = this.properties(entry, concept, cs, supConcepts, vsc);
    for (const p of props) {
      // the value's key assigned, not computed in the literal: V8 keeps such objects fast
      const value: Record<string, unknown> = { url: 'value' };
      value[p.valueKey] = p.value;
      extensions.push({
        url: CONTAINS_PROPERTY_EXT,
        extension: [{ url: 'code', valueCode: p.code }, value as unknown as Extension],
      });
    }
    if (extensions.length > 0) out.extension = extensions;
    return out;
  }

  /** The code system's default day (CodeSystemIndex.defaultDay), worked out once per expansion. */
  private defaultDay(idx: CodeSystemIndex): string {
    let known = this.dayOf;
    if (known?.idx !== idx) {
      known = { idx, day: idx.defaultDay() };
      this.dayOf = known;
    }
    return known.day;
  }

  private designationWanted(d: CodeSystemConceptDesignation): boolean {
    if (this.designationFilter.length === 0) return true;
    return this.designationFilter.some((f) => {
      if (f.system === 'urn:ietf:bcp:47') return d.language?.toLowerCase() === f.code.toLowerCase();
      return d.use?.code === f.code && (f.system === '' || d.use?.system === f.system);
    });
  }

  private declareProperty(code: string, uri: string | undefined): string {
    if (!this.declared.has(code)) this.declared.set(code, uri);
    else if (uri && !this.declared.get(code)) this.declared.set(code, uri);
    return code;
  }

  private properties(
    entry: ExpansionEntry,
    concept: IndexedConcept,
    cs: CodeSystem,
    sups: readonly { cs: CodeSystem; concept: IndexedConcept }[],
    vsc: ValueSetComposeIncludeConcept | undefined,
  ): PropertyValue[] {
    const out: PropertyValue[] = [];
    const single = (code: string, uri: string, valueKey: string, value: unknown): void => {
      if (value === undefined) return;
      const existing = out.find((p) => p.code === code);
      if (existing) {
        existing.valueKey = valueKey;
        existing.value = value;
      } else {
        out.push({ code: this.declareProperty(code, uri), uri, valueKey, value });
      }
    };
    const idx = entry.source!.index;
    const csExts =
      sups.length === 0
        ? concept.extension
        : [...(concept.extension ?? []), ...sups.flatMap((s) => s.concept.extension ?? [])];

    // status (http://hl7.org/fhir/concept-properties#status): a status other than active, else
    // inactive / deprecated as the code system marks them; judged on one day for the concept
    const status = idx.status(concept, this.at ?? this.defaultDay(idx));
    if (status && status.toLowerCase() !== 'active') single('status', PROP.status, 'valueCode', status);
    else if (entry.inactive) single('status', PROP.status, 'valueCode', 'inactive');
    else if (idx.isDeprecatedWith(concept, status)) single('status', PROP.status, 'valueCode', 'deprecated');

    // from code system (and supplement) extensions, overridden by the value set's: the standards
    // status, label, order and weight (most concepts have no extension at all)
    if (csExts !== undefined || vsc?.extension !== undefined) {
      const standards = extValue(csExts, EXT.standardsStatus);
      if (standards && typeof standards.value === 'string') {
        single('status', PROP.status, 'valueCode', standards.value);
      }
      const label = extValue(vsc?.extension, EXT.valueSetLabel) ?? extValue(csExts, EXT.codeSystemLabel);
      if (label) single('label', PROP.label, 'valueString', String(label.value));
      const order = numeric(extValue(vsc?.extension, EXT.valueSetOrder) ?? extValue(csExts, EXT.codeSystemOrder));
      if (order !== undefined) single('order', PROP.order, 'valueDecimal', order);
      const weight = numeric(extValue(vsc?.extension, EXT.itemWeight) ?? extValue(csExts, EXT.itemWeight));
      if (weight !== undefined) single('weight', PROP.itemWeight, 'valueDecimal', weight);
    }

    // properties asked for (`property` parameter, compose.property)
    const all = this.allProperties;
    if (!all && this.wanted.size === 0) return out;
    const sources: { cs: CodeSystem; concept: CodeSystemConcept }[] = [
      { cs, concept: concept.source },
      ...sups.map((s) => ({ cs: s.cs, concept: s.concept.source })),
    ];
    const wanted = this.wanted;
    if (wanted.has('definition') && concept.definition !== undefined) {
      single('definition', PROP.definition, 'valueString', concept.definition);
    }
    // a concept with a validity has the status of the day (above), not the one stored
    const storedStatus = concept.validity ? (idx.propertyCodeFor('status') ?? 'status') : undefined;
    for (const src of sources) {
      for (const p of src.concept.property ?? []) {
        if (!p.code || !(all || wanted.has(p.code))) continue;
        if (p.code === storedStatus) continue;
        const key = valueKeyOf(p);
        if (!key) continue;
        const value = (p as unknown as Record<string, unknown>)[key];
        const uri =
          src.cs.property?.find((d) => d.code === p.code)?.uri ?? cs.property?.find((d) => d.code === p.code)?.uri;
        if (out.some((o) => o.code === p.code && JSON.stringify(o.value) === JSON.stringify(value))) continue;
        out.push({ code: this.declareProperty(p.code, uri), uri, valueKey: key, value });
      }
    }
    return out;
  }

  /** A code taken over from a stored expansion: copied, without its children. */
  private fromStoredContains(entry: ExpansionEntry): ValueSetExpansionContains {
    const { contains: _nested, ...rest } = entry.contains ?? { system: entry.system, code: entry.code };
    const out: ValueSetExpansionContains = { ...rest };
    if (!this.options.includeDesignations) delete out.designation;
    for (const ext of out.extension ?? []) {
      if (ext.url !== CONTAINS_PROPERTY_EXT) continue;
      const code = ext.extension?.find((e) => e.url === 'code')?.valueCode;
      if (code) this.declareProperty(code, undefined);
    }
    return out;
  }
}

function copyDesignation(d: CodeSystemConceptDesignation): CodeSystemConceptDesignation {
  return {
    ...(d.extension?.length ? { extension: d.extension } : {}),
    ...(d.language ? { language: d.language } : {}),
    ...(d.use ? { use: d.use } : {}),
    value: d.value,
  };
}

/** R5 `ValueSet.compose.property`, natively or as its R4 cross-version extension. */
function composeProperties(vs: ValueSet): string[] {
  const compose = vs.compose as (ValueSet['compose'] & { property?: unknown }) | undefined;
  const out: string[] = [];
  if (Array.isArray(compose?.property)) {
    for (const p of compose.property) if (typeof p === 'string') out.push(p);
  }
  for (const ext of compose?.extension ?? []) {
    if (ext.url === COMPOSE_PROPERTY_EXT && ext.valueCode) out.push(ext.valueCode);
  }
  return out;
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
export function expandValueSet(ctx: TxContext, valueSet: ValueSet, options: ExpandOptions = {}): ValueSet {
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
  add('displayLanguage', 'valueCode', displayLanguage ? formatLanguagePreferences(displayLanguage) : undefined);
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
