import type { Resource } from '@medplum/fhirtypes';
import type { InputParams, ParamDef } from '../http/params.ts';
import type { TxContext } from '../terminology/context.ts';
import type { TxResource, TxResourceType } from '../terminology/store.ts';

/** What a handler receives: parsed inputs and the request's terminology view. */
export interface OperationRequest {
  params: InputParams;
  /** store + this request's tx-resource overlay */
  ctx: TxContext;
  /** the resource addressed by an instance-level call (`/CodeSystem/{id}/$lookup`) */
  instance?: TxResource;
  /** raw HTTP Accept-Language header, if any */
  acceptLanguage?: string;
}

/** What a handler returns: a resource for the body (Parameters, ValueSet, OperationOutcome ...) and a status. */
export interface OperationResult {
  resource: Resource;
  status?: number;
}

/**
 * One FHIR operation. The registry of these feeds both the Express routes and the
 * CapabilityStatement, so the two cannot drift (STYLE.md example 4).
 */
export interface OperationDef {
  /** operation code without `$`, e.g. `lookup` */
  code: string;
  /** canonical URL of the OperationDefinition, e.g. http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup */
  definition: string;
  /** resource types it applies to; empty for a system-level operation */
  resourceTypes: TxResourceType[];
  /** invocable at type level (`/CodeSystem/$lookup`) */
  type: boolean;
  /** invocable at instance level (`/CodeSystem/{id}/$lookup`) */
  instance: boolean;
  /** invocable at system level (`/$versions`) */
  system?: boolean;
  /** whether GET is allowed (operations that change nothing) */
  get: boolean;
  parameters: ParamDef[];
  handler: (req: OperationRequest) => Promise<OperationResult> | OperationResult;
}
