import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { badRequest, makeIssue, OperationOutcomeError, outcome } from '../http/outcome.ts';
import { InputParams, type ParamDef, type ParamValue } from '../http/params.ts';
import { isTxResource } from '../terminology/store.ts';
import { codesystemValidateCodeHandler, codesystemValidateCodeOperation } from './codesystem-validate-code.ts';
import type { OperationDef, OperationRequest, OperationResult } from './types.ts';
import { VALUESET_VALIDATE_PARAMETERS, valuesetValidateCodeHandler } from './valueset-validate-code.ts';

/**
 * $batch-validate-code (HL7 terminology ecosystem; the FHIR validator uses it to check many codes
 * in one round trip), on ValueSet and on CodeSystem. Each `validation` parameter holds the
 * Parameters of one $validate-code. A few top-level parameters apply to every validation that
 * does not give its own, as tx.fhir.org applies them: `tx-resource` (always added to the
 * validation's own), `lenient-display-validation`, and the target: `url` and `valueSet` (ValueSet),
 * `system` and `codeSystem` (CodeSystem). Other top-level parameters are not shared.
 *
 * On ValueSet, a validation with a value set (its own, the shared one, or the instance) is a
 * ValueSet $validate-code and one without is a CodeSystem $validate-code, as on tx.fhir.org.
 * The answer has one `validation` per input, in order: the $validate-code Parameters, or an
 * OperationOutcome when that validation could not be performed. The batch never fails as a whole
 * because one item does.
 */

type BatchTarget = 'ValueSet' | 'CodeSystem';

/** The top-level parameters every validation shares (besides `tx-resource`). */
const SHARED: Record<BatchTarget, ReadonlySet<string>> = {
  ValueSet: new Set(['url', 'valueSet', 'lenient-display-validation']),
  CodeSystem: new Set(['system', 'codeSystem', 'lenient-display-validation']),
};

const CODESYSTEM_VALIDATE_PARAMETERS: ParamDef[] = codesystemValidateCodeOperation.parameters;

/**
 * What one validation may hold: on ValueSet, the parameters of either $validate-code (an item
 * without a value set is a CodeSystem one, which reads `codeSystem` and `version`).
 */
const ITEM_PARAMETERS: Record<BatchTarget, ParamDef[]> = {
  ValueSet: [
    ...VALUESET_VALIDATE_PARAMETERS,
    ...CODESYSTEM_VALIDATE_PARAMETERS.filter((p) => !VALUESET_VALIDATE_PARAMETERS.some((v) => v.name === p.name)),
  ],
  CodeSystem: CODESYSTEM_VALIDATE_PARAMETERS,
};

function batchHandler(target: BatchTarget): (req: OperationRequest) => OperationResult {
  return (req) => {
    const shared = req.params.values.filter((v) => v.name === 'tx-resource' || SHARED[target].has(v.name));
    const out: ParametersParameter[] = [];
    for (const item of req.params.all('validation')) {
      const inner = item.resource;
      const resource =
        inner?.resourceType === 'Parameters'
          ? validateOne(req, target, inner, shared)
          : outcome([
              makeIssue({
                code: 'invalid',
                text: "Each 'validation' parameter must hold a Parameters resource",
                txIssueType: 'invalid-data',
                expression: 'validation',
              }),
            ]);
      out.push({ name: 'validation', resource });
    }
    if (out.length === 0) throw badRequest("No 'validation' parameters to validate", 'validation', 'invalid-data');
    return { resource: { resourceType: 'Parameters', parameter: out } };
  };
}

function validateOne(req: OperationRequest, target: BatchTarget, inner: Parameters, shared: ParamValue[]): Resource {
  try {
    const ofValueSet = target === 'ValueSet' && req.instance?.resourceType === 'ValueSet';
    const defs = ITEM_PARAMETERS[target];
    // the item's own parameters first: InputParams.first() then prefers them to the batch's
    const own = InputParams.fromParameters(inner, defs).values;
    const ownNames = new Set(own.map((v) => v.name));
    const params = new InputParams(
      [...own, ...shared.filter((v) => !ownNames.has(v.name) || v.name === 'tx-resource')],
      defs,
    );
    // the validation's own tx-resources hold for it alone
    const extra = own.filter((v) => v.name === 'tx-resource').map((v) => v.resource);
    const ctx = extra.length > 0 ? req.ctx.withResources(extra.filter(isTxResource)) : req.ctx;
    const one: OperationRequest = { ...req, params, ctx };
    const againstValueSet = ofValueSet || (target === 'ValueSet' && (params.has('url') || params.has('valueSet')));
    return againstValueSet
      ? valuesetValidateCodeHandler(one).resource
      : codesystemValidateCodeHandler({ ...one, instance: target === 'CodeSystem' ? req.instance : undefined })
          .resource;
  } catch (e) {
    if (e instanceof OperationOutcomeError) return e.outcome;
    throw e;
  }
}

export const valuesetBatchValidateCodeHandler = batchHandler('ValueSet');
export const codesystemBatchValidateCodeHandler = batchHandler('CodeSystem');

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

/** CodeSystem/$batch-validate-code: the same, each validation a CodeSystem $validate-code. */
export const codesystemBatchValidateCodeOperation: OperationDef = {
  code: 'batch-validate-code',
  definition: 'http://hl7.org/fhir/uv/tx-ecosystem/OperationDefinition/batch-validate-code',
  resourceTypes: ['CodeSystem'],
  type: true,
  instance: false,
  get: false,
  parameters: [
    { name: 'validation', type: 'Resource', max: '*' },
    ...CODESYSTEM_VALIDATE_PARAMETERS.filter((p) => p.name !== 'validation'),
  ],
  handler: codesystemBatchValidateCodeHandler,
};
