import { OutputParams } from '../http/params.ts';
import type { OperationDef } from './types.ts';

/** The FHIR versions this server speaks, as major.minor (FHIR R5 capabilitystatement-operation-versions). */
export const SUPPORTED_FHIR_VERSIONS = ['4.0'] as const;
export const DEFAULT_FHIR_VERSION = '4.0';

/**
 * `[base]/$versions`: the FHIR versions the server supports and its default, as `version` (1..*)
 * and `default` (1..1) codes in major.minor form.
 * https://hl7.org/fhir/R5/capabilitystatement-operation-versions.html
 */
export const versionsOperation: OperationDef = {
  code: 'versions',
  definition: 'http://hl7.org/fhir/OperationDefinition/CapabilityStatement-versions',
  resourceTypes: [],
  type: false,
  instance: false,
  system: true,
  get: true,
  parameters: [],
  handler: () => {
    const out = new OutputParams();
    for (const v of SUPPORTED_FHIR_VERSIONS) out.add('version', 'valueCode', v);
    out.add('default', 'valueCode', DEFAULT_FHIR_VERSION);
    return { resource: out.toParameters() };
  },
};
