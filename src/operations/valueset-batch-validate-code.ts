import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { badRequest, makeIssue, OperationOutcomeError, outcome } from '../http/outcome.ts';
import { InputParams, type ParamDef } from '../http/params.ts';
import type { OperationDef, OperationRequest, OperationResult } from './types.ts';
import { VALUESET_VALIDATE_PARAMETERS, valuesetValidateCodeHandler } from './valueset-validate-code.ts';

/**
 * ValueSet/$batch-validate-code (HL7 terminology ecosystem IG; the FHIR validator uses it to check
 * many codes in one round trip). Each `validation` parameter holds the Parameters of one
 * ValueSet $validate-code; the other top-level parameters (`url`, `valueSet`, `tx-resource`,
 * `lenient-display-validation`, version rules...) apply to every validation unless it gives its
 * own. The answer has one `validation` per input, in order: the $validate-code Parameters, or an
 * OperationOutcome when that validation could not be performed. The batch never fails as a whole
 * because one item does.
 */
export function valuesetBatchValidateCodeHandler(req: OperationRequest): OperationResult {
  const shared = req.params.values.filter((v) => v.name !== 'validation');
  const out: ParametersParameter[] = [];
  for (const item of req.params.all('validation')) {
    const inner = item.resource;
    let resource: Resource;
    if (inner?.resourceType !== 'Parameters') {
      resource = outcome([
        makeIssue({ code: 'invalid', text: "Each 'validation' parameter must hold a Parameters resource" }),
      ]);
    } else {
      resource = validateOne(req, inner, shared);
    }
    out.push({ name: 'validation', resource });
  }
  if (out.length === 0) throw badRequest("No 'validation' parameters to validate", 'validation');
  return { resource: { resourceType: 'Parameters', parameter: out } };
}

function validateOne(req: OperationRequest, inner: Parameters, shared: InputParams['values']): Resource {
  try {
    // the item's own parameters first: InputParams.first() then prefers them to the batch's
    const own = InputParams.fromParameters(inner, VALUESET_VALIDATE_PARAMETERS).values;
    const ownNames = new Set(own.map((v) => v.name));
    const params = new InputParams([
      ...own,
      ...shared.filter((v) => !ownNames.has(v.name) || v.name === 'tx-resource'),
    ]);
    return valuesetValidateCodeHandler({ ...req, params }).resource;
  } catch (e) {
    if (e instanceof OperationOutcomeError) return e.outcome;
    throw e;
  }
}

const BATCH_PARAMETERS: ParamDef[] = [
  { name: 'validation', type: 'Resource', max: '*' },
  ...VALUESET_VALIDATE_PARAMETERS.filter((p) => p.name !== 'validation'),
];

export const valuesetBatchValidateCodeOperation: OperationDef = {
  code: 'batch-validate-code',
  definition: 'http://hl7.org/fhir/uv/tx-ecosystem/OperationDefinition/batch-validate-code',
  resourceTypes: ['ValueSet'],
  type: true,
  instance: true,
  get: false,
  parameters: BATCH_PARAMETERS,
  handler: valuesetBatchValidateCodeHandler,
};
