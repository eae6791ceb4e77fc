import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';

/** Request builders shared by input-shape.test.ts and input-shape-malformed.test.ts. */

export const params = (...parameter: unknown[]) => ({ resourceType: 'Parameters', parameter }) as Parameters;
export const vs = (compose: unknown, more: Record<string, unknown> = {}) => ({
  resourceType: 'ValueSet',
  url: 'http://example.org/vs',
  status: 'active',
  compose,
  ...more,
});
export const cs = (concept: unknown, more: Record<string, unknown> = {}) => ({
  resourceType: 'CodeSystem',
  url: 'http://example.org/cs',
  status: 'active',
  content: 'complete',
  concept,
  ...more,
});
export const cm = (group: unknown) => ({
  resourceType: 'ConceptMap',
  url: 'http://example.org/cm',
  status: 'active',
  group,
});
export const expandWith = (valueSet: unknown) => params({ name: 'valueSet', resource: valueSet });
export const withTx = (resource: unknown) =>
  params({ name: 'tx-resource', resource }, { name: 'url', valueUri: 'http://example.org/vs' });

/** A chain of value sets, each importing the next. */
export function importChain(n: number): ParametersParameter[] {
  return Array.from({ length: n }, (_, i) => ({
    name: 'tx-resource',
    resource: vs({ include: [{ valueSet: [`http://example.org/vs${i + 1}`] }] }, { url: `http://example.org/vs${i}` }),
  })) as ParametersParameter[];
}

export function nestedConcepts(levels: number): unknown {
  let c: Record<string, unknown> = { code: 'leaf' };
  for (let i = 1; i < levels; i++) c = { code: `c${i}`, concept: [c] };
  return [c];
}

export function nestedExtensions(levels: number): unknown {
  let e: Record<string, unknown> = { url: 'x', valueString: 'y' };
  for (let i = 1; i < levels; i++) e = { url: 'x', extension: [e] };
  return [e];
}
