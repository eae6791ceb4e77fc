import type { ValueSet } from '@medplum/fhirtypes';
import { makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { OutputParams, type ParamDef } from '../http/params.ts';
import { resolveValueSetReference } from '../terminology/compose.ts';
import type { TxContext } from '../terminology/context.ts';
import { type CompareResult, compareValueSets, VERSION_POLICIES, type VersionPolicy } from '../terminology/related.ts';
import { parseVersionRules } from '../terminology/version-rules.ts';
import { stringParam } from './coding-params.ts';
import type { OperationDef, OperationRequest, OperationResult } from './types.ts';

/**
 * ValueSet/$compare, and its former name ValueSet/$related, type and instance level, GET and POST
 * (http://hl7.org/fhir/tools/OperationDefinition/ValueSet-compare): how the codes of two value
 * sets relate. `this` is the instance, else `thisValueSet`, else `thisUrl`; `other` is
 * `otherValueSet`, else `otherUrl`; `valueSetVersion` is the version of a value set named by url.
 * Out: `result` and `message`; with `diagnostics` = true also `performed-expansion` and the code
 * lists (`missing-codes`, `extra-codes`, `common-codes`) where they are known.
 */

export const RELATED_INPUT_MSG = {
  missing: (side: 'this' | 'other'): string =>
    `Must provide either a ${side}ValueSet resource or a ${side}Url parameter`,
  notFound: (url: string, version: string | undefined): string =>
    version === undefined ? `ValueSet not found: ${url}` : `ValueSet not found: ${url} version ${version}`,
  badPolicy: (value: string): string =>
    `The parameter 'version-policy' must be one of ${VERSION_POLICIES.join(', ')}, not '${value.slice(0, 64)}'`,
} as const;

function readValueSet(ctx: TxContext, req: OperationRequest, side: 'this' | 'other'): ValueSet {
  const given = req.params.resource(`${side}ValueSet`);
  if (given) {
    if (given.resourceType !== 'ValueSet') {
      throw new OperationOutcomeError(400, [
        makeIssue({
          code: 'invalid',
          text: `The parameter '${side}ValueSet' must hold a ValueSet, found a ${given.resourceType}`,
          txIssueType: 'invalid-data',
          expression: `${side}ValueSet`,
        }),
      ]);
    }
    return given;
  }
  const url = stringParam(req.params, `${side}Url`);
  if (url === undefined) {
    throw new OperationOutcomeError(400, [
      makeIssue({ code: 'invalid', text: RELATED_INPUT_MSG.missing(side), txIssueType: 'invalid-data' }),
    ]);
  }
  const version = stringParam(req.params, 'valueSetVersion');
  const vs = resolveValueSetReference(ctx, version === undefined || url.includes('|') ? url : `${url}|${version}`);
  if (!vs) {
    throw new OperationOutcomeError(404, [
      makeIssue({
        code: 'not-found',
        text: RELATED_INPUT_MSG.notFound(url, version),
        txIssueType: 'not-found',
        expression: `${side}Url`,
      }),
    ]);
  }
  return vs;
}

function versionPolicy(req: OperationRequest): VersionPolicy | undefined {
  const value = stringParam(req.params, 'version-policy');
  if (value === undefined) return undefined;
  if (!(VERSION_POLICIES as readonly string[]).includes(value)) {
    throw new OperationOutcomeError(400, [
      makeIssue({
        code: 'invalid',
        text: RELATED_INPUT_MSG.badPolicy(value),
        txIssueType: 'invalid-data',
        expression: 'version-policy',
      }),
    ]);
  }
  return value as VersionPolicy;
}

export function valuesetRelatedHandler(req: OperationRequest): OperationResult {
  const thisVs = req.instance?.resourceType === 'ValueSet' ? req.instance : readValueSet(req.ctx, req, 'this');
  const otherVs = readValueSet(req.ctx, req, 'other');
  const policy = versionPolicy(req);
  const result = compareValueSets(req.ctx, thisVs, otherVs, {
    ...(policy ? { versionPolicy: policy } : {}),
    rules: parseVersionRules(req.params),
  });
  return { resource: compareResultToParameters(result, req.params.boolean('diagnostics') === true) };
}

/** The output Parameters; the diagnostics only when asked for (tools IG, ValueSet Comparison: Diagnostics). */
export function compareResultToParameters(result: CompareResult, diagnostics: boolean) {
  const out = new OutputParams()
    .add('result', 'valueCode', result.result)
    .add('message', 'valueString', result.message);
  if (diagnostics) {
    out.add('performed-expansion', 'valueBoolean', result.performedExpansion);
    if (result.missingCodes.length > 0) out.add('missing-codes', 'valueString', result.missingCodes.join(','));
    if (result.extraCodes.length > 0) out.add('extra-codes', 'valueString', result.extraCodes.join(','));
    if (result.commonCodes.length > 0) out.add('common-codes', 'valueString', result.commonCodes.join(','));
  }
  return out.toParameters();
}

const RELATED_PARAMETERS: ParamDef[] = [
  { name: 'thisUrl', type: 'uri', max: 1 },
  { name: 'thisValueSet', type: 'Resource', max: 1 },
  { name: 'otherUrl', type: 'uri', max: 1 },
  { name: 'otherValueSet', type: 'Resource', max: 1 },
  { name: 'valueSetVersion', type: 'string', max: 1 },
  { name: 'version-policy', type: 'code', max: 1 },
  { name: 'diagnostics', type: 'boolean', max: 1 },
  { name: 'system-version', type: 'canonical', max: '*' },
  { name: 'check-system-version', type: 'canonical', max: '*' },
  { name: 'force-system-version', type: 'canonical', max: '*' },
];

/** ValueSet/$compare, as the FHIR tools IG defines it. */
export const valuesetCompareOperation: OperationDef = {
  code: 'compare',
  definition: 'http://hl7.org/fhir/tools/OperationDefinition/ValueSet-compare',
  resourceTypes: ['ValueSet'],
  type: true,
  instance: true,
  get: true,
  parameters: RELATED_PARAMETERS,
  handler: valuesetRelatedHandler,
};

/** The same operation under its former name, which clients (and tx.fhir.org) still use. */
export const valuesetRelatedOperation: OperationDef = { ...valuesetCompareOperation, code: 'related' };
