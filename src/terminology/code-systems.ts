/**
 * Finding the code system (version) that a value set include, a coding or a request names.
 * One place for the rules every operation shares:
 *
 * - Aliases: a code system named by any of its identifiers (canonical URL, OID, older URLs) is
 *   the same code system (TerminologyStore.canonicalUrl).
 * - Content: only code systems whose `content` is `complete` or `fragment` can answer for their
 *   codes. A `not-present` or `example` code system (a stand-in such as the SNOMED CT entry of
 *   the FHIR core package) is treated as unknown: "Servers SHALL not process $expand or
 *   $validate-code requests on CodeSystems that have content = not-present or example"
 *   (tx-ecosystem IG, requirements, CodeSystem.content). A supplement is never a code system.
 * - Versions: `force-system-version` > the version stated (include.version, Coding.version) >
 *   `system-version` > `check-system-version` (when it names a known version) > the newest
 *   version on the request's date; `check-system-version` must match the version used.
 */
import type { CodeSystem } from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { answersByGrammar, type CodeSystemIndex, indexCodeSystem } from './codesystem-index.ts';
import type { MissAtDate, TxContext } from './context.ts';
import { MSGID } from './message-ids.ts';
import type { TerminologyStore } from './store.ts';
import { VMSG } from './validate-messages.ts';
import { failedVersionCheck, type VersionRules } from './version-rules.ts';
import { compareVersions, splitCanonical, versionMatches } from './versions.ts';

export type SystemVersionSource = 'force' | 'specified' | 'default' | 'check' | 'latest';

/** A code system version as an include (or a coding) resolved it, with the supplements that apply. */
export interface ResolvedSystem {
  /** the canonical URL (an alias used in the request is resolved) */
  url: string;
  version?: string;
  codeSystem: CodeSystem;
  index: CodeSystemIndex;
  /** required supplements that apply to this code system version */
  supplements: CodeSystem[];
  /**
   * language packs for it (supplements marked `codesystem-supplement-type` = `lang-pack`), which
   * apply without being asked for: their designations are displays in other languages
   */
  langPacks: CodeSystem[];
  /** which rule chose the version */
  source: SystemVersionSource;
  /** the version (or pattern) that was asked for, when one was */
  requested?: string;
}

export type CodeSystemProblemKind =
  | 'unknown-system'
  | 'unknown-version'
  | 'no-version-on-date'
  | 'is-supplement'
  | 'version-check';

/** Why a code system could not be used. */
export interface CodeSystemProblem {
  kind: CodeSystemProblemKind;
  /** the canonical URL */
  system: string;
  /** the version (pattern) asked for */
  version?: string;
  /** the versions that are known, oldest first */
  known: string[];
  /** for `no-version-on-date` */
  miss?: MissAtDate;
  /** for `version-check`: the version found and the pattern required */
  found?: string;
  required?: string;
  /** for `version-check`: the code system that was found (validation reports the check and goes on) */
  resolved?: ResolvedSystem;
}

export function isCodeSystemProblem(x: ResolvedSystem | CodeSystemProblem): x is CodeSystemProblem {
  return 'kind' in x;
}

const SUPPLEMENT_TYPE = 'http://hl7.org/fhir/StructureDefinition/codesystem-supplement-type';

/** A supplement that is a language pack (translations of the displays), applied without being asked for. */
export function isLangPack(cs: CodeSystem): boolean {
  return (cs.extension ?? []).some((e) => e?.url === SUPPLEMENT_TYPE && (e.valueCode ?? e.valueString) === 'lang-pack');
}

/** The supplements whose designations count for a code system version: the required ones, then the language packs. */
export function designationSources(rs: ResolvedSystem): CodeSystem[] {
  return rs.langPacks.length === 0 ? rs.supplements : [...rs.supplements, ...rs.langPacks];
}

/**
 * Whether a code system can answer for its codes (complete or fragment; a missing content is read
 * as complete), or answers by a grammar (BCP 47: its resource lists no codes).
 */
export function hasUsableContent(cs: CodeSystem): boolean {
  const content = cs.content as string | undefined;
  return content === undefined || content === 'complete' || content === 'fragment' || answersByGrammar(cs);
}

/** `url|version`, or `url` when there is no version. */
export function vurl(r: { url?: string; version?: string }): string {
  return r.version ? `${r.url ?? ''}|${r.version}` : (r.url ?? '');
}

/** The canonical URL of a code system named by `system` (an alias resolves to the canonical). */
export function canonicalSystem(ctx: TxContext, system: string): string {
  return ctx.store.canonicalUrl('CodeSystem', system);
}

/**
 * The code system `system` (canonical or alias) at `version` (exact, or a wildcard pattern) that
 * can answer for codes; undefined when there is none (unknown, a supplement, or no content).
 */
export function findCodeSystem(ctx: TxContext, system: string, version: string | undefined): CodeSystem | undefined {
  const cs = ctx.codeSystem(system, version || undefined);
  return cs && cs.content !== 'supplement' && hasUsableContent(cs) ? cs : undefined;
}

/** The known versions of a code system (usable ones and stand-ins alike, not supplements), oldest first. */
export function knownVersions(ctx: TxContext, system: string): string[] {
  return ctx
    .versions('CodeSystem', system)
    .filter((cs) => cs.content !== 'supplement')
    .map((cs) => cs.version)
    .filter((v): v is string => typeof v === 'string')
    .sort(compareVersions);
}

/**
 * The version to look for: `force-system-version`, else the version stated, else
 * `system-version`, else `check-system-version` when it names a known version.
 */
export function pickSystemVersion(
  ctx: TxContext,
  rules: VersionRules,
  system: string,
  stated: string | undefined,
): { requested?: string; source: SystemVersionSource } {
  const forced = rules.forces.get(system);
  if (forced !== undefined) return { requested: forced, source: 'force' };
  if (stated) return { requested: stated, source: 'specified' };
  const dflt = rules.defaults.get(system);
  if (dflt !== undefined) return { requested: dflt, source: 'default' };
  const check = rules.checks.get(system);
  // a versionless reference with a version check: the check picks the version when it can
  if (check !== undefined && findCodeSystem(ctx, system, check)) return { requested: check, source: 'check' };
  return { source: 'latest' };
}

/** The supplements among `required` (canonicals) that apply to `cs`, and which canonicals they satisfy. */
export function applicableSupplements(
  ctx: TxContext,
  cs: CodeSystem,
  required: ReadonlySet<string> | readonly string[],
): { supplements: CodeSystem[]; satisfied: string[] } {
  const supplements: CodeSystem[] = [];
  const satisfied: string[] = [];
  for (const canonical of required) {
    const { url, version } = splitCanonical(canonical);
    const sup = ctx.codeSystem(url, version);
    if (!sup || (sup.content !== 'supplement' && !sup.supplements) || !sup.supplements) continue;
    const target = splitCanonical(sup.supplements);
    if (canonicalSystem(ctx, target.url) !== cs.url) continue;
    if (target.version !== undefined && !versionMatches(target.version, cs.version)) continue;
    if (!supplements.includes(sup)) supplements.push(sup);
    satisfied.push(canonical);
  }
  return { supplements, satisfied };
}

/**
 * Resolves the code system an include or a coding names, the version rules applied. Returns the
 * problem instead when it cannot be used; the caller decides how to report it.
 */
export function resolveSystem(
  ctx: TxContext,
  rules: VersionRules,
  writtenSystem: string,
  statedVersion: string | undefined,
  requiredSupplements: ReadonlySet<string> | readonly string[] = [],
): ResolvedSystem | CodeSystemProblem {
  const plain =
    ctx.overlayResources.length === 0 &&
    rules.defaults.size === 0 &&
    rules.checks.size === 0 &&
    rules.forces.size === 0 &&
    (Array.isArray(requiredSupplements)
      ? requiredSupplements.length
      : (requiredSupplements as ReadonlySet<string>).size) === 0;
  if (!plain) return resolveSystemNow(ctx, rules, writtenSystem, statedVersion, requiredSupplements);
  const memo = plainResolutions(ctx.store);
  const key = `${ctx.date ?? ''}|${statedVersion ?? ''}|${writtenSystem}`;
  let hit = memo.get(key);
  if (hit === undefined) {
    hit = resolveSystemNow(ctx, rules, writtenSystem, statedVersion, requiredSupplements);
    if (memo.size >= MAX_PLAIN_RESOLUTIONS) memo.clear();
    memo.set(key, hit);
  }
  return hit;
}

/**
 * Resolutions made with nothing but the store (no tx-resource, no version rules, no required
 * supplement), per store generation: such a resolution depends only on the store's content, the
 * request's date and the system and version asked for, and most requests are of this kind. The
 * results are shared and read-only. Bounded, since systems and versions come from requests.
 */
const plainMemo = new WeakMap<
  TerminologyStore,
  { generation: number; map: Map<string, ResolvedSystem | CodeSystemProblem> }
>();
const MAX_PLAIN_RESOLUTIONS = 2000;

function plainResolutions(store: TerminologyStore): Map<string, ResolvedSystem | CodeSystemProblem> {
  let entry = plainMemo.get(store);
  if (entry === undefined || entry.generation !== store.generation) {
    entry = { generation: store.generation, map: new Map() };
    plainMemo.set(store, entry);
  }
  return entry.map;
}

function resolveSystemNow(
  ctx: TxContext,
  rules: VersionRules,
  writtenSystem: string,
  statedVersion: string | undefined,
  requiredSupplements: ReadonlySet<string> | readonly string[],
): ResolvedSystem | CodeSystemProblem {
  const system = canonicalSystem(ctx, writtenSystem);
  const { requested, source } = pickSystemVersion(ctx, rules, system, statedVersion || undefined);
  const any = ctx.codeSystem(system, requested);
  if (any?.content === 'supplement') {
    return { kind: 'is-supplement', system, version: requested, known: [] };
  }
  const cs = any && hasUsableContent(any) ? any : undefined;
  if (!cs) {
    const miss = requested === undefined ? ctx.missAtDate('CodeSystem', system) : undefined;
    if (miss) return { kind: 'no-version-on-date', system, known: knownVersions(ctx, system), miss };
    if (requested === undefined) return { kind: 'unknown-system', system, known: [] };
    return { kind: 'unknown-version', system, version: requested, known: knownVersions(ctx, system) };
  }
  const { supplements } = applicableSupplements(ctx, cs, requiredSupplements);
  const langPacks = ctx
    .supplementsFor(cs.url ?? system, cs.version)
    .filter((s) => isLangPack(s) && !supplements.includes(s));
  const resolved: ResolvedSystem = {
    url: cs.url ?? system,
    ...(cs.version !== undefined ? { version: cs.version } : {}),
    codeSystem: cs,
    index: indexCodeSystem(cs),
    supplements,
    langPacks,
    source,
    ...(requested !== undefined ? { requested } : {}),
  };
  const required = failedVersionCheck(rules, system, cs.version);
  if (required !== undefined) {
    return {
      kind: 'version-check',
      system,
      version: requested,
      known: [],
      found: cs.version ?? '',
      required,
      resolved,
    };
  }
  return resolved;
}

/** The texts of the $expand errors for a code system that cannot be used. */
export const EXPAND_SYSTEM_MSG = {
  /** UNKNOWN_CODESYSTEM_EXP */
  unknownSystem: (system: string): string =>
    `A definition for CodeSystem '${system}' could not be found, so the value set cannot be expanded`,
  /** UNKNOWN_CODESYSTEM_VERSION_EXP / _NONE */
  unknownSystemVersion: (system: string, version: string, known: readonly string[]): string =>
    known.length > 0
      ? `A definition for CodeSystem '${system}' version '${version}' could not be found, so the value set cannot be expanded. Valid versions: ${joinOr(known)}`
      : `A definition for CodeSystem '${system}' version '${version}' could not be found, so the value set cannot be expanded. No versions of this code system are known`,
  /** VALUESET_VERSION_CHECK */
  versionCheck: (system: string, actual: string, wanted: string): string =>
    `The version '${actual}' is not allowed for system '${system}': required to be '${wanted}' by a version-check parameter`,
  supplementAsSystem: (system: string): string =>
    `The code system definition for ${system} defines a supplement, so this expansion cannot be performed`,
};

function joinOr(values: readonly string[]): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

/** The error $expand answers with for a code system that cannot be used. */
export function expandProblemError(p: CodeSystemProblem): OperationOutcomeError {
  switch (p.kind) {
    case 'no-version-on-date':
      return issueError(
        422,
        'not-found',
        'not-found',
        VMSG.noVersionOnDate('CodeSystem', p.system, p.miss?.date ?? '', p.miss?.versions ?? []),
      );
    case 'unknown-system':
      return issueError(
        422,
        'not-found',
        'not-found',
        EXPAND_SYSTEM_MSG.unknownSystem(p.system),
        MSGID.unknownSystemExp,
      );
    case 'unknown-version':
      return issueError(
        422,
        'not-found',
        'not-found',
        EXPAND_SYSTEM_MSG.unknownSystemVersion(p.system, p.version ?? '', p.known),
        p.known.length > 0 ? MSGID.unknownSystemVersionExp : MSGID.unknownSystemVersionExpNone,
      );
    case 'is-supplement':
      return issueError(422, 'business-rule', 'vs-invalid', EXPAND_SYSTEM_MSG.supplementAsSystem(p.system));
    case 'version-check':
      return issueError(
        400,
        'exception',
        'version-error',
        EXPAND_SYSTEM_MSG.versionCheck(p.system, p.found ?? '', p.required ?? ''),
        MSGID.versionCheck,
      );
  }
}

function issueError(
  status: number,
  code: 'not-found' | 'business-rule' | 'exception',
  txIssueType: string,
  text: string,
  messageId?: string,
): OperationOutcomeError {
  return new OperationOutcomeError(status, [makeIssue({ code, text, txIssueType, messageId })]);
}
