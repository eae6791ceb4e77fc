import type { ValueSet, ValueSetCompose, ValueSetExpansionContains } from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { valueSetCanonical } from './compose.ts';
import type { TxContext } from './context.ts';
import { expandValueSet } from './expand.ts';
import {
  compareDefinitions,
  type Diagnostics,
  type Status,
  type SystemVersioning,
  VERSION_POLICIES,
  type VersionPolicy,
} from './related-definitions.ts';
import { NO_VERSION_RULES, type VersionRules } from './version-rules.ts';
import { splitCanonical } from './versions.ts';

/**
 * ValueSet $compare (formerly $related): how the memberships of two value sets relate
 * (http://hl7.org/fhir/tools/OperationDefinition/ValueSet-compare, and the FHIR tools IG page
 * "ValueSet Comparison"). The answer is stated from the point of view of `this`: `subset` means
 * every code of `this` is in `other`, which has more.
 *
 * Two steps, as the tools IG describes them:
 * 1. From the definitions. The includes and excludes of both composes are grouped by code system
 *    (and version, where the version matters) and compared group by group: whole-system includes,
 *    enumerated concept lists, and a single filter (an `is-a` filter against another `is-a` filter
 *    is decided by subsumption). Anything else (excludes, value set imports, includes mixing
 *    concepts and filters, several filters that are not identical) cannot be decided this way.
 * 2. Otherwise, by expanding both value sets and comparing the code lists. An expansion that fails
 *    or is unclosed gives `indeterminate`: a deliberate answer, never a guess.
 *
 * Versions (tools IG, Versioning): under `as-needed` (the default) the version of a code system
 * matters only where it says `versionNeeded`, or where a filter is involved (a filter can select
 * different codes in different versions); `always` and `never` override that.
 */

export { VERSION_POLICIES, type VersionPolicy };

export type ValueSetRelation = 'same' | 'subset' | 'superset' | 'overlapping' | 'disjoint' | 'empty' | 'indeterminate';

export interface CompareOptions {
  /** `version-policy`; default `as-needed` */
  versionPolicy?: VersionPolicy;
  /** system-version / check-system-version / force-system-version, for the expansions */
  rules?: VersionRules;
  /** largest expansion compared (default 10000) */
  maxExpansionSize?: number;
}

export interface CompareResult {
  result: ValueSetRelation;
  message: string;
  /** whether both value sets had to be expanded to decide */
  performedExpansion: boolean;
  /** codes in `this` and not in `other`, where known (diagnostics) */
  missingCodes: string[];
  /** codes in `other` and not in `this`, where known (diagnostics) */
  extraCodes: string[];
  /** codes in both, where known (diagnostics) */
  commonCodes: string[];
}

/** Largest expansion the comparison makes (the reference server's limit for this operation). */
export const COMPARE_EXPANSION_LIMIT = 10000;

// ---------------------------------------------------------------------------------------------
// Messages. The wording is the reference server's (tx.fhir.org), so that clients and the HL7
// tests see the same text from either; `subset` keeps its "seb-set" spelling for that reason.

export const RELATED_MSG = {
  noCompose: (vs: string): string => `The ValueSet ${vs} has no compose`,
  indeterminate: (a: string, b: string, reason: string): string => `Unable to compare ${a} and ${b}: ${reason}`,
  empty: (a: string, b: string): string => `Both the value sets ${a} and ${b} are empty`,
  disjoint: (a: string, b: string): string => `No shared codes between the value sets ${a} and ${b}`,
  same: (a: string, b: string): string => `The value sets ${a} and ${b} contain the same codes`,
  overlapping: (a: string, b: string): string =>
    `Both value sets ${a} and ${b} contain the codes the other doesn't, but there is some overlap`,
  superset: (a: string, b: string): string => `The valueSet ${a} is a super-set of the valueSet ${b}`,
  subset: (a: string, b: string): string => `The valueSet ${a} is a seb-set of the valueSet ${b}`,
  bothFailed: (m: string): string => `Both expansions failed: ${m}`,
  bothFailedDifferently: (m1: string, m2: string): string =>
    `Both expansions failed with different errors: ${m1}; ${m2}`,
  thisFailed: (m: string): string => `This expansion failed: ${m}`,
  otherFailed: (m: string): string => `Other expansion failed: ${m}`,
  bothUnclosed: (): string => 'Both expansions are unclosed.',
  thisUnclosed: (): string => 'This expansion is unclosed.',
  otherUnclosed: (): string => 'Other expansion is unclosed.',
  lockedDate: (vs: string): string =>
    `Cannot process ValueSet ${vs} due to the presence of a lockedDate on the compose`,
  modifierExtension: (vs: string, urls: readonly string[]): string =>
    `Cannot process ValueSet ${vs}: its compose has modifier extensions that are not understood (${urls.join(', ')})`,
} as const;

const UNCLOSED_EXT = 'http://hl7.org/fhir/StructureDefinition/valueset-unclosed';

/**
 * Compares two value sets. Throws OperationOutcomeError (422) for a compose the server declines to
 * process (a lockedDate, modifier extensions); every other difficulty is an `indeterminate` answer.
 */
export function compareValueSets(
  ctx: TxContext,
  thisVs: ValueSet,
  otherVs: ValueSet,
  options: CompareOptions = {},
): CompareResult {
  const a = valueSetCanonical(thisVs);
  const b = valueSetCanonical(otherVs);
  const answer = (result: ValueSetRelation, message: string, extra: Partial<CompareResult> = {}): CompareResult => ({
    result,
    message,
    performedExpansion: false,
    missingCodes: [],
    extraCodes: [],
    commonCodes: [],
    ...extra,
  });

  // "we have to compare the composes; we don't care about anything else"
  const thisCompose = thisVs.compose;
  if (!thisCompose) return answer('indeterminate', RELATED_MSG.noCompose(a));
  checkComposeProcessable(a, thisCompose);
  const otherCompose = otherVs.compose;
  if (!otherCompose) return answer('indeterminate', RELATED_MSG.noCompose(b));
  checkComposeProcessable(b, otherCompose);

  const policy = options.versionPolicy ?? 'as-needed';
  const rules = options.rules ?? NO_VERSION_RULES;
  if ((thisCompose.include ?? []).length === 0 && (otherCompose.include ?? []).length === 0) {
    return answer('empty', RELATED_MSG.empty(a, b));
  }

  // 1. from the definitions; 2. if they cannot decide, by the expansions
  const byDefinitions = compareDefinitions(ctx, rules, policy, thisCompose, otherCompose);
  const performedExpansion = byDefinitions.status.fail;
  const { status, diagnostics, empty, reason } = performedExpansion
    ? compareExpansions(ctx, thisVs, otherVs, byDefinitions.versioning, policy, options)
    : { ...byDefinitions, empty: false, reason: undefined };

  const extra: Partial<CompareResult> = {
    performedExpansion,
    missingCodes: diagnostics.missing,
    extraCodes: diagnostics.extra,
    commonCodes: diagnostics.common,
  };
  if (status.fail) return answer('indeterminate', RELATED_MSG.indeterminate(a, b, reason ?? ''), extra);
  if (empty) return answer('empty', RELATED_MSG.empty(a, b), extra);
  if (!status.common) return answer('disjoint', RELATED_MSG.disjoint(a, b), extra);
  if (!status.left && !status.right) return answer('same', RELATED_MSG.same(a, b), extra);
  if (status.left && status.right) return answer('overlapping', RELATED_MSG.overlapping(a, b), extra);
  if (status.left) return answer('superset', RELATED_MSG.superset(a, b), extra);
  return answer('subset', RELATED_MSG.subset(a, b), extra);
}

/**
 * A compose this operation will not reason about: one with a lockedDate (the definition depends on
 * a date the server does not apply here) or modifier extensions it does not understand (FHIR R4
 * extensibility.html#modifierExtension: unknown modifiers must not be ignored).
 */
function checkComposeProcessable(vs: string, compose: ValueSetCompose): void {
  if (compose.lockedDate) {
    throw new OperationOutcomeError(422, [
      makeIssue({ code: 'business-rule', text: RELATED_MSG.lockedDate(vs), txIssueType: 'business-rule' }),
    ]);
  }
  const modifiers = compose.modifierExtension ?? [];
  if (modifiers.length > 0) {
    throw new OperationOutcomeError(422, [
      makeIssue({
        code: 'not-supported',
        text: RELATED_MSG.modifierExtension(
          vs,
          modifiers.map((m) => m.url ?? '?'),
        ),
        txIssueType: 'not-supported',
      }),
    ]);
  }
}

// ---------------------------------------------------------------------------------------------
// Comparing the expansions

interface ExpansionOutcome {
  vs?: ValueSet;
  error?: string;
}

function tryExpand(ctx: TxContext, vs: ValueSet, options: CompareOptions): ExpansionOutcome {
  try {
    return {
      vs: expandValueSet(ctx, vs, {
        excludeNested: true,
        maxExpansionSize: options.maxExpansionSize ?? COMPARE_EXPANSION_LIMIT,
        ...(options.rules ? { rules: options.rules } : {}),
      }),
    };
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return { error: err.outcome.issue?.[0]?.details?.text ?? err.message };
    }
    throw err;
  }
}

function isUnclosed(vs: ValueSet): boolean {
  return (vs.expansion?.extension ?? []).some((e) => e.url === UNCLOSED_EXT && e.valueBoolean !== false);
}

function flatten(list: readonly ValueSetExpansionContains[] | undefined, out: ValueSetExpansionContains[] = []) {
  for (const c of list ?? []) {
    if (c.code !== undefined) out.push(c);
    flatten(c.contains, out);
  }
  return out;
}

/** The version each code system has in an expansion, when it is used in exactly one version. */
function usedVersions(vs: ValueSet): Map<string, string | undefined> {
  const seen = new Map<string, Set<string>>();
  for (const p of vs.expansion?.parameter ?? []) {
    if (p.name !== 'used-codesystem') continue;
    const value = p.valueUri ?? p.valueString;
    if (!value) continue;
    const { url, version } = splitCanonical(value);
    const set = seen.get(url) ?? new Set<string>();
    if (version !== undefined) set.add(version);
    seen.set(url, set);
  }
  const out = new Map<string, string | undefined>();
  for (const [url, set] of seen) out.set(url, set.size === 1 ? [...set][0] : undefined);
  return out;
}

interface Member {
  key: string;
  code: string;
}

function members(vs: ValueSet, versionMatters: (system: string) => boolean): Member[] {
  const versions = usedVersions(vs);
  const out = new Map<string, Member>();
  for (const c of flatten(vs.expansion?.contains)) {
    const system = c.system ?? '';
    const code = c.code ?? '';
    const version = versionMatters(system) ? (c.version ?? versions.get(system) ?? '') : '';
    const key = `${system}\u0000${version}\u0000${code}`;
    if (!out.has(key)) out.set(key, { key, code });
  }
  return [...out.values()];
}

interface ExpansionComparison {
  status: Status;
  diagnostics: Diagnostics;
  /** both expansions are empty */
  empty: boolean;
  /** why the comparison failed (status.fail) */
  reason?: string;
}

function compareExpansions(
  ctx: TxContext,
  thisVs: ValueSet,
  otherVs: ValueSet,
  versioning: Map<string, SystemVersioning>,
  policy: VersionPolicy,
  options: CompareOptions,
): ExpansionComparison {
  const status: Status = { left: false, right: false, common: false, fail: false };
  const diagnostics: Diagnostics = { missing: [], extra: [], common: [] };
  const failed = (reason: string): ExpansionComparison => ({
    status: { ...status, fail: true },
    diagnostics,
    empty: false,
    reason,
  });
  const mine = tryExpand(ctx, thisVs, options);
  const theirs = tryExpand(ctx, otherVs, options);
  if (mine.error !== undefined && theirs.error !== undefined) {
    return failed(
      mine.error === theirs.error
        ? RELATED_MSG.bothFailed(mine.error)
        : RELATED_MSG.bothFailedDifferently(mine.error, theirs.error),
    );
  }
  if (mine.error !== undefined) return failed(RELATED_MSG.thisFailed(mine.error));
  if (theirs.error !== undefined) return failed(RELATED_MSG.otherFailed(theirs.error));
  const expThis = mine.vs as ValueSet;
  const expOther = theirs.vs as ValueSet;
  const thisUnclosed = isUnclosed(expThis);
  const otherUnclosed = isUnclosed(expOther);
  if (thisUnclosed && otherUnclosed) return failed(RELATED_MSG.bothUnclosed());
  if (thisUnclosed) return failed(RELATED_MSG.thisUnclosed());
  if (otherUnclosed) return failed(RELATED_MSG.otherUnclosed());

  const versionMatters = (system: string): boolean =>
    policy === 'always' ? true : policy === 'never' ? false : versioning.get(system)?.codes === true;
  const left = members(expThis, versionMatters);
  const right = members(expOther, versionMatters);
  if (left.length === 0 && right.length === 0) return { status, diagnostics, empty: true };
  const rightKeys = new Set(right.map((m) => m.key));
  const leftKeys = new Set(left.map((m) => m.key));
  const common = left.filter((m) => rightKeys.has(m.key));
  const missing = left.filter((m) => !rightKeys.has(m.key));
  const extra = right.filter((m) => !leftKeys.has(m.key));
  status.common = common.length > 0;
  status.left = missing.length > 0;
  status.right = extra.length > 0;
  diagnostics.missing = missing.map((m) => m.code);
  diagnostics.extra = extra.map((m) => m.code);
  // the shared codes say something only when the value sets differ
  diagnostics.common = status.left || status.right ? common.map((m) => m.code) : [];
  return { status, diagnostics, empty: false };
}
