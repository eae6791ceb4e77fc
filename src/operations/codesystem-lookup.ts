import type { CodeSystem, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { badRequest, makeIssue, OperationOutcomeError } from '../http/outcome.ts';
import { OutputParams } from '../http/params.ts';
import { resolveDisplayLanguage } from '../terminology/language.ts';
import type { LookupResult } from '../terminology/lookup.ts';
import { lookupCode } from '../terminology/lookup.ts';
import { MSG } from '../terminology/operation-messages.ts';
import { atRequestDate, codingParam, displayLanguageParam, stringParam } from './coding-params.ts';
import type { OperationDef, OperationRequest, OperationResult } from './types.ts';

/**
 * CodeSystem/$lookup, type and instance level.
 * http://hl7.org/fhir/R4/codesystem-operation-lookup.html (R5 adds `useSupplement` and `abstract`).
 * `date`: the information as it was that day (the code system version in effect, the concept's
 * status); no version in effect that day is a 404 naming the periods there are.
 */
export function codesystemLookupHandler(request: OperationRequest): OperationResult {
  const req = atRequestDate(request);
  const { params } = req;
  const instance = req.instance?.resourceType === 'CodeSystem' ? (req.instance as CodeSystem) : undefined;
  const coding = codingParam(params, 'coding');
  const system = stringParam(params, 'system');
  const version = stringParam(params, 'version');
  // what tx.fhir.org answers a request it cannot perform: a coding needs its system (at type
  // level) and its code; otherwise code and system (the instance stands for the system)
  if (coding && !coding.system && !instance && !system) throw invalid(MSG.lookupCodingWithoutSystem(), 'coding');
  if (coding && !coding.code) throw invalid(MSG.lookupCodingWithoutCode(), 'coding');
  const code = coding?.code ?? stringParam(params, 'code');
  if (code === undefined || (!instance && !coding?.system && !system)) {
    throw invalid(instance ? MSG.lookupNoInstanceCode() : MSG.lookupNoInput(), instance ? 'code' : undefined);
  }
  // a `system` beside a `coding` is tolerated (the HL7 validator sends both); they must agree
  if (coding?.system && system && coding.system !== system) {
    throw badRequest(MSG.systemMismatch('coding', coding.system, system), 'coding.system', 'invalid-data');
  }
  const wantedSystem = coding?.system ?? system;
  if (instance && wantedSystem && instance.url && wantedSystem !== instance.url) {
    throw badRequest(
      MSG.systemMismatch(coding?.system ? 'coding' : 'system', wantedSystem, instance.url),
      'system',
      'invalid-data',
    );
  }
  const displayLanguage = displayLanguageParam(params);
  const result = lookupCode(req.ctx, {
    code,
    system: wantedSystem,
    version: coding?.version ?? version,
    codeSystem: instance,
    displayLanguage: resolveDisplayLanguage(displayLanguage, undefined, req.acceptLanguage),
    properties: params.strings('property').flatMap((p) => p.split(',').map((s) => s.trim())),
    useSupplement: params.strings('useSupplement'),
  });
  return { resource: lookupResultToParameters(result) };
}

function invalid(text: string, expression?: string): OperationOutcomeError {
  return new OperationOutcomeError(400, [
    makeIssue({ code: 'invalid', text, txIssueType: 'invalid-data', expression }),
  ]);
}

/** The $lookup output Parameters. */
export function lookupResultToParameters(result: LookupResult): Parameters {
  const out = new OutputParams()
    .add('name', 'valueString', result.name)
    .add('code', 'valueCode', result.code)
    .add('system', 'valueUri', result.system)
    .add('version', 'valueString', result.version)
    .add('display', 'valueString', result.display)
    .add('definition', 'valueString', result.definition)
    .add('abstract', 'valueBoolean', result.abstract);
  // parts in name order, as the reference servers write them (the tx-ecosystem comparison is ordered)
  for (const d of result.designations) {
    const part: ParametersParameter[] = [];
    if (d.language) part.push({ name: 'language', valueCode: d.language });
    if (d.source) part.push({ name: 'source', valueCanonical: d.source });
    if (d.use) part.push({ name: 'use', valueCoding: d.use });
    part.push({ name: 'value', valueString: d.value });
    out.addPart('designation', part);
  }
  for (const p of result.properties) {
    const part: ParametersParameter[] = [{ name: 'code', valueCode: p.code }];
    if (p.description !== undefined) part.push({ name: 'description', valueString: p.description });
    if (p.source) part.push({ name: 'source', valueCanonical: p.source });
    // the value's key assigned, not computed in the literal: V8 keeps such objects fast
    const value: Record<string, unknown> = { name: 'value' };
    value[p.valueKey] = p.value;
    part.push(value as unknown as ParametersParameter);
    out.addPart('property', part);
  }
  for (const s of result.usedSupplements) out.add('used-supplement', 'valueCanonical', s);
  // as $validate-code does (the tx-ecosystem IG's `issues`): R4 $lookup has no output for warnings
  if (result.warnings.length > 0) {
    out.addResource('issues', {
      resourceType: 'OperationOutcome',
      issue: result.warnings.map((text) =>
        makeIssue({ severity: 'warning', code: 'business-rule', text, txIssueType: 'status-check' }),
      ),
    });
  }
  return out.toParameters();
}

const LOOKUP_PARAMETERS = [
  { name: 'code', type: 'code', max: 1 },
  { name: 'system', type: 'uri', max: 1 },
  { name: 'version', type: 'string', max: 1 },
  { name: 'coding', type: 'Coding', max: 1 },
  { name: 'date', type: 'dateTime', max: 1 },
  { name: 'displayLanguage', type: 'code', max: 1 },
  { name: 'property', type: 'code', max: '*' },
  { name: 'useSupplement', type: 'canonical', max: '*' },
] as const;

export const codesystemLookupOperation: OperationDef = {
  code: 'lookup',
  definition: 'http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup',
  resourceTypes: ['CodeSystem'],
  type: true,
  instance: true,
  get: true,
  parameters: LOOKUP_PARAMETERS.map((p) => ({ ...p })),
  handler: codesystemLookupHandler,
};
