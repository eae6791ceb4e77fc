import type { CodeSystem } from '@medplum/fhirtypes';
import type { ParamDef } from '../http/params.ts';
import { validateCodeInCodeSystem } from '../terminology/validate.ts';
import { atRequestDate, stringParam } from './coding-params.ts';
import type { OperationDef, OperationRequest, OperationResult } from './types.ts';
import {
  noCodeToValidate,
  readCodedInput,
  readValidationOptions,
  VALIDATE_COMMON_PARAMETERS,
  validationResultToParameters,
} from './valueset-validate-code.ts';

/**
 * CodeSystem/$validate-code, type and instance level, GET and POST.
 * http://hl7.org/fhir/R4/codesystem-operation-validate-code.html: the code system is the
 * instance, a `codeSystem` resource, or `url` (else the coding's system), at `version` (else the
 * coding's version). An unknown code system is a `result = false` outcome, not an HTTP error.
 * `date`: valid on that day (the code system version in effect, the concept's validity).
 */
export function codesystemValidateCodeHandler(request: OperationRequest): OperationResult {
  const req = atRequestDate(request);
  const { params } = req;
  const input = readCodedInput(params, 'CodeSystem');
  if (!input) throw noCodeToValidate();
  const instance = req.instance?.resourceType === 'CodeSystem' ? (req.instance as CodeSystem) : undefined;
  const given = params.resource('codeSystem');
  const codeSystem = instance ?? (given?.resourceType === 'CodeSystem' ? given : undefined);
  const first = input.codings[0];
  const url = stringParam(params, 'url');
  const result = validateCodeInCodeSystem(
    req.ctx,
    {
      codeSystem,
      url: url ?? first?.system,
      version: stringParam(params, 'version') ?? (url && url !== first?.system ? undefined : first?.version),
    },
    input,
    readValidationOptions(params, req.acceptLanguage, 'CodeSystem'),
  );
  return { resource: validationResultToParameters(result) };
}

const CODESYSTEM_VALIDATE_PARAMETERS: ParamDef[] = [
  { name: 'url', type: 'uri', max: 1 },
  // not in the R4 definition: the code's system, read when `url` is absent (as `system` names it
  // for ValueSet/$validate-code); checked as a uri like `url`
  { name: 'system', type: 'uri', max: 1 },
  { name: 'codeSystem', type: 'Resource', resourceTypes: ['CodeSystem'], max: 1 },
  { name: 'version', type: 'string', max: 1 },
  ...VALIDATE_COMMON_PARAMETERS,
];

export const codesystemValidateCodeOperation: OperationDef = {
  code: 'validate-code',
  definition: 'http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code',
  resourceTypes: ['CodeSystem'],
  type: true,
  instance: true,
  get: true,
  parameters: CODESYSTEM_VALIDATE_PARAMETERS,
  handler: codesystemValidateCodeHandler,
};
