import type { CodeSystem, Coding } from '@medplum/fhirtypes';
import { OutputParams } from '../http/params.ts';
import { MSG } from '../terminology/operation-messages.ts';
import { subsumes, subsumptionRequestError } from '../terminology/subsumes.ts';
import { codingParam, stringParam } from './coding-params.ts';
import type { OperationDef, OperationRequest, OperationResult } from './types.ts';

/**
 * CodeSystem/$subsumes, type and instance level.
 * http://hl7.org/fhir/R4/codesystem-operation-subsumes.html: either codeA + codeB (with system,
 * or the instance) or codingA + codingB, which must be from the same code system (and version).
 * A request that names no code system, two code systems, or leaves a code out is a 400 with the
 * SUBSUMPTION_* message ids (tx-ecosystem IG history, 1.9.5: simple-subsumes-no-system).
 */
export function codesystemSubsumesHandler(req: OperationRequest): OperationResult {
  const { params } = req;
  const instance = req.instance?.resourceType === 'CodeSystem' ? (req.instance as CodeSystem) : undefined;
  const system = stringParam(params, 'system');
  const version = stringParam(params, 'version');
  const codingA = codingParam(params, 'codingA');
  const codingB = codingParam(params, 'codingB');
  const pathA = codingA ? 'codingA' : 'codeA';
  const pathB = codingB ? 'codingB' : 'codeB';
  const codeA = stringParam(params, 'codeA') ?? codingA?.code;
  const codeB = stringParam(params, 'codeB') ?? codingB?.code;

  // each code must be there, and a Coding must say which code system it is from
  const present = (path: string, coding: Coding | undefined, code: string | undefined): void => {
    if (coding && !coding.system && !instance && !system) {
      throw subsumptionRequestError(MSG.subsumptionNoSystem(path), 'SUBSUMPTION_NO_SYSTEM', path);
    }
    if (code !== undefined) return;
    if (coding) throw subsumptionRequestError(MSG.subsumptionNoCode(path), 'SUBSUMPTION_NO_CODE', path);
    throw subsumptionRequestError(MSG.subsumptionNoCoding(path), 'SUBSUMPTION_NO_CODING', path);
  };
  present(pathA, codingA, codeA);
  present(pathB, codingB, codeB);

  // every system named must be one and the same, and so must every version
  const named: [string, string][] = [];
  if (instance?.url) named.push(['instance', instance.url]);
  if (system) named.push(['system', system]);
  if (codingA?.system) named.push(['codingA', codingA.system]);
  if (codingB?.system) named.push(['codingB', codingB.system]);
  const other = named.find(([, s]) => s !== named[0][1]);
  if (other) {
    throw subsumptionRequestError(
      MSG.subsumptionSystemMismatch(named[0][1], other[1]),
      'SUBSUMPTION_SYSTEM_MISMATCH',
      other[0] === 'instance' ? 'system' : other[0],
    );
  }
  const versions: [string, string][] = [];
  if (!instance) {
    if (version) versions.push(['version', version]);
    if (codingA?.version) versions.push(['codingA', codingA.version]);
    if (codingB?.version) versions.push(['codingB', codingB.version]);
  }
  const otherVersion = versions.find(([, v]) => v !== versions[0][1]);
  if (otherVersion) {
    throw subsumptionRequestError(
      MSG.subsumptionVersionMismatch(named[0]?.[1] ?? '', versions[0][1], otherVersion[1]),
      'SUBSUMPTION_VERSION_MISMATCH',
      otherVersion[0],
    );
  }

  const result = subsumes(req.ctx, {
    codeA: codeA as string,
    codeB: codeB as string,
    system: named[0]?.[1],
    version: versions[0]?.[1],
    codeSystem: instance,
    paths: { a: pathA, b: pathB },
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
