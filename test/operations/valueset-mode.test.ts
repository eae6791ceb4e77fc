import type { CodeSystem, OperationOutcome, Parameters, ValueSet } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';

/**
 * ValueSet $validate-code `valueSetMode` (tx-ecosystem IG requirements: "SHALL support the
 * mode/valueSetMode parameter"): ALL_CHECKS, CHECK_MEMBERSHIP_ONLY, NO_MEMBERSHIP_CHECK.
 */

const CS = 'http://example.org/fhir/CodeSystem/mode-test';
const OTHER = 'http://example.org/fhir/CodeSystem/mode-other';
const VSURL = 'http://example.org/fhir/ValueSet/mode-test';

const codeSystem = (url: string): CodeSystem => ({
  resourceType: 'CodeSystem',
  url,
  version: '1',
  status: 'active',
  content: 'complete',
  concept: [
    { code: 'a', display: 'A' },
    { code: 'b', display: 'B' },
  ],
});
// only `a` is in the value set
const valueSet: ValueSet = {
  resourceType: 'ValueSet',
  url: VSURL,
  status: 'active',
  compose: { include: [{ system: CS, concept: [{ code: 'a' }] }] },
};

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server.close());

async function validate(mode: string | undefined, value: Record<string, unknown>, name = 'valueSetMode') {
  const body: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'valueSet', resource: valueSet },
      { name: 'tx-resource', resource: codeSystem(CS) },
      { name: 'tx-resource', resource: codeSystem(OTHER) },
      ...(mode ? [{ name, valueCode: mode }] : []),
      { name: Object.keys(value)[0] === 'valueCoding' ? 'coding' : 'codeableConcept', ...value },
    ],
  };
  return fetchFhir<Parameters>(`${server.baseUrl}/ValueSet/$validate-code`, postJson(body));
}

const param = (p: Parameters, name: string) => p.parameter?.find((x) => x.name === name);
const issueTypes = (p: Parameters) =>
  ((param(p, 'issues')?.resource as OperationOutcome | undefined)?.issue ?? []).map(
    (i) => `${i.severity}|${i.details?.coding?.[0]?.code}|${i.expression?.join()}`,
  );

describe('ValueSet $validate-code valueSetMode', () => {
  const outside = { valueCoding: { system: CS, code: 'b', display: 'Wrong' } };

  test('ALL_CHECKS (and no mode): membership and display are both checked', async () => {
    for (const mode of [undefined, 'ALL_CHECKS']) {
      const r = await validate(mode, outside);
      expect(r.status).toBe(200);
      expect(param(r.body, 'result')?.valueBoolean).toBe(false);
      expect(issueTypes(r.body)).toEqual(['error|invalid-display|Coding.display', 'error|not-in-vs|Coding.code']);
    }
  });

  test('CHECK_MEMBERSHIP_ONLY: only membership (the display is not checked)', async () => {
    const r = await validate('CHECK_MEMBERSHIP_ONLY', outside);
    expect(param(r.body, 'result')?.valueBoolean).toBe(false);
    expect(issueTypes(r.body)).toEqual(['error|not-in-vs|Coding.code']);
    const member = await validate('CHECK_MEMBERSHIP_ONLY', {
      valueCoding: { system: CS, code: 'a', display: 'Wrong' },
    });
    expect(param(member.body, 'result')?.valueBoolean).toBe(true);
  });

  test('NO_MEMBERSHIP_CHECK: the code system checks only, whatever the value set holds', async () => {
    const wrongDisplay = await validate('NO_MEMBERSHIP_CHECK', outside);
    expect(param(wrongDisplay.body, 'result')?.valueBoolean).toBe(false);
    expect(issueTypes(wrongDisplay.body)).toEqual(['error|invalid-display|Coding.display']);
    const valid = await validate('NO_MEMBERSHIP_CHECK', { valueCoding: { system: CS, code: 'b' } });
    expect(param(valid.body, 'result')?.valueBoolean).toBe(true);
    expect(param(valid.body, 'display')?.valueString).toBe('B');
    const unknown = await validate('NO_MEMBERSHIP_CHECK', { valueCoding: { system: CS, code: 'zz' } });
    expect(param(unknown.body, 'result')?.valueBoolean).toBe(false);
    expect(issueTypes(unknown.body)).toEqual(['error|invalid-code|Coding.code']);
  });

  test('NO_MEMBERSHIP_CHECK with a CodeableConcept: each coding in its own code system, issues in place', async () => {
    const cc = {
      valueCodeableConcept: {
        coding: [
          { system: OTHER, code: 'a' },
          { system: CS, code: 'zz' },
        ],
      },
    };
    const r = await validate('NO_MEMBERSHIP_CHECK', cc);
    expect(param(r.body, 'result')?.valueBoolean).toBe(false);
    expect(issueTypes(r.body)).toEqual(['error|invalid-code|CodeableConcept.coding[1].code']);
    expect(param(r.body, 'system')?.valueUri).toBe(OTHER);
    expect(param(r.body, 'codeableConcept')?.valueCodeableConcept).toEqual(cc.valueCodeableConcept);
    const good = await validate('NO_MEMBERSHIP_CHECK', {
      valueCodeableConcept: { coding: [{ system: OTHER, code: 'b' }] },
    });
    expect(param(good.body, 'result')?.valueBoolean).toBe(true);
  });

  test('the mode may be named `mode`, in any case; CHECK_MEMERSHIP_ONLY (the FHIR validator spelling) is accepted', async () => {
    const lower = await validate('check_membership_only', outside, 'mode');
    expect(issueTypes(lower.body)).toEqual(['error|not-in-vs|Coding.code']);
    const validatorSpelling = await validate('CHECK_MEMERSHIP_ONLY', outside);
    expect(issueTypes(validatorSpelling.body)).toEqual(['error|not-in-vs|Coding.code']);
  });

  test('an unknown mode is a 400 that names the parameter', async () => {
    const r = await fetchFhir<OperationOutcome>(
      `${server.baseUrl}/ValueSet/$validate-code?url=${encodeURIComponent('http://hl7.org/fhir/ValueSet/administrative-gender')}&system=http://hl7.org/fhir/administrative-gender&code=male&valueSetMode=SOMETIMES`,
    );
    expect(r.status).toBe(400);
    expect(r.body.issue?.[0]?.details?.text).toContain("Parameter 'valueSetMode': 'SOMETIMES'");
    expect(r.body.issue?.[0]?.expression).toEqual(['valueSetMode']);
  });
});
