import type { CodeableConcept, Coding, Parameters, ValueSet } from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { type InputParams, OutputParams, type ParamDef } from '../http/params.ts';
import {
  resolveValueSet,
  type ValidationInput,
  type ValidationResult,
  type ValueSetValidationOptions,
  validateCodeInItsCodeSystem,
  validateCodeInValueSet,
} from '../terminology/validate.ts';
import { VMSG } from '../terminology/validate-messages.ts';
import { parseValueSetVersionRules, parseVersionRules } from '../terminology/version-rules.ts';

import {
  atRequestDate,
  codeableConceptParam,
  codingParam,
  displayLanguageParam,
  stringParam,
} from './coding-params.ts';
import type { OperationDef, OperationRequest, OperationResult } from './types.ts';

/**
 * ValueSet/$validate-code, type and instance level, GET and POST.
 * http://hl7.org/fhir/R4/valueset-operation-validate-code.html, with the parameters the HL7
 * terminology ecosystem IG adds (version rules, `lenient-display-validation`,
 * `valueset-membership-only`, `useSupplement`, `tx-resource`). The helpers here (reading the
 * coded value and the options, writing the result) serve CodeSystem $validate-code and
 * $batch-validate-code too.
 */

/**
 * The options of both $validate-code operations and $batch-validate-code. `inferSystem` and the
 * value set version rules are value set parameters: a code system validation neither reads nor
 * checks them (they are not among its parameters, so they are ignored as unknown ones are).
 */
export function readValidationOptions(
  params: InputParams,
  acceptLanguage: string | undefined,
  target: 'ValueSet' | 'CodeSystem',
): ValueSetValidationOptions {
  const forValueSet = target === 'ValueSet';
  return {
    inferSystem: forValueSet ? params.boolean('inferSystem') : undefined,
    abstractOk: params.boolean('abstract'),
    activeOnly: params.boolean('activeOnly'),
    lenientDisplay: params.boolean('lenient-display-validation'),
    membershipOnly: params.boolean('valueset-membership-only'),
    displayLanguage: displayLanguageParam(params),
    acceptLanguage,
    versionRules: parseVersionRules(params),
    valueSetVersionRules: forValueSet ? parseValueSetVersionRules(params) : undefined,
    useSupplements: params.strings('useSupplement'),
  };
}

/**
 * The coded value to validate: `codeableConcept`, else `coding`, else `code` with its system
 * (`system`/`systemVersion` for a value set, `url`/`version` for a code system) and `display`.
 * Undefined when there is none (a code without a system needs `inferSystem`, value sets only).
 */
export function readCodedInput(params: InputParams, target: 'ValueSet' | 'CodeSystem'): ValidationInput | undefined {
  const cc: CodeableConcept | undefined = codeableConceptParam(params, 'codeableConcept');
  if (cc) return { mode: 'codeableConcept', codings: cc.coding ?? [], codeableConcept: cc };
  const coding: Coding | undefined = codingParam(params, 'coding');
  if (coding) return { mode: 'coding', codings: [coding] };
  const code = stringParam(params, 'code');
  if (code === undefined) return undefined;
  const system =
    target === 'CodeSystem'
      ? (stringParam(params, 'url') ?? stringParam(params, 'system'))
      : stringParam(params, 'system');
  const version = stringParam(params, target === 'CodeSystem' ? 'version' : 'systemVersion');
  // a value set needs the system or inferSystem; a code system call may name the system otherwise
  if (!system && target === 'ValueSet' && !params.boolean('inferSystem')) return undefined;
  const display = params.string('display');
  return {
    mode: 'code',
    codings: [
      {
        ...(system ? { system } : {}),
        ...(version ? { version } : {}),
        code,
        ...(display !== undefined && display !== '' ? { display } : {}),
      },
    ],
  };
}

export function noCodeToValidate(): OperationOutcomeError {
  return new OperationOutcomeError(400, [makeIssue({ code: 'invalid', text: VMSG.noCodeToValidate() })]);
}

/** The $validate-code output Parameters (R4 names; `issues` is an OperationOutcome). */
export function validationResultToParameters(r: ValidationResult): Parameters {
  const out = new OutputParams()
    .add('result', 'valueBoolean', r.result)
    .add('code', 'valueCode', r.code)
    .add('system', 'valueUri', r.system)
    .add('version', 'valueString', r.version)
    .add('display', 'valueString', r.display)
    .add('inactive', 'valueBoolean', r.inactive)
    .add('status', 'valueCode', r.status)
    .add('normalized-code', 'valueCode', r.normalizedCode)
    .add('message', 'valueString', r.message);
  for (const s of r.unknownSystems) out.add('x-unknown-system', 'valueCanonical', s);
  for (const s of r.causedByUnknownSystems) out.add('x-caused-by-unknown-system', 'valueCanonical', s);
  out.add('codeableConcept', 'valueCodeableConcept', r.codeableConcept);
  if (r.issues.length > 0) out.addResource('issues', { resourceType: 'OperationOutcome', issue: r.issues });
  return out.toParameters();
}

/** The value set to validate against: the instance, a `valueSet` resource, or `url` (+ `valueSetVersion`). */
function targetValueSet(req: OperationRequest, options: ValueSetValidationOptions): ValueSet {
  if (req.instance?.resourceType === 'ValueSet') return req.instance;
  const given = req.params.resource('valueSet');
  if (given?.resourceType === 'ValueSet') return given;
  const url = stringParam(req.params, 'url') ?? stringParam(req.params, 'context');
  if (!url) throw new OperationOutcomeError(400, [makeIssue({ code: 'invalid', text: VMSG.noValueSet() })]);
  return resolveValueSet(req.ctx, url, stringParam(req.params, 'valueSetVersion'), options.valueSetVersionRules);
}

/** The values of `valueSetMode` (also read as `mode`), upper case; CHECK_MEMERSHIP_ONLY is the FHIR validator's spelling. */
const VALUE_SET_MODES = new Map<string, 'all' | 'membership-only' | 'no-membership'>([
  ['ALL_CHECKS', 'all'],
  ['CHECK_MEMBERSHIP_ONLY', 'membership-only'],
  ['CHECK_MEMERSHIP_ONLY', 'membership-only'],
  ['NO_MEMBERSHIP_CHECK', 'no-membership'],
]);

/**
 * `valueSetMode` (tx-ecosystem IG: "SHALL support the mode/valueSetMode parameter"): ALL_CHECKS
 * (the default), CHECK_MEMBERSHIP_ONLY (membership only, as `valueset-membership-only`: no
 * display or status checks), NO_MEMBERSHIP_CHECK (each coding against its code system, membership
 * not asked). Another value is a 400 naming the parameter.
 */
function valueSetMode(params: InputParams): 'all' | 'membership-only' | 'no-membership' {
  const name = params.has('valueSetMode') ? 'valueSetMode' : 'mode';
  const given = stringParam(params, name);
  if (given === undefined) return 'all';
  const mode = VALUE_SET_MODES.get(given.toUpperCase());
  if (mode) return mode;
  throw new OperationOutcomeError(400, [
    makeIssue({
      code: 'invalid',
      text: `Parameter '${name}': '${given}' is not a value set mode (ALL_CHECKS, CHECK_MEMBERSHIP_ONLY or NO_MEMBERSHIP_CHECK)`,
      expression: [name],
    }),
  ]);
}

/** `date`: valid on that day (the value set and code system versions in effect, the concept's validity). */
export function valuesetValidateCodeHandler(request: OperationRequest): OperationResult {
  const req = atRequestDate(request);
  const options = readValidationOptions(req.params, req.acceptLanguage, 'ValueSet');
  const mode = valueSetMode(req.params);
  if (mode === 'membership-only') options.membershipOnly = true;
  const valueSet = targetValueSet(req, options);
  const input = readCodedInput(req.params, 'ValueSet');
  if (!input) throw noCodeToValidate();
  const result =
    mode === 'no-membership'
      ? validateCodeInItsCodeSystem(req.ctx, input, options)
      : validateCodeInValueSet(req.ctx, valueSet, input, options);
  return { resource: validationResultToParameters(result) };
}

/** Input parameters shared by the $validate-code operations (cardinality as the OperationDefinitions state). */
export const VALIDATE_COMMON_PARAMETERS: ParamDef[] = [
  { name: 'code', type: 'code', max: 1 },
  { name: 'display', type: 'string', max: 1 },
  { name: 'coding', type: 'Coding', max: 1 },
  { name: 'codeableConcept', type: 'CodeableConcept', max: 1 },
  { name: 'date', type: 'dateTime', max: 1 },
  { name: 'abstract', type: 'boolean', max: 1 },
  { name: 'displayLanguage', type: 'code', max: 1 },
  { name: 'useSupplement', type: 'canonical', max: '*' },
  { name: 'activeOnly', type: 'boolean', max: 1 },
  { name: 'lenient-display-validation', type: 'boolean', max: 1 },
  { name: 'valueset-membership-only', type: 'boolean', max: 1 },
  { name: 'system-version', type: 'canonical', max: '*' },
  { name: 'check-system-version', type: 'canonical', max: '*' },
  { name: 'force-system-version', type: 'canonical', max: '*' },
  { name: 'tx-resource', type: 'Resource', max: '*' },
];

export const VALUESET_VALIDATE_PARAMETERS: ParamDef[] = [
  { name: 'url', type: 'uri', max: 1 },
  { name: 'context', type: 'uri', max: 1 },
  { name: 'valueSet', type: 'Resource', resourceTypes: ['ValueSet'], max: 1 },
  { name: 'valueSetVersion', type: 'string', max: 1 },
  { name: 'system', type: 'uri', max: 1 },
  { name: 'systemVersion', type: 'string', max: 1 },
  { name: 'inferSystem', type: 'boolean', max: 1 },
  { name: 'default-valueset-version', type: 'canonical', max: '*' },
  { name: 'valueset-version', type: 'canonical', max: '*' },
  { name: 'check-valueset-version', type: 'canonical', max: '*' },
  { name: 'force-valueset-version', type: 'canonical', max: '*' },
  { name: 'valueSetMode', type: 'code', max: 1 },
  { name: 'mode', type: 'code', max: 1 },
  ...VALIDATE_COMMON_PARAMETERS,
];

export const valuesetValidateCodeOperation: OperationDef = {
  code: 'validate-code',
  definition: 'http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code',
  resourceTypes: ['ValueSet'],
  type: true,
  instance: true,
  get: true,
  parameters: VALUESET_VALIDATE_PARAMETERS,
  handler: valuesetValidateCodeHandler,
};
