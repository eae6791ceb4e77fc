import type { CodeSystem, Parameters, TerminologyCapabilities, ValueSet } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  currencyCodeSystem,
  ISO4217_URL,
  loadCurrencyCodeSystem,
  readCurrencyList,
} from '../../src/terminology/iso4217.ts';
import { expectValidFhir, fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

/** ISO 4217 currency codes from list one (data/iso-4217), built at start-up (iso4217.ts). */

const SAMPLE = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<ISO_4217 Pblshd="2024-06-25">
  <CcyTbl>
    <CcyNtry><CtryNm>ANTARCTICA</CtryNm><CcyNm>No universal currency</CcyNm></CcyNtry>
    <CcyNtry><CtryNm>BOUVET ISLAND</CtryNm><CcyNm>Norwegian Krone</CcyNm><Ccy>NOK</Ccy><CcyNbr>578</CcyNbr><CcyMnrUnts>2</CcyMnrUnts></CcyNtry>
    <CcyNtry><CtryNm>NORWAY</CtryNm><CcyNm>Norwegian Krone</CcyNm><Ccy>NOK</Ccy><CcyNbr>578</CcyNbr><CcyMnrUnts>2</CcyMnrUnts></CcyNtry>
    <CcyNtry><CtryNm>BOLIVIA (PLURINATIONAL STATE OF)</CtryNm><CcyNm IsFund="true">Mvdol</CcyNm><Ccy>BOV</Ccy><CcyNbr>984</CcyNbr><CcyMnrUnts>2</CcyMnrUnts></CcyNtry>
    <CcyNtry><CtryNm>ZZ08_Gold</CtryNm><CcyNm>Gold</CcyNm><Ccy>XAU</Ccy><CcyNbr>959</CcyNbr><CcyMnrUnts>N.A.</CcyMnrUnts></CcyNtry>
  </CcyTbl>
</ISO_4217>`;

describe('the list and its CodeSystem', () => {
  test('one concept per code, the names and fields as written, entries without a code left out', () => {
    const { published, entries } = readCurrencyList(SAMPLE);
    expect(published).toBe('2024-06-25');
    expect(entries).toHaveLength(5);
    const cs = expectValidFhir<CodeSystem>(currencyCodeSystem(published, entries));
    expect(cs.concept?.map((c) => [c.code, c.display])).toEqual([
      ['NOK', 'Norwegian Krone'],
      ['BOV', 'Mvdol'],
      ['XAU', 'Gold'],
    ]);
    expect(cs.concept?.[0]?.property).toEqual([
      { code: 'number', valueCode: '578' },
      { code: 'minor-units', valueString: '2' },
      { code: 'entity', valueString: 'BOUVET ISLAND' },
      { code: 'entity', valueString: 'NORWAY' },
    ]);
    expect(cs.concept?.[1]?.property).toContainEqual({ code: 'fund', valueBoolean: true });
    expect(cs.concept?.[2]?.property).toContainEqual({ code: 'minor-units', valueString: 'N.A.' });
    expect(cs).toMatchObject({ url: ISO4217_URL, version: '2024-06-25', content: 'complete', count: 3 });
  });

  test('a list without a publication date is refused', () => {
    expect(() => readCurrencyList('<ISO_4217><CcyTbl/></ISO_4217>')).toThrow(/publication date/);
  });

  test('the list in the repository: 179 codes', () => {
    const cs = loadCurrencyCodeSystem();
    expect(cs.concept).toHaveLength(179);
    expect(cs.concept?.find((c) => c.code === 'NOK')?.display).toBe('Norwegian Krone');
  });
});

describe('urn:iso:std:iso:4217 over HTTP', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer();
  });
  afterAll(async () => {
    await srv?.close();
  });

  const result = (p: Parameters) => p.parameter?.find((x) => x.name === 'result')?.valueBoolean;

  test('the core currencies value set expands to every code and validates NOK, not nok', async () => {
    const exp = await fetchFhir<ValueSet>(
      `${srv.baseUrl}/ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/currencies`,
    );
    expect(exp.status).toBe(200);
    expect(exp.body.expansion?.total).toBe(179);
    const check = async (code: string) =>
      result(
        (
          await fetchFhir<Parameters>(
            `${srv.baseUrl}/ValueSet/$validate-code?url=http://hl7.org/fhir/ValueSet/currencies&system=${ISO4217_URL}&code=${code}`,
          )
        ).body,
      );
    expect(await check('NOK')).toBe(true);
    expect(await check('nok')).toBe(false);
    expect(await check('XYZ')).toBe(false);
  });

  test('listed in TerminologyCapabilities, with its source and licence', async () => {
    const caps = await fetchFhir<TerminologyCapabilities>(`${srv.baseUrl}/metadata?mode=terminology`);
    expect(caps.body.codeSystem?.find((c) => c.uri === ISO4217_URL)?.version?.[0]?.code).toBe('2024-06-25');
    const cs = await fetchFhir<CodeSystem>(`${srv.baseUrl}/CodeSystem/iso-4217`);
    expect(cs.body.meta?.source).toContain('currency-codes');
    expect(JSON.stringify(cs.body.meta?.extension)).toContain('SIX Financial Information');
  });
});
