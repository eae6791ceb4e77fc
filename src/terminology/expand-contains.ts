/**
 * The `contains` entries of an expansion (expand.ts): one per code, with the display in the language
 * asked for (language.ts), designations (`includeDesignations`, `designation`), the extensions
 * copied from the code system and the value set, and the concept properties: those asked for
 * (`property`, `ValueSet.compose.property`) and those the IG requires (the status of an inactive or
 * deprecated concept) or extensions carry (label, order, itemWeight). R5's
 * `expansion.contains.property` travels in its R4 cross-version extension, and the builder records
 * each property it writes, for `expansion.property`.
 */

import type {
  CodeSystem,
  CodeSystemConcept,
  CodeSystemConceptDesignation,
  Extension,
  ValueSet,
  ValueSetComposeIncludeConcept,
  ValueSetComposeIncludeConceptDesignation,
  ValueSetExpansionContains,
} from '@medplum/fhirtypes';
import { arrayOf } from './arrays.ts';
import { designationSources } from './code-systems.ts';
import { type CodeSystemIndex, type IndexedConcept, indexCodeSystem } from './codesystem-index.ts';
import type { ExpansionEntry } from './compose.ts';
import type { ExpandOptions } from './expand.ts';
import {
  chooseDisplay,
  type DisplayCandidate,
  displayRank,
  type LanguagePreference,
  PREFERRED_FOR_LANGUAGE,
  parseLanguagePreferences,
} from './language.ts';

export const CONTAINS_PROPERTY_EXT =
  'http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property';
const COMPOSE_PROPERTY_EXT = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.compose.property';

const SD = 'http://hl7.org/fhir/StructureDefinition';

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

export class ContainsBuilder {
  private readonly prefs: LanguagePreference[];
  private readonly options: ExpandOptions;
  private readonly valueSet: ValueSet;
  private readonly multiVersion: boolean;
  private readonly requested: string[];
  /** the properties asked for, and whether that is every one (`*`) */
  private readonly wanted: Set<string>;
  private readonly allProperties: boolean;
  /** whether a property is asked for by its URI (else codes alone are compared) */
  private readonly wantsUris: boolean;
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
    // the value set's own list (R5 compose.property) applies only when the client names none
    const asked = (options.properties ?? []).flatMap((p) => p.split(',')).map((p) => p.trim());
    this.requested = (asked.some((p) => p !== '') ? asked : composeProperties(valueSet)).filter((p) => p !== '');
    this.wanted = new Set(this.requested);
    this.allProperties = this.wanted.has('*');
    this.wantsUris = this.requested.some((p) => p.includes(':'));
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
      // the code system's display, in its language, where the value set gives a display of its own
      if (
        vsc?.display !== undefined &&
        concept.display !== undefined &&
        cs.language &&
        concept.display !== vsc.display
      ) {
        candidates.push({ value: concept.display, language: cs.language, at: -1 });
      }
      const ranked: (DisplayCandidate & { at: number; rank: number })[] = [];
      for (let at = 0; at < designations.length; at++) {
        const d = designations[at];
        const rank = displayRank(d.use);
        if (d.language && d.value && rank !== undefined)
          ranked.push({ value: d.value, language: d.language, at, rank });
      }
      // plain displays before synonyms before fully specified names (stable within a rank)
      for (const c of ranked.sort((a, b) => a.rank - b.rank)) candidates.push(c);
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
    if ((wanted.has('definition') || wanted.has(PROP.definition)) && concept.definition !== undefined) {
      single('definition', PROP.definition, 'valueString', concept.definition);
    }
    // a concept with a validity has the status of the day (above), not the one stored
    const storedStatus = concept.validity ? (idx.propertyCodeFor('status') ?? 'status') : undefined;
    for (const src of sources) {
      for (const p of src.concept.property ?? []) {
        if (!p.code) continue;
        // a property is named by its code or by its URI (R5 ValueSet.compose.property)
        const byCode = all || wanted.has(p.code);
        if (!byCode && !this.wantsUris) continue;
        const uri =
          src.cs.property?.find((d) => d.code === p.code)?.uri ?? cs.property?.find((d) => d.code === p.code)?.uri;
        if (!byCode && (uri === undefined || !wanted.has(uri))) continue;
        if (p.code === storedStatus) continue;
        const key = valueKeyOf(p);
        if (!key) continue;
        const value = (p as unknown as Record<string, unknown>)[key];
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

/**
 * R5 `ValueSet.compose.property` (a string: a property's code or URI), natively or as its R4
 * cross-version extension, whose value is a string (valueCode and valueUri are read as well).
 */
function composeProperties(vs: ValueSet): string[] {
  const compose = vs.compose as (ValueSet['compose'] & { property?: unknown }) | undefined;
  const out: string[] = [];
  if (Array.isArray(compose?.property)) {
    for (const p of compose.property) if (typeof p === 'string') out.push(p.trim());
  }
  for (const ext of compose?.extension ?? []) {
    if (ext.url !== COMPOSE_PROPERTY_EXT) continue;
    const value = ext.valueString ?? ext.valueCode ?? ext.valueUri;
    if (typeof value === 'string') out.push(value.trim());
  }
  return out;
}
