/**
 * Currency said aloud (terminology/currency.ts): a code system whose newest data ended before the
 * day asked still answers, and every answer says so with the end date; /readyz and the
 * TerminologyCapabilities list it. Through the real app on the embedded data (takstkoder-le's newest
 * tariff period ends 2024-06-30: out of date on any day this test runs), and on a small store whose
 * periods are set against the request's date.
 */
import type { CodeSystem, OperationOutcome, Parameters, TerminologyCapabilities, ValueSet } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TxContext } from '../../src/terminology/context.ts';
import { OUT_OF_DATE_PARAMETER, outOfDate, outOfDateCodeSystems } from '../../src/terminology/currency.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { EXT_RESOURCE_EFFECTIVE_PERIOD, today } from '../../src/terminology/validity.ts';
import { fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

const TAKST_LE = 'https://no-fhir-facade.example/fhir/CodeSystem/takstkoder-le';
const TAKST_LE_VS = 'https://no-fhir-facade.example/fhir/ValueSet/takstkoder-le';
const q = encodeURIComponent;
const WARNING = new RegExp(
  `^The newest data known for CodeSystem '${TAKST_LE}' version '2023-07-01' were in effect until 2024-06-30; ` +
    `the answer is as on that day and may not hold on ${today()}$`,
);

function param(p: Parameters, name: string) {
  return p.parameter?.find((x) => x.name === name);
}

function warnings(p: Parameters): string[] {
  const oo = param(p, 'issues')?.resource as OperationOutcome | undefined;
  return (oo?.issue ?? []).filter((i) => i.severity === 'warning').map((i) => i.details?.text ?? '');
}

describe('out-of-date data through the app (embedded takstkoder)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  test('$validate-code without a date: valid, with a warning naming the end date (in issues and message)', async () => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$validate-code?url=${q(TAKST_LE)}&code=1ad`);
    expect(res.status).toBe(200);
    expect(param(res.body, 'result')?.valueBoolean).toBe(true);
    expect(param(res.body, 'version')?.valueString).toBe('2023-07-01');
    expect(warnings(res.body)).toEqual([expect.stringMatching(WARNING)]);
    expect(param(res.body, 'message')?.valueString).toMatch(WARNING);
  });

  test('ValueSet $validate-code says it too', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/ValueSet/$validate-code?url=${q(TAKST_LE_VS)}&system=${q(TAKST_LE)}&code=1ad`,
    );
    expect(param(res.body, 'result')?.valueBoolean).toBe(true);
    expect(warnings(res.body)).toEqual([expect.stringMatching(WARNING)]);
  });

  test('$lookup without a date: the concept, and an issues OperationOutcome with the warning', async () => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$lookup?system=${q(TAKST_LE)}&code=1ad`);
    expect(res.status).toBe(200);
    expect(param(res.body, 'version')?.valueString).toBe('2023-07-01');
    expect(warnings(res.body)).toEqual([expect.stringMatching(WARNING)]);
  });

  test('$expand: a warning-out-of-date expansion parameter', async () => {
    const res = await fetchFhir<ValueSet>(`${server.baseUrl}/ValueSet/$expand?url=${q(TAKST_LE_VS)}&count=3`);
    expect(res.status).toBe(200);
    const p = res.body.expansion?.parameter?.filter((x) => x.name === OUT_OF_DATE_PARAMETER);
    expect(p?.map((x) => x.valueString)).toEqual([expect.stringMatching(WARNING)]);
  });

  test('a date inside the newest period: no warning; a date after it: no version in effect, as before', async () => {
    const inside = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$validate-code?url=${q(TAKST_LE)}&code=1ad&date=2024-01-01`,
    );
    expect(param(inside.body, 'result')?.valueBoolean).toBe(true);
    expect(param(inside.body, 'issues')).toBeUndefined();
    const after = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$validate-code?url=${q(TAKST_LE)}&code=1ad&date=2025-01-01`,
    );
    expect(param(after.body, 'result')?.valueBoolean).toBe(false);
    expect(param(after.body, 'message')?.valueString).toMatch(/is in effect on 2025-01-01; its versions are in effect/);
  });

  test('an answer from a code system without periods carries no such warning', async () => {
    const res = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$validate-code?url=${q('urn:oid:2.16.578.1.12.4.1.1.7280')}&code=NPU01370`,
    );
    expect(param(res.body, 'result')?.valueBoolean).toBe(true);
    expect(param(res.body, 'issues')).toBeUndefined();
  });

  test('/readyz and the TerminologyCapabilities list the code systems whose data ended', async () => {
    const ready = (await (await fetch(`${server.origin}/readyz`)).json()) as { outOfDate?: unknown[] };
    expect(ready.outOfDate).toContainEqual({ url: TAKST_LE, version: '2023-07-01', end: '2024-06-30' });
    const caps = await fetchFhir<TerminologyCapabilities>(`${server.baseUrl}/metadata?mode=terminology`);
    const le = caps.body.codeSystem?.find((c) => c.uri === TAKST_LE);
    const ext = le?.extension?.find((e) => e.url.endsWith('/StructureDefinition/data-out-of-date'));
    expect(ext?.extension).toEqual([
      { url: 'version', valueString: '2023-07-01' },
      { url: 'end', valueDate: '2024-06-30' },
    ]);
  });
});

describe('outOfDate: which version is out of date on which day', () => {
  const URL = 'http://example.org/fhir/CodeSystem/periods';
  const version = (v: string, start: string, end?: string): CodeSystem => ({
    resourceType: 'CodeSystem',
    url: URL,
    version: v,
    status: 'active',
    content: 'complete',
    extension: [{ url: EXT_RESOURCE_EFFECTIVE_PERIOD, valuePeriod: { start, ...(end ? { end } : {}) } }],
    concept: [{ code: 'a' }],
  });
  const store = (...list: CodeSystem[]) => {
    const s = new TerminologyStore();
    for (const cs of list) s.add(cs);
    return s;
  };

  test('the newest version, its period over before the day: out of date, with the end and the day', () => {
    const v1 = version('1', '2020-01-01', '2020-12-31');
    const s = store(v1);
    expect(outOfDate(new TxContext(s, [], { date: '2021-01-01' }), v1)).toEqual({
      url: URL,
      version: '1',
      end: '2020-12-31',
      day: '2021-01-01',
    });
    expect(outOfDate(new TxContext(s, [], { date: '2020-12-31' }), v1)).toBeUndefined();
  });

  test('an older version with a newer one known is not out of date (it was asked for by version)', () => {
    const v1 = version('1', '2020-01-01', '2020-12-31');
    const v2 = version('2', '2021-01-01', '2021-12-31');
    const s = store(v1, v2);
    const ctx = new TxContext(s, [], { date: '2021-06-01' });
    expect(outOfDate(ctx, v1)).toBeUndefined();
    expect(outOfDate(ctx, v2)).toBeUndefined();
    expect(outOfDate(new TxContext(s, [], { date: '2022-01-01' }), v2)?.end).toBe('2021-12-31');
  });

  test('an open period or no period at all is never out of date', () => {
    const open = version('1', '2020-01-01');
    const plain: CodeSystem = {
      resourceType: 'CodeSystem',
      url: URL,
      version: '0',
      status: 'active',
      content: 'complete',
    };
    const s = store(open, plain);
    const ctx = new TxContext(s, [], { date: '2030-01-01' });
    expect(outOfDate(ctx, open)).toBeUndefined();
    expect(outOfDate(ctx, plain)).toBeUndefined();
    expect(outOfDateCodeSystems(s, '2030-01-01')).toEqual([]);
  });
});
