import type { CodeSystem, Coding } from '@medplum/fhirtypes';
import { badRequest } from '../http/outcome.ts';
import { OutputParams } from '../http/params.ts';
import { MSG } from '../terminology/operation-messages.ts';
import { subsumes } from '../terminology/subsumes.ts';
import { codingParam, stringParam } from './coding-params.ts';
import type { OperationDef, OperationRequest, OperationResult } from './types.ts';

/**
 * CodeSystem/$subsumes, type and instance level.
 * http://hl7.org/fhir/R4/codesystem-operation-subsumes.html: either codeA + codeB (with system,
 * or the instance) or codingA + codingB, which must be from the same code system.
 */
export function codesystemSubsumesHandler(req: OperationRequest): OperationResult {
  const { params } = req;
  const system = stringParam(params, 'system');
  const version = stringParam(params, 'version');
  const codingA = codingParam(params, 'codingA');
  const codingB = codingParam(params, 'codingB');
  const codeA = stringParam(params, 'codeA') ?? codingA?.code;
  const codeB = stringParam(params, 'codeB') ?? codingB?.code;
  if (codeA === undefined) throw badRequest(MSG.missingCode('$subsumes', 'codeA or codingA'), 'codeA');
  if (codeB === undefined) throw badRequest(MSG.missingCode('$subsumes', 'codeB or codingB'), 'codeB');

  const instance = req.instance?.resourceType === 'CodeSystem' ? (req.instance as CodeSystem) : undefined;
  // the system every input names must be one and the same
  let wantedSystem = instance?.url ?? system;
  let wantedVersion = instance ? undefined : version;
  const agree = (name: string, coding: Coding | undefined): void => {
    if (!coding) return;
    if (coding.system) {
      if (wantedSystem && coding.system !== wantedSystem) {
        throw badRequest(MSG.systemMismatch(name, coding.system, wantedSystem), `${name}.system`);
      }
      wantedSystem = coding.system;
    }
    if (coding.version && !instance) {
      if (wantedVersion && coding.version !== wantedVersion) {
        throw badRequest(MSG.versionMismatch(name, coding.version, wantedVersion), `${name}.version`);
      }
      wantedVersion = coding.version;
    }
  };
  agree('codingA', codingA);
  agree('codingB', codingB);
  if (instance && system && instance.url && system !== instance.url) {
    throw badRequest(MSG.systemMismatch('system', system, instance.url), 'system');
  }

  const result = subsumes(req.ctx, {
    codeA,
    codeB,
    system: wantedSystem,
    version: wantedVersion,
    codeSystem: instance,
  });
  return { resource: new OutputParams().add('outcome', 'valueCode', result.outcome).toParameters() };
}

export const codesystemSubsumesOperation: OperationDef = {
  code: 'subsumes',
  definition: 'http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes',
  resourceTypes: ['CodeSystem'],
  type: true,
  instance: true,
  get: true,
  parameters: [
    { name: 'codeA', type: 'code', max: 1 },
    { name: 'codeB', type: 'code', max: 1 },
    { name: 'system', type: 'uri', max: 1 },
    { name: 'version', type: 'string', max: 1 },
    { name: 'codingA', type: 'Coding', max: 1 },
    { name: 'codingB', type: 'Coding', max: 1 },
  ],
  handler: codesystemSubsumesHandler,
};
