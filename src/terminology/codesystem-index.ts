import type {
  CodeSystem,
  CodeSystemConcept,
  CodeSystemConceptDesignation,
  CodeSystemConceptProperty,
  CodeSystemProperty,
  Extension,
} from '@medplum/fhirtypes';
import { arrayOf } from './arrays.ts';
import { spendActive } from './budget.ts';
import {
  clampToSpan,
  type DaySpan,
  dayOf,
  effectivePeriod,
  spanPosition,
  today,
  VALID_FROM_PROPERTY_URI,
  VALID_TO_PROPERTY_URI,
} from './validity.ts';

/** Standard concept property URIs (http://hl7.org/fhir/concept-properties). */
export const CONCEPT_PROPERTY = 'http://hl7.org/fhir/concept-properties';

/** One concept of a code system, with its place in the hierarchy resolved. */
export interface IndexedConcept {
  code: string;
  display?: string;
  definition?: string;
  designation: readonly CodeSystemConceptDesignation[];
  property: CodeSystemConceptProperty[];
  /** the original concept element */
  source: CodeSystemConcept;
  /** the concept element's extensions (read for every expansion: kept here, without a visit to `source`) */
  extension: Extension[] | undefined;
  /** parent codes (nesting and `parent` properties) */
  parents: string[];
  /** child codes, in definition order (nesting and `parent`/`child` properties) */
  children: string[];
  /** position in definition order, used to keep expansions in code system order */
  order: number;
  /**
   * the days the concept is valid, from its validity properties (validity.ts); one object per
   * distinct span in a code system
   */
  validity?: DaySpan;
  /** the standard properties as stored (read once, when the index is built: they are read for every answer) */
  stored: StoredStandardProperties;
}

/** A concept's standard properties as the code system states them (the first value of each). */
export interface StoredStandardProperties {
  status?: string;
  inactive?: boolean;
  deprecated?: boolean;
  notSelectable?: boolean;
}

/** The property codes a concept's standard properties and validity are read from. */
interface EntryCodes {
  validFrom: string | undefined;
  validTo: string | undefined;
  standard: { status?: string; inactive?: string; deprecated?: string; notSelectable?: string };
}

export type ConceptStatus = 'active' | 'inactive' | 'retired' | 'deprecated' | 'experimental' | string;

/**
 * A read-optimised view of one CodeSystem resource: concepts by code (case-insensitive too),
 * hierarchy and the standard properties. Built lazily and cached by resource identity, so the
 * overlay resources of a request get the same treatment as stored ones.
 */
export class CodeSystemIndex {
  readonly resource: CodeSystem;
  private readonly list: IndexedConcept[] = [];
  private readonly byCode = new Map<string, IndexedConcept>();
  private readonly byLowerCode = new Map<string, IndexedConcept>();
  /** property code → definition */
  readonly propertyDefs = new Map<string, CodeSystemProperty>();
  private readonly rootList: string[] = [];
  /** the period this code system version is effective, if it states one */
  readonly effectivePeriod?: DaySpan;
  /** the property codes the standard properties and validity are read from (makeEntry) */
  private readonly entryCodes: EntryCodes;
  /**
   * The validity spans of the concepts, one object per distinct span: many concepts share a span
   * (NLK: 412 spans for 11,391 codes), and an answer that judges concepts then reads a few objects
   * the CPU has cached rather than one object and two strings per concept.
   */
  private readonly spans = new Map<string, DaySpan>();

  constructor(cs: CodeSystem) {
    this.resource = cs;
    this.effectivePeriod = effectivePeriod(cs);
    for (const p of Array.isArray(cs.property) ? cs.property : []) if (p?.code) this.propertyDefs.set(p.code, p);
    this.entryCodes = {
      validFrom: this.propertyCodeByUri(VALID_FROM_PROPERTY_URI),
      validTo: this.propertyCodeByUri(VALID_TO_PROPERTY_URI),
      standard: {
        status: this.propertyCodeFor('status'),
        inactive: this.propertyCodeFor('inactive'),
        deprecated: this.propertyCodeFor('deprecated'),
        notSelectable: this.propertyCodeFor('notSelectable'),
      },
    };
    // depth first, in definition order, without recursion: concepts may nest thousands deep
    const stack: { list: CodeSystemConcept[]; at: number; parent: string | undefined }[] = [
      { list: arrayOf<CodeSystemConcept>(cs.concept), at: 0, parent: undefined },
    ];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1];
      if (frame.at >= frame.list.length) {
        stack.pop();
        continue;
      }
      const c = frame.list[frame.at++];
      // indexing a large code system sent with a request is work like any other (budget.ts)
      spendActive();
      if (typeof c?.code !== 'string') continue;
      let entry: IndexedConcept | undefined = this.byCode.get(c.code);
      if (!entry) {
        entry = this.makeEntry(c, c.code, this.list.length, [], []);
        this.list.push(entry);
        this.byCode.set(c.code, entry);
        if (!this.byLowerCode.has(c.code.toLowerCase())) this.byLowerCode.set(c.code.toLowerCase(), entry);
      }
      if (frame.parent !== undefined) this.link(frame.parent, c.code);
      const children = arrayOf(c.concept);
      if (children.length > 0) stack.push({ list: children, at: 0, parent: c.code });
    }
    // hierarchy expressed as properties (parent / child), http://hl7.org/fhir/codesystem-properties-mode
    const parentProp = this.propertyCodeFor('parent') ?? 'parent';
    const childProp = this.propertyCodeFor('child') ?? 'child';
    for (const c of this.list) {
      for (const p of c.property) {
        if (p.code === parentProp && typeof p.valueCode === 'string') this.link(p.valueCode, c.code);
        if (p.code === childProp && typeof p.valueCode === 'string') this.link(c.code, p.valueCode);
      }
    }
    for (const c of this.list) if (c.parents.length === 0) this.rootList.push(c.code);
  }

  /**
   * The entry of a concept element, as the index holds it (the compact layout, compact-codesystem.ts,
   * makes its entries here too, so that both answer alike).
   */
  protected makeEntry(
    c: CodeSystemConcept,
    code: string,
    order: number,
    parents: string[],
    children: string[],
  ): IndexedConcept {
    const designation = arrayOf(c.designation).filter((d) => d !== null && typeof d === 'object');
    const entry: IndexedConcept = {
      code,
      display: typeof c.display === 'string' ? c.display : undefined,
      definition: typeof c.definition === 'string' ? c.definition : undefined,
      // most concepts have none: one shared empty list rather than one each
      designation: designation.length === 0 ? NO_DESIGNATIONS : designation,
      property: arrayOf(c.property).filter((p) => p !== null && typeof p === 'object'),
      source: c,
      extension: Array.isArray(c.extension) && c.extension.length > 0 ? c.extension : undefined,
      parents,
      children,
      order,
      stored: NO_STORED_PROPERTIES,
    };
    const { standard, validFrom, validTo } = this.entryCodes;
    entry.stored = storedStandardProperties(entry.property, standard, entry.extension);
    if (validFrom !== undefined || validTo !== undefined) {
      const validity = conceptValidity(entry.property, validFrom, validTo);
      if (validity) entry.validity = this.sharedSpan(validity);
    }
    return entry;
  }

  /**
   * The one object of this index for a span equal to `span`. At most MAX_SHARED_SPANS are kept: the
   * compact layout (compact-codesystem.ts) makes entries as they are asked for, over the life of the
   * index, and a code system whose concepts each have their own dates must not grow the map forever.
   */
  private sharedSpan(span: DaySpan): DaySpan {
    const key = `${span.start ?? ''}|${span.end ?? ''}`;
    const known = this.spans.get(key);
    if (known) return known;
    if (this.spans.size < MAX_SHARED_SPANS) this.spans.set(key, span);
    return span;
  }

  /** Every concept, in definition order. */
  get concepts(): readonly IndexedConcept[] {
    return this.list;
  }

  /** Every concept, in definition order, one at a time (the compact layout makes each as it is reached). */
  eachConcept(): Iterable<IndexedConcept> {
    return this.list;
  }

  /** How many concepts the code system defines (distinct codes). */
  get conceptCount(): number {
    return this.list.length;
  }

  /** Codes without parents, in definition order. */
  get roots(): readonly string[] {
    return this.rootList;
  }

  /** Whether some concept has more than one parent. */
  hasMultipleParents(): boolean {
    return this.list.some((c) => c.parents.length > 1);
  }

  private link(parent: string, child: string): void {
    const p = this.byCode.get(parent);
    const c = this.byCode.get(child);
    if (!p || !c) return;
    if (!p.children.includes(child)) p.children.push(child);
    if (!c.parents.includes(parent)) c.parents.push(parent);
  }

  get url(): string | undefined {
    return this.resource.url;
  }

  get version(): string | undefined {
    return this.resource.version;
  }

  get caseSensitive(): boolean {
    // FHIR R4: "If this value is missing, then it is not specified whether a code system is case sensitive or not";
    // like the reference server (tx.fhir.org) we then compare codes without regard to case, and
    // report a code whose case differs from the code system's (CODE_CASE_DIFFERENCE, normalized-code).
    return this.resource.caseSensitive === true;
  }

  /** Exact look-up. */
  get(code: string): IndexedConcept | undefined {
    return this.byCode.get(code);
  }

  /**
   * Look-up honouring case sensitivity: exact first, then, for case-insensitive systems,
   * ignoring case (the caller can compare `found.code` with `code` to report a case difference).
   */
  find(code: string): IndexedConcept | undefined {
    const exact = this.byCode.get(code);
    if (exact || this.caseSensitive) return exact;
    return this.byLowerCode.get(code.toLowerCase());
  }

  /**
   * The code this system uses for a standard property, found by its URI
   * (`http://hl7.org/fhir/concept-properties#notSelectable`) or, failing that, by the
   * standard code when that code is not defined with another URI.
   */
  propertyCodeFor(standard: string): string | undefined {
    const known = this.standardCodes.get(standard);
    if (known !== undefined) return known;
    const uri = `${CONCEPT_PROPERTY}#${standard}`;
    let found = standard;
    for (const [code, def] of this.propertyDefs) {
      if (def.uri === uri) {
        found = code;
        break;
      }
    }
    // No property declares the standard URI: fall back to the standard code, even when that
    // code is declared with another URI (tx-ecosystem notSelectable/codesystem-notSelectable-unprop
    // expects its `notSelectable` property, declared with a misspelt URI, to make codes abstract).
    this.standardCodes.set(standard, found);
    return found;
  }

  /** standard property name -> the code this code system uses for it (propertyCodeFor, memoised) */
  private readonly standardCodes = new Map<string, string>();

  propertyValues(concept: IndexedConcept, code: string): CodeSystemConceptProperty[] {
    return concept.property.filter((p) => p.code === code);
  }

  /** The code of the property defined with exactly this URI, if any. */
  private propertyCodeByUri(uri: string): string | undefined {
    for (const [code, def] of this.propertyDefs) if (def.uri === uri) return code;
    return undefined;
  }

  /**
   * The day concepts are judged at when the request gives no date: today, moved into this
   * version's effective period when it states one. A version answers for its own period: the
   * newest tariff period known answers "as it was" even when that period has ended.
   */
  defaultDay(): string {
    const now = today();
    if (now !== this.defaultDayFor.today)
      this.defaultDayFor = { today: now, day: clampToSpan(now, this.effectivePeriod) };
    return this.defaultDayFor.day;
  }

  /** defaultDay, worked out once per day */
  private defaultDayFor = { today: '', day: '' };

  /**
   * Where `at` (default: defaultDay) lies relative to the concept's validity; undefined when
   * the concept states none.
   */
  validityAt(concept: IndexedConcept, at?: string): 'before' | 'within' | 'after' | undefined {
    if (!concept.validity) return undefined;
    return spanPosition(concept.validity, at ?? this.defaultDay());
  }

  /**
   * `status` on day `at` (default: defaultDay; http://hl7.org/fhir/concept-properties#status): the
   * `status` property; for a concept with a validity, `retired` once it has ended, `active` within
   * it unless the property says otherwise, and no `active` status before it begins.
   */
  status(concept: IndexedConcept, at?: string): ConceptStatus | undefined {
    const stored = concept.stored.status;
    const where = this.validityAt(concept, at);
    if (where === 'after') return stored === 'inactive' ? stored : 'retired';
    if (where === 'before') return stored === 'active' ? undefined : stored;
    if (where === 'within') return stored ?? 'active';
    return stored;
  }

  /**
   * Whether a concept is inactive on day `at` (default: defaultDay): outside its validity, or
   * marked by the `inactive` property or a `status` of retired, inactive or withdrawn
   * (http://hl7.org/fhir/concept-properties; withdrawn as the standards-status extension states it,
   * which the tx-ecosystem IG counts as inactive). Deprecated concepts are still active.
   */
  isInactive(concept: IndexedConcept, at?: string): boolean {
    const where = this.validityAt(concept, at);
    if (where === 'before' || where === 'after') return true;
    const inactive = concept.stored.inactive;
    if (inactive !== undefined) return inactive;
    const status = this.status(concept, at);
    return status === 'retired' || status === 'inactive' || status === 'withdrawn';
  }

  isDeprecated(concept: IndexedConcept, at?: string): boolean {
    const d = concept.stored.deprecated;
    if (d !== undefined) return d;
    return this.status(concept, at) === 'deprecated';
  }

  /** isDeprecated, given the concept's status on the day (status): not worked out again. */
  isDeprecatedWith(concept: IndexedConcept, status: ConceptStatus | undefined): boolean {
    return concept.stored.deprecated ?? status === 'deprecated';
  }

  /** notSelectable (abstract) concepts: the `notSelectable` property. */
  isAbstract(concept: IndexedConcept): boolean {
    return concept.stored.notSelectable === true;
  }

  /** All descendants of a code (not including itself), depth first in definition order. */
  descendants(code: string): string[] {
    return this.walkFrom(code, (c) => c.children);
  }

  /** All ancestors of a code (not including itself). */
  ancestors(code: string): string[] {
    return this.walkFrom(code, (c) => c.parents);
  }

  /**
   * The codes reachable from `code` along `next`, depth first in definition order, each once.
   * Iterative, so that a deep hierarchy (parent properties can chain thousands of codes) cannot
   * overflow the stack.
   */
  private walkFrom(code: string, next: (c: IndexedConcept) => readonly string[]): string[] {
    const out: string[] = [];
    const seen = new Set<string>([code]);
    const start = this.get(code);
    if (!start) return out;
    const stack: string[] = [...next(start)].reverse();
    while (stack.length > 0) {
      const c = stack.pop() as string;
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(c);
      const concept = this.get(c);
      if (!concept) continue;
      const children = next(concept);
      for (let i = children.length - 1; i >= 0; i--) if (!seen.has(children[i])) stack.push(children[i]);
    }
    return out;
  }

  /** Whether `a` subsumes `b` (a is b or an ancestor of b). */
  subsumes(a: string, b: string): boolean {
    return a === b || this.ancestors(b).includes(a);
  }
}

const STANDARDS_STATUS = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status';

/**
 * The value of a `structuredefinition-standards-status` extension among `extensions` (on a
 * resource, a concept, a designation or a value set's listed concept), as code or string.
 */
export function standardsStatus(extensions: readonly Extension[] | undefined): string | undefined {
  if (!Array.isArray(extensions)) return undefined;
  const ext = extensions.find((e) => e?.url === STANDARDS_STATUS);
  return ext?.valueCode ?? ext?.valueString;
}

/**
 * The standard properties of a concept as stored: the first value of each property code. Without a
 * `status` property, the concept's standards-status extension gives its status (tx-ecosystem IG,
 * Inactive Codes: "if there is no status property for a concept, the standards-status extension
 * may provide the status").
 */
function storedStandardProperties(
  properties: readonly CodeSystemConceptProperty[],
  codes: { status?: string; inactive?: string; deprecated?: string; notSelectable?: string },
  extensions: readonly Extension[] | undefined,
): StoredStandardProperties {
  const out: StoredStandardProperties = {};
  const first = (code: string | undefined) =>
    code === undefined ? undefined : properties.find((p) => p.code === code);
  const status = first(codes.status);
  const statusValue = status?.valueCode ?? status?.valueString ?? standardsStatus(extensions);
  if (typeof statusValue === 'string') out.status = statusValue;
  const flag = (code: string | undefined): boolean | undefined => {
    const p = first(code);
    if (!p) return undefined;
    if (typeof p.valueBoolean === 'boolean') return p.valueBoolean;
    if (typeof p.valueCode === 'string') return p.valueCode === 'true';
    if (typeof p.valueString === 'string') return p.valueString === 'true';
    return undefined;
  };
  const inactive = flag(codes.inactive);
  if (inactive !== undefined) out.inactive = inactive;
  const deprecated = flag(codes.deprecated);
  if (deprecated !== undefined) out.deprecated = deprecated;
  const notSelectable = flag(codes.notSelectable);
  if (notSelectable !== undefined) out.notSelectable = notSelectable;
  return Object.keys(out).length === 0 ? NO_STORED_PROPERTIES : out;
}

/** The most distinct validity spans one index shares (sharedSpan): NLK has 412. */
const MAX_SHARED_SPANS = 4096;

/** Shared by the many concepts that state none of the standard properties. */
const NO_STORED_PROPERTIES: StoredStandardProperties = Object.freeze({});
/** The designations of a concept that has none (frozen: it is shared by all of them). */
const NO_DESIGNATIONS: readonly CodeSystemConceptDesignation[] = Object.freeze([]);

/** The validity a concept's properties state (the first value of each, as days). */
function conceptValidity(
  properties: readonly CodeSystemConceptProperty[],
  fromCode: string | undefined,
  toCode: string | undefined,
): DaySpan | undefined {
  const day = (code: string | undefined, bound: 'start' | 'end'): string | undefined => {
    if (code === undefined) return undefined;
    const p = properties.find((x) => x.code === code);
    const v = p?.valueDateTime ?? p?.valueString;
    return typeof v === 'string' ? dayOf(v, bound) : undefined;
  };
  const start = day(fromCode, 'start');
  const end = day(toCode, 'end');
  if (start === undefined && end === undefined) return undefined;
  return { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) };
}

const cache = new WeakMap<CodeSystem, CodeSystemIndex>();

/**
 * A resource may carry the maker of its index under this key (the compact layout of a large code
 * system, compact-codesystem.ts). A symbol: copies made by spreading keep it, JSON never shows it.
 */
export const INDEX_MAKER = Symbol('index maker');

/**
 * Marks a code system whose codes are defined by a grammar rather than listed (BCP 47, bcp47.ts):
 * its resource says `content` = not-present, yet its index answers for its codes.
 */
export const GRAMMAR = Symbol('grammar');

/** Whether `cs` answers for its codes by a grammar (its resource lists none). */
export function answersByGrammar(cs: CodeSystem): boolean {
  return (cs as CodeSystem & { [GRAMMAR]?: true })[GRAMMAR] === true;
}

type WithMaker = CodeSystem & { [INDEX_MAKER]?: (cs: CodeSystem) => CodeSystemIndex };

/** The index of a CodeSystem, built once per resource object. */
export function indexCodeSystem(cs: CodeSystem): CodeSystemIndex {
  let idx = cache.get(cs);
  if (!idx) {
    const make = (cs as WithMaker)[INDEX_MAKER];
    idx = make ? make(cs) : new CodeSystemIndex(cs);
    cache.set(cs, idx);
  }
  return idx;
}

/**
 * Builds the index of every code system in `store` now, so that no request pays for one (an index
 * built inside a request's time budget could be cut short again and again).
 */
export function warmIndexes(store: { all(type: 'CodeSystem'): CodeSystem[] }): void {
  for (const cs of store.all('CodeSystem')) indexCodeSystem(cs);
}
