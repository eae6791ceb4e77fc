import type {
  CodeSystem,
  CodeSystemConceptDesignation,
  CodeSystemConceptProperty,
  Coding,
  OperationOutcomeIssue,
} from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { isLangPack } from './code-systems.ts';
import type { CodeSystemIndex, IndexedConcept } from './codesystem-index.ts';
import { indexCodeSystem } from './codesystem-index.ts';
import type { TxContext } from './context.ts';
import { outOfDate, outOfDateText } from './currency.ts';
import {
  byDisplayRank,
  chooseDisplay,
  languageMatches,
  PREFERRED_FOR_LANGUAGE,
  parseLanguagePreferences,
} from './language.ts';
import { MSG } from './operation-messages.ts';
import { VMSG } from './validate-messages.ts';
import { splitCanonical, versionMatches } from './versions.ts';

/**
 * CodeSystem $lookup (http://hl7.org/fhir/R4/codesystem-operation-lookup.html, and the R5
 * version for `abstract`, `definition` and `useSupplement`): the details of one concept.
 * Knows nothing of HTTP: the operation handler turns the result into Parameters.
 */

export interface LookupInput {
  code: string;
  /** the code system canonical; with `codeSystem` given it only has to agree */
  system?: string;
  version?: string;
  /** the resource addressed by an instance-level call */
  codeSystem?: CodeSystem;
  /**
   * the display language list, Accept-Language syntax (the displayLanguage parameter, else the
   * HTTP Accept-Language header: language.ts resolveDisplayLanguage)
   */
  displayLanguage?: string;
  /** `property` parameters; empty or absent lets the server choose (here: everything) */
  properties?: string[];
  /** `useSupplement` canonicals (url or url|version) */
  useSupplement?: string[];
}

export interface LookupDesignation {
  language?: string;
  use?: Coding;
  value: string;
  /** the supplement (url|version) the designation comes from */
  source?: string;
}

export interface LookupProperty {
  code: string;
  /** the value[x] key, e.g. `valueCode`, and its value */
  valueKey: string;
  value: unknown;
  description?: string;
  /** the supplement (url|version) the property comes from */
  source?: string;
}

export interface LookupResult {
  name: string;
  system: string;
  version?: string;
  code: string;
  display: string;
  definition?: string;
  /** absent when `property` asks for other things only */
  abstract?: boolean;
  designations: LookupDesignation[];
  properties: LookupProperty[];
  /** url|version of every supplement used */
  usedSupplements: string[];
  /** warnings about the answer as a whole (the newest data ended before the day asked: currency.ts) */
  warnings: string[];
}

const PROPERTY_VALUE_KEYS = [
  'valueCode',
  'valueCoding',
  'valueString',
  'valueInteger',
  'valueBoolean',
  'valueDateTime',
  'valueDecimal',
] as const;

function propertyValue(p: CodeSystemConceptProperty): { valueKey: string; value: unknown } | undefined {
  for (const key of PROPERTY_VALUE_KEYS) {
    const value = p[key];
    if (value !== undefined) return { valueKey: key, value };
  }
  return undefined;
}

function vurl(cs: CodeSystem): string {
  return cs.version ? `${cs.url}|${cs.version}` : (cs.url ?? '');
}

/**
 * The code system $lookup works on: the instance (or a given resource), else the one `system`
 * (and `version`) names (resolveCodeSystem); a 400 when neither is given.
 */
export function targetCodeSystem(
  ctx: TxContext,
  input: { codeSystem?: CodeSystem; system?: string; version?: string },
): CodeSystem {
  if (input.codeSystem) return input.codeSystem;
  if (!input.system) {
    throw new OperationOutcomeError(400, [
      makeIssue({ code: 'invalid', text: MSG.lookupNoInput(), txIssueType: 'invalid-data', expression: 'system' }),
    ]);
  }
  return resolveCodeSystem(ctx, input.system, input.version);
}

/**
 * The code system `system` (and `version`) names, or the 4xx OperationOutcome the tx-ecosystem
 * tests expect: unknown system or version (404), no version in effect on the request's date (404),
 * a supplement named as a code system (400).
 */
export function resolveCodeSystem(ctx: TxContext, system: string, version: string | undefined): CodeSystem {
  const cs = ctx.codeSystem(system, version);
  const miss = cs || version !== undefined ? undefined : ctx.missAtDate('CodeSystem', system);
  if (miss) {
    // $lookup has no `result` output: no version for the date is a 404 naming the periods there are
    throw new OperationOutcomeError(404, [
      makeIssue({
        code: 'not-found',
        text: VMSG.noVersionOnDate('CodeSystem', miss.url, miss.date, miss.versions),
        txIssueType: 'not-found',
        expression: 'date',
      }),
    ]);
  }
  if (!cs) {
    const known = ctx
      .versions('CodeSystem', system)
      .map((r) => r.version)
      .filter((v): v is string => v !== undefined)
      // oldest first, as tx.fhir.org lists them ("Valid versions: 1.0.0 or 1.2.0")
      .reverse();
    throw new OperationOutcomeError(404, [
      makeIssue({
        code: 'not-found',
        text: MSG.unknownCodeSystem(system, version, version === undefined ? [] : known),
        txIssueType: 'not-found',
        messageId: version === undefined ? 'UNKNOWN_CODESYSTEM' : 'UNKNOWN_CODESYSTEM_VERSION',
      }),
    ]);
  }
  if (cs.content === 'supplement') {
    throw new OperationOutcomeError(400, [
      makeIssue({ code: 'invalid', text: MSG.supplementAsSystem(vurl(cs)), txIssueType: 'invalid-data' }),
    ]);
  }
  return cs;
}

/** The concept for `code`, or the 404 OperationOutcome tx.fhir.org gives for an unknown code. */
export function findConcept(idx: CodeSystemIndex, code: string, expression?: string): IndexedConcept {
  const concept = idx.find(code);
  if (!concept) {
    const issue: OperationOutcomeIssue = makeIssue({
      code: 'not-found',
      text: MSG.unknownCode(code, idx.url ?? '', idx.version),
      txIssueType: 'invalid-code',
      messageId: idx.version === undefined ? 'Unknown_Code_in' : 'Unknown_Code_in_Version',
      expression,
    });
    throw new OperationOutcomeError(404, [issue]);
  }
  return concept;
}

/**
 * The supplements named by `useSupplement`. The IG requires a server never to ignore a
 * supplement it was asked for: an unknown one is an error (parameters-lookup-supplement-bad).
 */
export function resolveSupplements(ctx: TxContext, cs: CodeSystem, canonicals: readonly string[]): CodeSystem[] {
  const found: CodeSystem[] = [];
  const missing: string[] = [];
  for (const canonical of canonicals) {
    const { url, version } = splitCanonical(canonical);
    const supplement = ctx.codeSystem(url, version);
    if (supplement?.content !== 'supplement' || !supplement.supplements) {
      missing.push(canonical);
      continue;
    }
    const target = splitCanonical(supplement.supplements);
    const targetVersionOk = target.version === undefined || versionMatches(target.version, cs.version);
    if (target.url !== cs.url || !targetVersionOk) {
      throw new OperationOutcomeError(400, [
        makeIssue({
          code: 'business-rule',
          text: MSG.supplementWrongTarget(vurl(supplement), vurl(cs)),
          txIssueType: 'invalid-data',
        }),
      ]);
    }
    if (!found.includes(supplement)) found.push(supplement);
  }
  if (missing.length > 0) {
    throw new OperationOutcomeError(400, [
      makeIssue({
        code: 'not-found',
        text: MSG.supplementMissing(missing),
        txIssueType: 'not-found',
        messageId: 'VALUESET_SUPPLEMENT_MISSING',
      }),
    ]);
  }
  return found;
}

/**
 * The display in the most preferred language available (language.ts chooseDisplay): the
 * concept's display when the code system's language fits, else a designation in that language
 * that can stand as a display (language.ts displayRank, best rank first); the concept's display
 * when nothing fits ($lookup must give one).
 */
function pickDisplay(
  display: string | undefined,
  csLanguage: string | undefined,
  designations: readonly LookupDesignation[],
  displayLanguage: string | undefined,
): string | undefined {
  const candidates = byDisplayRank(designations.filter((d) => d.use !== PREFERRED_FOR_LANGUAGE));
  const choice = chooseDisplay(
    parseLanguagePreferences(displayLanguage),
    csLanguage,
    display !== undefined,
    candidates,
  );
  if (typeof choice === 'number') return candidates[choice].value;
  // a concept without a display of its own: its best display designation, in whatever language
  return display ?? candidates[0]?.value;
}

function toDesignation(d: CodeSystemConceptDesignation, source?: string): LookupDesignation | undefined {
  if (typeof d.value !== 'string') return undefined;
  return {
    ...(d.language ? { language: d.language } : {}),
    ...(d.use ? { use: d.use } : {}),
    value: d.value,
    ...(source ? { source } : {}),
  };
}

/** The base of the URIs of the standard concept properties. */
const CONCEPT_PROPERTIES = 'http://hl7.org/fhir/concept-properties#';

/**
 * Which optional parts the `property` parameters ask for. R4 lookup: "If no properties are
 * specified, the server chooses what to return" (here: everything); `*` asks for everything too.
 * Names match without regard to case, as tx.fhir.org matches them. Besides the concept's own
 * property codes there are the parts the operation defines (`definition`, `designation`,
 * `abstract`, `parent`, `child`, `inactive`), `property` (every property of the concept) and
 * `lang.X` (the designations in language X). A property may also be named by its URI: the code
 * system's `property.uri`, or a standard `concept-properties#X` URI for X.
 */
class PropertySelection {
  private readonly all: boolean;
  private readonly names: Set<string>;
  private readonly langs: string[];

  constructor(properties: readonly string[] | undefined) {
    const list = (properties ?? []).map((p) => p.trim()).filter((p) => p !== '');
    this.all = list.length === 0 || list.includes('*');
    // a property may be named by its URI: the standard ones (concept-properties#X) stand for X
    this.names = new Set(
      list.map((p) => (p.startsWith(CONCEPT_PROPERTIES) ? p.slice(CONCEPT_PROPERTIES.length) : p).toLowerCase()),
    );
    this.langs = list.filter((p) => p.toLowerCase().startsWith('lang.')).map((p) => p.slice('lang.'.length));
  }

  has(name: string): boolean {
    return this.all || this.names.has(name.toLowerCase());
  }

  /** a property of the concept itself: asked for by its code or its URI, or by `property` */
  hasConceptProperty(code: string, uri: string | undefined): boolean {
    return this.has(code) || this.names.has('property') || (uri !== undefined && this.names.has(uri.toLowerCase()));
  }

  /** designations: all of them, or those in the languages asked for with `lang.X` */
  designation(d: LookupDesignation): boolean {
    if (this.has('designation')) return true;
    return this.langs.some((l) => languageMatches(l.toLowerCase(), d.language));
  }
}

/**
 * CodeSystem $lookup. Throws OperationOutcomeError for unknown systems, versions, codes and
 * supplements. With a `date` (ctx.date) it answers as on that day: the code system version in
 * effect then (TxContext.resolveAt) and the concept's status then (a concept outside its validity
 * is still found, and reported inactive).
 */
export function lookupCode(ctx: TxContext, input: LookupInput): LookupResult {
  const cs = targetCodeSystem(ctx, input);
  const idx = indexCodeSystem(cs);
  const supplements = resolveSupplements(ctx, cs, input.useSupplement ?? []);
  const concept = findConcept(idx, input.code);
  const select = new PropertySelection(input.properties);

  // designations: the display (as tx.fhir.org lists it), the concept's own, then the supplements'
  const designations: LookupDesignation[] = [];
  if (concept.display !== undefined) {
    designations.push({
      ...(cs.language ? { language: cs.language } : {}),
      use: PREFERRED_FOR_LANGUAGE,
      value: concept.display,
    });
  }
  for (const d of concept.designation) {
    const out = toDesignation(d);
    if (out) designations.push(out);
  }
  const properties: LookupProperty[] = [];
  const statusCode = idx.propertyCodeFor('status') ?? 'status';
  // a concept with a validity has a status that depends on the day: reported from the index below
  const datedStatus = concept.validity !== undefined;
  const propertyUri = (code: string): string | undefined =>
    cs.property?.find((d) => d.code === code)?.uri ??
    supplements.flatMap((sup) => sup.property ?? []).find((d) => d.code === code)?.uri;
  const addRaw = (list: readonly CodeSystemConceptProperty[], source?: string): void => {
    for (const p of list) {
      if (typeof p.code !== 'string') continue;
      // `parent`, `child` and `inactive` are reported from the index below, once; a property that
      // states the hierarchy under another code (THO's `subsumedBy`) is the concept's own and is
      // reported as it is, as tx.fhir.org reports it
      if (p.code === 'parent' || p.code === 'child' || p.code === 'inactive') continue;
      if (datedStatus && p.code === statusCode && source === undefined) continue;
      const v = propertyValue(p);
      if (!v || !select.hasConceptProperty(p.code, propertyUri(p.code))) continue;
      const property: LookupProperty = { code: p.code, valueKey: v.valueKey, value: v.value };
      if (source) property.source = source;
      properties.push(property);
    }
  };
  addRaw(concept.property);

  // the supplements asked for, then the language packs, which apply without being asked for (their
  // displays are the code's in other languages; their properties are not reported)
  const packs = ctx.supplementsFor(cs.url ?? '', cs.version).filter((p) => isLangPack(p) && !supplements.includes(p));
  for (const supplement of [...supplements, ...packs]) {
    const source = vurl(supplement);
    const sc = indexCodeSystem(supplement).get(concept.code);
    if (!sc) continue;
    if (sc.display !== undefined) {
      designations.push({
        ...(supplement.language ? { language: supplement.language } : {}),
        value: sc.display,
        source,
      });
    }
    for (const d of sc.designation) {
      const out = toDesignation(d, source);
      if (out) designations.push(out);
    }
    if (supplements.includes(supplement)) addRaw(sc.property, source);
  }

  // the index's status too for a concept whose status is its standards-status extension (no property)
  const statusFromIndex =
    datedStatus || (concept.stored.status !== undefined && !concept.property.some((p) => p.code === statusCode));
  if (statusFromIndex && select.hasConceptProperty(statusCode, propertyUri(statusCode))) {
    const status = idx.status(concept, ctx.date);
    if (status !== undefined) properties.push({ code: statusCode, valueKey: 'valueCode', value: status });
  }
  if (select.has('parent')) {
    for (const parent of concept.parents) {
      properties.push({ code: 'parent', valueKey: 'valueCode', value: parent, description: idx.get(parent)?.display });
    }
  }
  if (select.has('child')) {
    for (const child of concept.children) {
      properties.push({ code: 'child', valueKey: 'valueCode', value: child, description: idx.get(child)?.display });
    }
  }
  if (select.has('inactive')) {
    properties.push({ code: 'inactive', valueKey: 'valueBoolean', value: idx.isInactive(concept, ctx.date) });
  }

  const display = pickDisplay(concept.display, cs.language, designations, input.displayLanguage);
  const stale = outOfDate(ctx, cs);
  return {
    name: cs.name ?? cs.title ?? cs.url ?? '',
    system: cs.url ?? '',
    ...(cs.version !== undefined ? { version: cs.version } : {}),
    // echoed as it was asked for (tx-ecosystem IG, $lookup: "not normalised"), also where a code
    // system that is not case-sensitive spells it otherwise
    code: input.code,
    display: display ?? concept.code,
    ...(concept.definition !== undefined && select.has('definition') ? { definition: concept.definition } : {}),
    ...(select.has('abstract') ? { abstract: idx.isAbstract(concept) } : {}),
    designations: designations.filter((d) => select.designation(d)),
    properties,
    usedSupplements: supplements.map(vurl),
    warnings: stale ? [outOfDateText(stale)] : [],
  };
}
