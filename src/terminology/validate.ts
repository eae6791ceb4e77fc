/**
 * $validate-code for value sets and code systems:
 * http://hl7.org/fhir/R4/valueset-operation-validate-code.html,
 * http://hl7.org/fhir/R4/codesystem-operation-validate-code.html, with the additions of the HL7
 * terminology ecosystem IG: `issues` with tx-issue-type codes, expressions and message ids,
 * `x-unknown-system` / `x-caused-by-unknown-system`, `normalized-code`,
 * `lenient-display-validation`, `valueset-membership-only`, version rules, status checks.
 *
 * One algorithm serves both operations: a CodeSystem is validated against the implicit value set
 * of all its codes. Membership is the core's (valueset-core.ts), asked through the checks of
 * validate-check.ts; a run over the input's codings is validate-run.ts. This module holds the
 * entry points. Knows nothing of HTTP: the operations turn the result into Parameters.
 */
import type { CodeableConcept, CodeSystem, Coding, OperationOutcomeIssue, ValueSet } from '@medplum/fhirtypes';
import type { IssueCode } from '../http/outcome.ts';
import { canonicalSystem, hasUsableContent, isCodeSystemProblem, vurl } from './code-systems.ts';
import { valueSetSupplements } from './compose.ts';
import type { TxContext } from './context.ts';
import { implicitValueSet, resolveImplicitValueSet } from './implicit-valueset.ts';
import { valueSetExpansionParameters } from './language.ts';
import { MSGID } from './message-ids.ts';
import { languagePrefs, NO_LANGUAGES } from './validate-displays.ts';
import { VMSG } from './validate-messages.ts';
import { fail, PrepareFailure, Validation } from './validate-run.ts';
import type { ValidationMode, ValidationOptions } from './validate-status.ts';
import { type PreparedValueSet, ValueSetCore } from './valueset-core.ts';
import { ImportNotFoundError, pinValueSetReference } from './valueset-references.ts';
import { NO_VERSION_RULES, type VersionRules, withValueSetDefaults } from './version-rules.ts';
import { splitCanonical } from './versions.ts';

export type { ValidationMode, ValidationOptions };

/** What to validate: a code (+system, version, display), a Coding, or a CodeableConcept. */
export interface ValidationInput {
  mode: ValidationMode;
  /** the codings to check, in order: one for `code` and `coding` */
  codings: Coding[];
  /** the CodeableConcept as given, echoed in the result */
  codeableConcept?: CodeableConcept;
}

export interface ValueSetValidationOptions extends ValidationOptions {
  /** system-version / check-system-version / force-system-version */
  versionRules?: VersionRules;
  /** default-valueset-version / check-valueset-version / force-valueset-version, for imports */
  valueSetVersionRules?: VersionRules;
  /** `useSupplement` canonicals: supplements that must be used (an unknown one is an error) */
  useSupplements?: readonly string[];
}

export interface ValidationResult {
  result: boolean;
  code?: string;
  system?: string;
  version?: string;
  display?: string;
  message?: string;
  issues: OperationOutcomeIssue[];
  inactive?: boolean;
  status?: string;
  /** the code as the (case-insensitive) code system spells it, when the input differs */
  normalizedCode?: string;
  /** systems (url or url|version) that could not be found and made the coding unverifiable */
  unknownSystems: string[];
  /** systems that could not be found although another part of the input was valid */
  causedByUnknownSystems: string[];
  /** the CodeableConcept as given (codeableConcept mode) */
  codeableConcept?: CodeableConcept;
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/**
 * The value set's own parameters (valueset-expansion-parameter extensions), which apply unless
 * the request gives them (tx-ecosystem IG: the request wins).
 */
function applyValueSetParameters(
  vs: ValueSet,
  opts: ValueSetValidationOptions,
): { opts: ValueSetValidationOptions; displayLanguage?: string } {
  const own = valueSetExpansionParameters(vs);
  if (own.size === 0) return { opts };
  const merged: ValueSetValidationOptions = { ...opts };
  const bool = (name: string): boolean | undefined => {
    const v = own.get(name);
    return v === 'true' ? true : v === 'false' ? false : undefined;
  };
  merged.activeOnly ??= bool('activeOnly');
  merged.lenientDisplay ??= bool('lenient-display-validation');
  merged.membershipOnly ??= bool('valueset-membership-only');
  merged.abstractOk ??= bool('abstract');
  const rules = withValueSetDefaults(opts.versionRules, own);
  if (rules) merged.versionRules = rules;
  return { opts: merged, displayLanguage: own.get('displayLanguage') };
}

/**
 * The input with every coding's system replaced by the canonical URL it is an alias of (e.g. the
 * web URLs of NLK stand for its OID), so that value set includes match whichever name was used.
 */
function withCanonicalSystems(ctx: TxContext, given: ValidationInput): ValidationInput {
  // only codings that are objects, with a string system (the edge refuses the rest: resource-shape.ts)
  const codings = (Array.isArray(given.codings) ? given.codings : []).filter(
    (c): c is Coding => c !== null && typeof c === 'object',
  );
  const input = codings.length === given.codings?.length ? given : { ...given, codings };
  const canon = (c: Coding): Coding => {
    if (typeof c.system !== 'string') {
      if (c.system === undefined) return c;
      const { system: _system, ...rest } = c;
      return rest;
    }
    if (!c.system) return c;
    const url = canonicalSystem(ctx, c.system);
    return url === c.system ? c : { ...c, system: url };
  };
  if (!input.codings.some((c) => c.system !== undefined && canon(c) !== c)) return input;
  return { ...input, codings: input.codings.map(canon) };
}

/** Prepares a value set for validation; an import that cannot be found is a PrepareFailure. */
function prepareForValidation(validation: Validation, core: ValueSetCore, valueSet: ValueSet): PreparedValueSet {
  let pvs: PreparedValueSet;
  try {
    pvs = core.prepare(valueSet);
  } catch (e) {
    if (e instanceof ImportNotFoundError) {
      throw new PrepareFailure({
        severity: 'error',
        code: 'not-found',
        txType: 'not-found',
        text: VMSG.valueSetNotFound(e.reference),
        messageId: MSGID.unknownValueSet,
        inMessage: true,
      });
    }
    throw e;
  }
  validation.preflight(pvs);
  validation.checkSupplementsUsed();
  return pvs;
}

/**
 * ValueSet $validate-code: whether the code / Coding / CodeableConcept is in `valueSet`.
 * Throws OperationOutcomeError for a value set that cannot be evaluated (broken filter,
 * circular imports, missing required supplement).
 */
export function validateCodeInValueSet(
  ctx: TxContext,
  valueSet: ValueSet,
  given: ValidationInput,
  options: ValueSetValidationOptions = {},
): ValidationResult {
  const input = withCanonicalSystems(ctx, given);
  const { opts, displayLanguage: vsDisplayLanguage } = applyValueSetParameters(valueSet, options);
  // displayLanguage > the value set's expansion parameter > Accept-Language > ValueSet.language
  const langs =
    languagePrefs(opts.displayLanguage) ??
    languagePrefs(vsDisplayLanguage) ??
    languagePrefs(opts.acceptLanguage) ??
    languagePrefs(valueSet.language) ??
    NO_LANGUAGES;
  const required = [...(opts.useSupplements ?? [])];
  for (const s of valueSetSupplements(valueSet)) if (!required.includes(s)) required.push(s);
  const core = new ValueSetCore(ctx, {
    ...(opts.versionRules ? { rules: opts.versionRules } : {}),
    ...(opts.valueSetVersionRules ? { valueSetRules: opts.valueSetVersionRules } : {}),
    activeOnly: opts.activeOnly === true,
    supplements: required,
  });
  const validation = new Validation(core, input.mode === 'code' ? opts : { ...opts, inferSystem: false }, langs, false);
  let pvs: PreparedValueSet;
  try {
    pvs = prepareForValidation(validation, core, valueSet);
  } catch (e) {
    if (e instanceof PrepareFailure) return validation.prepareFailure(e, input);
    throw e;
  }
  return validation.validate(pvs, input);
}

/**
 * The value set a request names (`url` + `valueSetVersion`, the value set version rules applied).
 * Throws a 4xx OperationOutcomeError when it is not known.
 */
export function resolveValueSet(
  ctx: TxContext,
  url: string,
  version: string | undefined,
  rules: VersionRules = NO_VERSION_RULES,
): ValueSet {
  const split = splitCanonical(url);
  const pinned = splitCanonical(
    pinValueSetReference(rules, (version ?? split.version) ? `${split.url}|${version ?? split.version}` : split.url),
  );
  const wanted = pinned.version;
  const vs = ctx.valueSet(split.url, wanted) ?? resolveImplicitValueSet(ctx, split.url, wanted);
  const miss = vs || wanted !== undefined ? undefined : ctx.missAtDate('ValueSet', split.url);
  if (miss) {
    throw fail(422, 'not-found', 'not-found', VMSG.noVersionOnDate('ValueSet', miss.url, miss.date, miss.versions));
  }
  if (!vs) {
    const canonical = wanted ? `${split.url}|${wanted}` : split.url;
    throw fail(422, 'not-found', 'not-found', VMSG.valueSetNotFound(canonical), undefined, MSGID.unknownValueSet);
  }
  return vs;
}

export interface CodeSystemTarget {
  /** the code system resource (instance call or `codeSystem` parameter) */
  codeSystem?: CodeSystem;
  /** its canonical (`url` parameter, else the coding's system) */
  url?: string;
  /** `version` parameter, else the coding's version */
  version?: string;
}

/**
 * CodeSystem $validate-code: whether the code / Coding / CodeableConcept is valid in the code
 * system, i.e. a member of its implicit value set (all its codes). An unknown code system is
 * a `result = false` outcome, as in the reference servers.
 */
export function validateCodeInCodeSystem(
  ctx: TxContext,
  givenTarget: CodeSystemTarget,
  givenInput: ValidationInput,
  options: ValueSetValidationOptions = {},
): ValidationResult {
  const input = withCanonicalSystems(ctx, givenInput);
  const target = givenTarget.url ? { ...givenTarget, url: canonicalSystem(ctx, givenTarget.url) } : givenTarget;
  const opts: ValueSetValidationOptions = { ...options, inferSystem: false };
  const langs = languagePrefs(opts.displayLanguage) ?? languagePrefs(opts.acceptLanguage) ?? NO_LANGUAGES;
  // a CodeSystem given as a resource resolves by its url for this request, whatever is stored
  const given = target.codeSystem;
  const scoped = given?.url && ctx.codeSystem(given.url, given.version) !== given ? ctx.withResources([given]) : ctx;
  const core = new ValueSetCore(scoped, {
    ...(opts.versionRules ? { rules: opts.versionRules } : {}),
    activeOnly: opts.activeOnly === true,
    supplements: [...(opts.useSupplements ?? [])],
  });
  const validation = new Validation(core, opts, langs, true);
  const systemPath =
    input.mode === 'code' ? 'system' : input.mode === 'coding' ? 'Coding.system' : 'CodeableConcept.coding[0].system';
  const failure = (
    text: string,
    code: IssueCode,
    txType: string,
    messageId?: string,
    unknownSystem?: string,
  ): ValidationResult =>
    validation.prepareFailure(
      new PrepareFailure(
        { severity: 'error', code, txType, text, expression: systemPath, inMessage: true, messageId },
        unknownSystem,
      ),
      input,
    );

  let cs = given;
  if (!cs) {
    const url = target.url;
    if (!url) {
      if (input.codings[0]?.code === undefined) throw fail(400, 'invalid', 'invalid-data', VMSG.noCodeSystem());
      return validation.prepareFailure(
        new PrepareFailure({
          severity: 'warning',
          code: 'invalid',
          txType: 'invalid-data',
          text: VMSG.codingHasNoSystem(),
          expression:
            input.mode === 'code' ? undefined : input.mode === 'coding' ? 'Coding' : 'CodeableConcept.coding[0]',
          messageId: MSGID.codingNoSystem,
          inMessage: true,
        }),
        input,
      );
    }
    const found = core.resolve(url, target.version);
    if (isCodeSystemProblem(found)) {
      switch (found.kind) {
        case 'is-supplement':
          return failure(VMSG.systemIsSupplement(url), 'invalid', 'invalid-data', MSGID.systemIsSupplement);
        case 'no-version-on-date':
          return failure(
            VMSG.noVersionOnDate('CodeSystem', found.system, found.miss?.date ?? '', found.miss?.versions ?? []),
            'not-found',
            'not-found',
          );
        case 'version-check':
          cs = found.resolved?.codeSystem;
          break;
        default: {
          if (ctx.valueSet(url))
            return failure(VMSG.systemIsValueSet(url), 'invalid', 'invalid-data', MSGID.systemIsValueSet);
          const version = found.version;
          if (version) {
            const known = found.known;
            return failure(
              VMSG.unknownSystemVersion(url, version, known),
              'not-found',
              'not-found',
              known.length === 0 ? MSGID.unknownSystemVersionNone : MSGID.unknownSystemVersion,
              known.length === 0 ? url : `${url}|${version}`,
            );
          }
          return failure(VMSG.unknownSystem(url), 'not-found', 'not-found', MSGID.unknownSystem, url);
        }
      }
    } else {
      cs = found.codeSystem;
    }
  }
  if (!cs) return failure(VMSG.unknownSystem(target.url ?? ''), 'not-found', 'not-found', MSGID.unknownSystem);
  if (cs.content === 'supplement') {
    throw fail(400, 'invalid', 'invalid-data', VMSG.systemIsSupplement(vurl(cs)), systemPath, MSGID.systemIsSupplement);
  }
  if (!cs.url) throw fail(400, 'invalid', 'invalid-data', VMSG.noCodeSystem());
  if (!hasUsableContent(cs)) {
    return failure(VMSG.unknownSystem(cs.url), 'not-found', 'not-found', MSGID.unknownSystem, vurl(cs));
  }
  const system = cs.url;
  // the code system's implicit value set of all its codes (CodeSystem.valueSet, or {url}?vs); as
  // the reference servers build it, it is active, so a draft or experimental code system is reported
  const { experimental: _experimental, ...allCodes } = implicitValueSet(cs);
  const implicit: ValueSet = { ...allCodes, status: 'active' };
  // a code (or coding) without a system is one of this code system's (instance call, codeSystem parameter)
  const codings = input.codings.map((c) => (c.system || input.mode === 'codeableConcept' ? c : { ...c, system }));
  let pvs: PreparedValueSet;
  try {
    pvs = prepareForValidation(validation, core, implicit);
  } catch (e) {
    if (e instanceof PrepareFailure) return validation.prepareFailure(e, input);
    throw e;
  }
  return validation.validate(pvs, { ...input, codings });
}

/**
 * `valueSetMode` = NO_MEMBERSHIP_CHECK (ValueSet $validate-code; tx-ecosystem IG, "mode/valueSetMode"):
 * each coding is checked against its own code system (the code exists, its display, its status) as
 * CodeSystem $validate-code checks it, and membership in the value set is not asked. A
 * CodeableConcept is valid when no coding has an error; the answer names the first valid coding,
 * and each coding's issues keep their place (`CodeableConcept.coding[i]`).
 */
export function validateCodeInItsCodeSystem(
  ctx: TxContext,
  input: ValidationInput,
  options: ValueSetValidationOptions = {},
): ValidationResult {
  const one = (coding: Coding): ValidationResult =>
    validateCodeInCodeSystem(
      ctx,
      { ...(coding.system ? { url: coding.system } : {}), ...(coding.version ? { version: coding.version } : {}) },
      { mode: input.mode === 'code' ? 'code' : 'coding', codings: [coding] },
      options,
    );
  if (input.mode !== 'codeableConcept') return one(input.codings[0] ?? {});
  const results = input.codings.map(one);
  const first = results.find((r) => r.result);
  const issues = results.flatMap((r, i) =>
    r.issues.map((issue) => ({
      ...issue,
      ...(issue.expression
        ? { expression: issue.expression.map((e) => e.replace(/^Coding/, `CodeableConcept.coding[${i}]`)) }
        : {}),
      ...(issue.location
        ? { location: issue.location.map((e) => e.replace(/^Coding/, `CodeableConcept.coding[${i}]`)) }
        : {}),
    })),
  );
  const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  const result = results.length > 0 && errors.length === 0;
  const union = (pick: (r: ValidationResult) => string[]): string[] => [...new Set(results.flatMap(pick))];
  return {
    result,
    ...(first?.code !== undefined ? { code: first.code } : {}),
    ...(first?.system !== undefined ? { system: first.system } : {}),
    ...(first?.version !== undefined ? { version: first.version } : {}),
    ...(first?.display !== undefined ? { display: first.display } : {}),
    ...(errors.length > 0 ? { message: errors.map((e) => e.details?.text ?? '').join('; ') } : {}),
    issues,
    unknownSystems: union((r) => r.unknownSystems),
    causedByUnknownSystems: union((r) => r.causedByUnknownSystems),
    ...(input.codeableConcept ? { codeableConcept: input.codeableConcept } : {}),
  };
}
