import type { CapabilityStatementRestResource } from '@medplum/fhirtypes';
import type { Router } from 'express';

/**
 * A directory resource type the app serves (Practitioner, Organization, ...): its router, mounted
 * at `/fhir/<type>`, and its CapabilityStatement entry, so routes and capabilities come from one
 * place (STYLE.md example 4).
 */
export interface DirectoryEndpoint {
  type: string;
  router: Router;
  capability: () => CapabilityStatementRestResource;
}
