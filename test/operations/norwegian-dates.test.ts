import type { OperationOutcome, Parameters, ValueSet } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';

// The `date` parameter on the embedded Helserefusjon data, through the real app: one takstkoder
// version per tariff period, NLK codes valid from fradato through tildato.
const TAKST_LE = 'https://no-fhir-facade.example/fhir/CodeSystem/takstkoder-le';
const TAKST_LE_VS = 'https://no-fhir-facade.example/fhir/ValueSet/takstkoder-le';
const NLK = 'urn:oid:2.16.578.1.12.4.1.1.7280';
const q = encodeURIComponent;

/** The LE tariff periods of the embedded data, as the "no version on this date" message lists them. */
const LE_PERIODS =
  '2019-07-01 through 2020-07-05 (version 2019-07-01), 2020-11-01 through 2021-06-30 (version 2020-11-01), ' +
  '2021-07-01 through 2022-06-30 (version 2021-07-01) and 2023-07-01 through 2024-06-30 (version 2023-07-01)';
const NO_LE_VERSION_2010 = `No version of the CodeSystem '${TAKST_LE}' is in effect on 2010-01-01; its versions are in effect ${LE_PERIODS}`;

function param(p: Parameters, name: string) {
  return p.parameter?.find((x) => x.name === name);
}

function property(p: Parameters, code: string): unknown {
  const prop = p.parameter?.find(
    (x) => x.name === 'property' && x.part?.some((y) => y.name === 'code' && y.valueCode === code),
  );
  const value = prop?.part?.find((y) => y.name === 'value');
  return value?.valueString ?? value?.valueCode ?? value?.valueDecimal ?? value?.valueDateTime ?? value?.valueBoolean;
}

function issueText(o: OperationOutcome): string | undefined {
  return o.issue?.[0]?.details?.text;
}

describe('the date parameter on the Norwegian code systems (embedded data)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  const lookup = (query: string) =>
    fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$lookup?system=${q(TAKST_LE)}&code=1ad${query}`);
  const validate = (system: string, code: string, query: string) =>
    fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$validate-code?url=${q(system)}&code=${code}${query}`);

  describe('takstkoder: one version per tariff period', () => {
    test.each<[string, string, number]>([
      ['2021-03-01', '2020-11-01', 73],
      ['2023-10-01', '2023-07-01', 80],
    ])('$lookup 1ad on %s: version %s, honorar %d', async (date, version, honorar) => {
      const res = await lookup(`&date=${date}`);
      expect(res.status).toBe(200);
      expect(param(res.body, 'version')?.valueString).toBe(version);
      expect(property(res.body, 'honorar')).toBe(honorar);
      expect(property(res.body, 'inactive')).toBe(false);
    });

    test('$lookup 1ad without a date: the newest period known answers', async () => {
      const res = await lookup('');
      expect(param(res.body, 'version')?.valueString).toBe('2023-07-01');
      expect(property(res.body, 'honorar')).toBe(80);
      expect(property(res.body, 'status')).toBe('active');
    });

    test('$lookup on a date with no tariff data: 404 naming the periods there are', async () => {
      const res = await fetchFhir<OperationOutcome>(
        `${server.baseUrl}/CodeSystem/$lookup?system=${q(TAKST_LE)}&code=1ad&date=2010-01-01`,
      );
      expect(res.status).toBe(404);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(issueText(res.body)).toBe(NO_LE_VERSION_2010);
    });

    test('version picks a period explicitly, with or without a date', async () => {
      const plain = await lookup('&version=2020-11-01');
      expect(param(plain.body, 'version')?.valueString).toBe('2020-11-01');
      expect(property(plain.body, 'honorar')).toBe(73);
      const dated = await lookup('&version=2020-11-01&date=2023-10-01');
      expect(param(dated.body, 'version')?.valueString).toBe('2020-11-01');
      expect(property(dated.body, 'honorar')).toBe(73);
      // that row ended before the date asked about
      expect(property(dated.body, 'status')).toBe('retired');
      expect(property(dated.body, 'inactive')).toBe(true);
    });

    test('$validate-code 1ad on 2023-10-01 is true in the 2023-07-01 version', async () => {
      const res = await validate(TAKST_LE, '1ad', '&date=2023-10-01');
      expect(param(res.body, 'result')?.valueBoolean).toBe(true);
      expect(param(res.body, 'version')?.valueString).toBe('2023-07-01');
    });

    test('$validate-code on a date with no tariff data: result false, the message naming the periods', async () => {
      const res = await validate(TAKST_LE, '1ad', '&date=2010-01-01');
      expect(res.status).toBe(200);
      expect(param(res.body, 'result')?.valueBoolean).toBe(false);
      expect(param(res.body, 'message')?.valueString).toBe(NO_LE_VERSION_2010);
      expect(param(res.body, 'x-caused-by-unknown-system')).toBeUndefined();
    });

    test('$validate-code with a version whose period does not cover the date: false, naming the validity', async () => {
      const res = await validate(TAKST_LE, '1ad', '&version=2020-11-01&date=2023-10-01');
      expect(param(res.body, 'result')?.valueBoolean).toBe(false);
      expect(param(res.body, 'message')?.valueString).toBe(
        "The concept '1ad' is valid from 2020-11-01 through 2021-06-30, not on 2023-10-01",
      );
    });

    test('POST $validate-code with a valueDateTime date', async () => {
      const body: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'url', valueUri: TAKST_LE },
          { name: 'code', valueCode: '1ad' },
          { name: 'date', valueDateTime: '2021-03-01T10:00:00+01:00' },
        ],
      };
      const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$validate-code`, postJson(body));
      expect(param(res.body, 'result')?.valueBoolean).toBe(true);
      expect(param(res.body, 'version')?.valueString).toBe('2020-11-01');
    });

    test('ValueSet $validate-code and $expand of the LE value set pick the version of the date', async () => {
      const v = await fetchFhir<Parameters>(
        `${server.baseUrl}/ValueSet/$validate-code?url=${q(TAKST_LE_VS)}&system=${q(TAKST_LE)}&code=1ad&date=2021-03-01`,
      );
      expect(param(v.body, 'result')?.valueBoolean).toBe(true);
      expect(param(v.body, 'version')?.valueString).toBe('2020-11-01');
      const e = await fetchFhir<ValueSet>(`${server.baseUrl}/ValueSet/$expand?url=${q(TAKST_LE_VS)}&date=2021-03-01`);
      expect(e.status).toBe(200);
      const used = e.body.expansion?.parameter?.filter((p) => p.name === 'used-codesystem').map((p) => p.valueUri);
      expect(used).toEqual([`${TAKST_LE}|2020-11-01`]);
      expect(e.body.expansion?.parameter?.find((p) => p.name === 'date')?.valueDateTime).toBe('2021-03-01');
      expect(e.body.expansion?.contains?.map((c) => c.code)).toContain('1ad');
    });

    test('$expand of the LE value set on a date with no tariff data: 404 naming the periods', async () => {
      const res = await fetchFhir<OperationOutcome>(
        `${server.baseUrl}/ValueSet/$expand?url=${q(TAKST_LE_VS)}&date=2010-01-01`,
      );
      expect(res.status).toBe(404);
      expect(issueText(res.body)).toMatch(
        /^No version of the ValueSet 'https:\/\/no-fhir-facade.example\/fhir\/ValueSet\/takstkoder-le' is in effect on 2010-01-01; its versions are in effect 2019-07-01 through 2020-07-05 \(version 2019-07-01\)/,
      );
    });

    test('an instance call answers from that instance, judged on the date', async () => {
      const res = await fetchFhir<Parameters>(
        `${server.baseUrl}/CodeSystem/takstkoder-le/$lookup?code=1ad&date=2021-03-01`,
      );
      expect(param(res.body, 'version')?.valueString).toBe('2023-07-01');
      expect(property(res.body, 'honorar')).toBe(80);
      expect(property(res.body, 'inactive')).toBe(true);
    });
  });

  describe('NLK: codes past their validity are retired and still found', () => {
    test('$validate-code NOR05001 on 2019-01-01 is true and active', async () => {
      const res = await validate(NLK, 'NOR05001', '&date=2019-01-01');
      expect(param(res.body, 'result')?.valueBoolean).toBe(true);
      expect(param(res.body, 'inactive')).toBeUndefined();
      expect(param(res.body, 'message')).toBeUndefined();
    });

    test('$validate-code NOR05001 on 2026-06-01 is false, the message naming 2020-02-29', async () => {
      const res = await validate(NLK, 'NOR05001', '&date=2026-06-01');
      expect(param(res.body, 'result')?.valueBoolean).toBe(false);
      expect(param(res.body, 'message')?.valueString).toBe(
        "The concept 'NOR05001' is valid from 2013-01-25 through 2020-02-29, not on 2026-06-01",
      );
      expect(param(res.body, 'inactive')?.valueBoolean).toBe(true);
      expect(param(res.body, 'status')?.valueCode).toBe('retired');
    });

    test('$validate-code NOR05001 without a date: valid, retired and inactive (as before)', async () => {
      const res = await validate(NLK, 'NOR05001', '');
      expect(param(res.body, 'result')?.valueBoolean).toBe(true);
      expect(param(res.body, 'inactive')?.valueBoolean).toBe(true);
      expect(param(res.body, 'status')?.valueCode).toBe('retired');
    });

    test.each<[string, string, boolean]>([
      ['2019-01-01', 'active', false],
      ['2026-06-01', 'retired', true],
    ])('$lookup NOR05001 on %s: found, status %s, inactive %s', async (date, status, inactive) => {
      const res = await fetchFhir<Parameters>(
        `${server.baseUrl}/CodeSystem/$lookup?system=${q(NLK)}&code=NOR05001&date=${date}`,
      );
      expect(res.status).toBe(200);
      expect(property(res.body, 'status')).toBe(status);
      expect(property(res.body, 'inactive')).toBe(inactive);
      expect(property(res.body, 'tildato')).toBe('2020-02-29');
    });

    test('NLK has no dated versions: any date finds the release', async () => {
      const res = await validate(NLK, 'NPU03230', '&date=1990-01-01');
      expect(param(res.body, 'version')?.valueString).toBe('7280.77');
      // NPU03230 is valid from 2013-01-25
      expect(param(res.body, 'result')?.valueBoolean).toBe(false);
      expect(param(res.body, 'message')?.valueString).toBe(
        "The concept 'NPU03230' is valid from 2013-01-25, not on 1990-01-01",
      );
    });
  });

  test.each(['2021', '2021-03', 'yesterday'])('date=%s is a 400', async (date) => {
    const res = await fetchFhir<OperationOutcome>(
      `${server.baseUrl}/CodeSystem/$lookup?system=${q(TAKST_LE)}&code=1ad&date=${date}`,
    );
    expect(res.status).toBe(400);
    expect(issueText(res.body)).toBe(
      `Parameter 'date' must be a dateTime with at least a day (yyyy-MM-dd), found '${date}'`,
    );
  });
});
