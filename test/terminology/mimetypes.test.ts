import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { OperationOutcome, Parameters, TerminologyCapabilities, ValueSet } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BCP13_URL, MIME_DB, parseMediaType } from '../../src/terminology/mimetypes.ts';
import { fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';
import { propertyRuns } from '../support/property.ts';

/** Media types (urn:ietf:bcp:13) answered by their grammar and the IANA registry copy of mime-db (mimetypes.ts). */

describe('parseMediaType', () => {
  test.each([
    ['application/fhir+json', 'application/fhir+json'],
    ['APPLICATION/PDF', 'application/pdf'],
    ['text/plain;charset=UTF-8', 'text/plain;charset=UTF-8'],
    ['text/plain; Charset="utf-8"', 'text/plain; charset="utf-8"'],
    ['application/fhir+json; fhirVersion=4.0', 'application/fhir+json; fhirversion=4.0'],
    ['image/jpeg', 'image/jpeg'],
    ['application/vnd.example.unlisted+json', 'application/vnd.example.unlisted+json'],
    ['application/x-zip-compressed', 'application/x-zip-compressed'],
    ['text/x.private', 'text/x.private'],
    ['multipart/form-data; boundary="a b;c"', 'multipart/form-data; boundary="a b;c"'],
  ])('%s is valid: %s', (code, canonical) => {
    const parsed = parseMediaType(code);
    expect(parsed.ok && parsed.code).toBe(canonical);
  });

  test.each([
    ['pdf', "a media type is 'type/subtype'"],
    ['document/pdf', "'document' is not a registered top-level type"],
    ['application/jsno', "'application/jsno' is not in the IANA registry"],
    ['application/', "'' is not a well-formed subtype"],
    ['text/plain charset=utf-8', "'plain charset=utf-8' is not a well-formed subtype"],
    ['text/plain;', 'a parameter is attribute=value'],
    ['text/plain; charset', 'a parameter is attribute=value'],
    ['text/plain; charset="utf-8', 'a quoted parameter value is not closed'],
    ['text/plain; charset=utf 8', 'parameters are separated by semicolons'],
    ['text/plain; a=(b)', 'a parameter value is a token or a quoted string'],
  ])('%j is not valid: %s', (code, reason) => {
    const parsed = parseMediaType(code);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });

  test('the release in package-lock.json is the one the version names', () => {
    const require = createRequire(import.meta.url);
    const pkg = JSON.parse(readFileSync(require.resolve('mime-db/package.json'), 'utf8')) as { version: string };
    expect(pkg.version).toBe(MIME_DB.version);
  });

  test('for any string: no throw; a valid code differs from its canonical form by case only, which parses to itself', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        'text/plain',
        'Application/PDF',
        'image/png',
        'application/vnd.a',
        'x/y',
        '/',
        ';',
        '=',
        '"',
        ' ',
      ),
      fc.constantFrom('charset=utf-8', 'q="1;2"', ' a=b', '\\"', 'version=4.0'),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 6 }), (pieces) => {
        const code = pieces.join('');
        const parsed = parseMediaType(code);
        if (!parsed.ok) return;
        expect(parsed.code.toLowerCase()).toBe(code.toLowerCase());
        const again = parseMediaType(parsed.code);
        expect(again.ok && again.code).toBe(parsed.code);
      }),
      propertyRuns(400),
    );
  });
});

describe('urn:ietf:bcp:13 over HTTP', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer();
  });
  afterAll(async () => {
    await srv?.close();
  });

  const check = async (code: string) => {
    const res = await fetchFhir<Parameters>(
      `${srv.baseUrl}/ValueSet/$validate-code?${new URLSearchParams({ url: 'http://hl7.org/fhir/ValueSet/mimetypes', system: BCP13_URL, code })}`,
    );
    expect(res.status).toBe(200);
    return Object.fromEntries(
      (res.body.parameter ?? []).map((p) => [p.name, p.valueBoolean ?? p.valueString ?? p.valueCode ?? p.valueUri]),
    );
  };

  test('the core mimetypes value set (Attachment.contentType) validates by the grammar', async () => {
    expect(await check('application/pdf')).toMatchObject({
      result: true,
      display: 'application/pdf',
      version: MIME_DB.date,
    });
    expect(await check('Application/PDF')).toMatchObject({ result: true, 'normalized-code': 'application/pdf' });
    expect(await check('text/plain; charset=UTF-8')).toMatchObject({ result: true });
    expect((await check('application/jsno')).result).toBe(false);
  });

  test('the whole system cannot be expanded: 422 too-costly; it is listed in TerminologyCapabilities', async () => {
    const exp = await fetchFhir<OperationOutcome>(
      `${srv.baseUrl}/ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/mimetypes`,
    );
    expect(exp.status).toBe(422);
    expect(exp.body.issue?.[0]?.details?.text).toContain('BCP 13 media types');
    const caps = await fetchFhir<TerminologyCapabilities>(`${srv.baseUrl}/metadata?mode=terminology`);
    expect(caps.body.codeSystem?.find((c) => c.uri === BCP13_URL)?.version?.[0]?.code).toBe(MIME_DB.date);
  });

  test('a value set of one top-level type, by a filter on the type property', async () => {
    const images: ValueSet = {
      resourceType: 'ValueSet',
      status: 'active',
      compose: { include: [{ system: BCP13_URL, filter: [{ property: 'type', op: '=', value: 'image' }] }] },
    };
    const validate = async (code: string) =>
      (
        await fetchFhir<Parameters>(`${srv.baseUrl}/ValueSet/$validate-code`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/fhir+json' },
          body: JSON.stringify({
            resourceType: 'Parameters',
            parameter: [
              { name: 'valueSet', resource: images },
              { name: 'coding', valueCoding: { system: BCP13_URL, code } },
            ],
          }),
        })
      ).body.parameter?.find((p) => p.name === 'result')?.valueBoolean;
    expect(await validate('image/png')).toBe(true);
    expect(await validate('application/pdf')).toBe(false);
  });
});
