import { describe, expect, test } from 'vitest';
import { expectValidFhir } from '../support/fhir.ts';

// The check every response of the tests goes through must itself be able to fail.
describe('expectValidFhir', () => {
  test.each([
    ['an unknown element', { resourceType: 'Parameters', parameter: [{ name: 'x', valueBogus: 1 }] }],
    ['a wrong primitive type', { resourceType: 'Parameters', parameter: [{ name: 'x', valueBoolean: 'yes' }] }],
    ['a missing required element', { resourceType: 'CodeSystem', content: 'complete' }],
    ['no resourceType', { parameter: [] }],
  ])('rejects %s', (_name, resource) => {
    expect(() => expectValidFhir(resource)).toThrow();
  });

  test('accepts a valid Parameters', () => {
    const p = { resourceType: 'Parameters', parameter: [{ name: 'result', valueBoolean: true }] };
    expect(expectValidFhir(p)).toBe(p);
  });
});
