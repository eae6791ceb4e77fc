import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import type {
  CodeSystem,
  OperationOutcome,
  Parameters,
  Resource,
  ValueSet,
  ValueSetExpansionContains,
} from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseFhirXml } from '../../src/http/xml-read.ts';
import { toFhirXml } from '../../src/http/xml-write.ts';
import { operations } from '../../src/operations/registry.ts';
import {
  expectValidFhir,
  FHIR_XML_CONTENT_TYPE,
  fetchFhir,
  fetchFhirXml,
  postJson,
  postXml,
  readFhirXml,
  startTestServer,
  type TestServer,
} from '../support/fhir.ts';

/**
 * FHIR XML over HTTP (issue 11, item 1): every kind of answer in XML is the JSON answer, XML
 * request bodies are read wherever JSON ones are, errors come in the format asked for, and XML that
 * is malformed, too large or hostile is a 400/413/415 OperationOutcome.
 */

let server: TestServer;
let small: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  small = await startTestServer({ config: { maxBodyBytes: 1000 } });
});
afterAll(async () => {
  await server.close();
  await small.close();
});

const q = encodeURIComponent;
const GENDER = 'http://hl7.org/fhir/administrative-gender';
const GENDER_VS = 'http://hl7.org/fhir/ValueSet/administrative-gender';
const ABSENT = 'http://terminology.hl7.org/CodeSystem/data-absent-reason';
const NLK = 'urn:oid:2.16.578.1.12.4.1.1.7280';

const parameters = (...parameter: Parameters['parameter'] & object): Parameters => ({
  resourceType: 'Parameters',
  parameter,
});

/** What differs between two answers to one request: the identity and time of an expansion. */
function stable(r: Resource): Resource {
  if (r.resourceType !== 'ValueSet' || !r.expansion) return r;
  return { ...r, expansion: { ...r.expansion, identifier: '', timestamp: '' } };
}

interface Case {
  name: string;
  /** the operation answered (`$lookup` ...), to check that every operation of the registry has a case */
  operation?: string;
  path: string;
  /** a POST body (sent as JSON, and as XML) */
  body?: Parameters;
  status: number;
}

const CASES: Case[] = [
  { name: 'CapabilityStatement', path: '/metadata', status: 200 },
  { name: 'TerminologyCapabilities', path: '/metadata?mode=terminology', status: 200 },
  { name: 'search Bundle', path: '/CodeSystem?_count=3', status: 200 },
  { name: 'search Bundle with _summary', path: `/ValueSet?url=${q(GENDER_VS)}&_summary=true`, status: 200 },
  { name: 'read, with narrative', path: '/CodeSystem/administrative-gender', status: 200 },
  { name: 'read of a ConceptMap', path: '/ConceptMap/cm-name-use-v2', status: 200 },
  {
    name: 'CodeSystem/$lookup',
    operation: 'lookup',
    path: `/CodeSystem/$lookup?system=${q(GENDER)}&code=male&property=*`,
    status: 200,
  },
  {
    name: 'CodeSystem/{id}/$lookup',
    operation: 'lookup',
    path: '/CodeSystem/administrative-gender/$lookup?code=female',
    status: 200,
  },
  {
    name: 'CodeSystem/$validate-code',
    operation: 'validate-code',
    path: `/CodeSystem/$validate-code?url=${q(GENDER)}&code=other&display=Annet`,
    status: 200,
  },
  {
    name: 'ValueSet/$validate-code, not valid',
    operation: 'validate-code',
    path: `/ValueSet/$validate-code?url=${q(GENDER_VS)}&system=${q(GENDER)}&code=nope`,
    status: 200,
  },
  {
    name: 'ValueSet/$expand',
    operation: 'expand',
    path: `/ValueSet/$expand?url=${q(GENDER_VS)}&includeDesignations=true`,
    status: 200,
  },
  {
    name: 'ConceptMap/$translate',
    operation: 'translate',
    path: `/ConceptMap/$translate?system=${q(NLK)}&code=NOR05001&targetsystem=${q(NLK)}`,
    status: 200,
  },
  {
    name: 'CodeSystem/$subsumes',
    operation: 'subsumes',
    path: `/CodeSystem/$subsumes?system=${q(ABSENT)}&codeA=unknown&codeB=asked-unknown`,
    status: 200,
  },
  {
    name: 'ValueSet/$batch-validate-code',
    operation: 'batch-validate-code',
    path: '/ValueSet/$batch-validate-code',
    body: parameters(
      { name: 'url', valueUri: GENDER_VS },
      { name: 'validation', resource: parameters({ name: 'coding', valueCoding: { system: GENDER, code: 'male' } }) },
      { name: 'validation', resource: parameters({ name: 'coding', valueCoding: { system: GENDER, code: 'x' } }) },
    ),
    status: 200,
  },
  {
    name: 'ValueSet/$compare',
    operation: 'compare',
    path: `/ValueSet/$compare?thisUrl=${q(GENDER_VS)}&otherUrl=${q(GENDER_VS)}`,
    status: 200,
  },
  {
    name: 'ValueSet/$related',
    operation: 'related',
    path: `/ValueSet/$related?thisUrl=${q(GENDER_VS)}&otherUrl=${q(GENDER_VS)}`,
    status: 200,
  },
  { name: '$versions', operation: 'versions', path: '/$versions', status: 200 },
  {
    name: '$lookup POST with a tx-resource',
    operation: 'lookup',
    path: '/CodeSystem/$lookup',
    body: parameters(
      { name: 'system', valueUri: 'http://example.org/cs' },
      { name: 'code', valueCode: 'a' },
      {
        name: 'tx-resource',
        resource: {
          resourceType: 'CodeSystem',
          url: 'http://example.org/cs',
          status: 'active',
          content: 'complete',
          concept: [{ code: 'a', display: 'A', designation: [{ language: 'nb', value: 'A på norsk' }] }],
        },
      },
    ),
    status: 200,
  },
  { name: 'a 404 OperationOutcome', path: '/CodeSystem/no-such-id', status: 404 },
  { name: 'a 400 OperationOutcome', path: '/CodeSystem/$lookup?code=male', status: 400 },
  { name: 'an unknown path', path: '/Nowhere/1/2', status: 404 },
];

describe('every kind of answer', () => {
  test('every operation of the registry has a case', () => {
    const covered = new Set(CASES.map((c) => c.operation));
    for (const def of operations) expect(covered, `$${def.code}`).toContain(def.code);
  });

  test.each(CASES)('$name: JSON -> XML -> JSON is exact, and the XML answer is the JSON answer', async (c) => {
    const init = c.body ? postJson(c.body) : {};
    const json = await fetchFhir(`${server.baseUrl}${c.path}`, init);
    expect(json.status).toBe(c.status);
    expect(parseFhirXml(toFhirXml(json.body))).toEqual(json.body);

    const xml = await fetchFhirXml(`${server.baseUrl}${c.path}`, c.body ? postJson(c.body) : {});
    expect(xml.status).toBe(c.status);
    expect(xml.headers.get('content-type')).toBe(FHIR_XML_CONTENT_TYPE);
    expect(stable(xml.body)).toEqual(stable(json.body));
    if (c.body) {
      // the same request with its body as FHIR XML
      const both = await fetchFhirXml(`${server.baseUrl}${c.path}`, postXml(c.body));
      expect(both.status).toBe(c.status);
      expect(stable(both.body)).toEqual(stable(json.body));
    }
  });
});

describe('$validate-code in FHIR XML', () => {
  const request = parameters(
    { name: 'url', valueUri: GENDER_VS },
    { name: 'coding', valueCoding: { system: GENDER, code: 'female', display: 'Kvinne' } },
    { name: 'displayLanguage', valueCode: 'en' },
  );

  test('XML Parameters in, XML answer out: the JSON answer to the same request', async () => {
    const body = toFhirXml(request);
    expect(body).toContain('<valueCoding><system value="http://hl7.org/fhir/administrative-gender"/>');
    const xml = await fetchFhirXml<Parameters>(`${server.baseUrl}/ValueSet/$validate-code`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+xml; fhirVersion=4.0' },
      body,
    });
    const json = await fetchFhir<Parameters>(`${server.baseUrl}/ValueSet/$validate-code`, postJson(request));
    expect(xml.status).toBe(200);
    expect(xml.body).toEqual(json.body);
    expect(xml.body.parameter?.find((p) => p.name === 'result')?.valueBoolean).toBe(false);
    expect(xml.text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Parameters xmlns="http:\/\/hl7.org\/fhir">/);
  });

  test.each([
    'application/fhir+xml',
    'application/fhir+xml; fhirVersion=4.0',
    'application/fhir+xml;charset=UTF-8;fhirVersion=4.0.1',
    'application/xml',
    'application/xml; charset=utf-8',
    'text/xml',
    'application/xml+fhir',
  ])('accepts Content-Type: %s', async (type) => {
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/ValueSet/$validate-code`, postXml(request, type));
    expect(res.status).toBe(200);
    expect(res.body.parameter?.find((p) => p.name === 'result')).toBeDefined();
  });

  test('tx-resource CodeSystem and ValueSet in XML, with narrative, primitive extensions and contained', async () => {
    const cs: CodeSystem = {
      resourceType: 'CodeSystem',
      url: 'http://example.org/fhir/CodeSystem/xml',
      version: '1',
      status: 'active',
      content: 'complete',
      text: {
        status: 'generated',
        div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>Koder &amp; tekster\r\n</p></div>`,
      },
      property: [{ code: 'weight', type: 'decimal' }],
      concept: [
        { code: 'a', display: 'Alfa', property: [{ code: 'weight', valueDecimal: 0.25 }] },
        { code: 'b', display: 'Beta', concept: [{ code: 'b1', display: 'Beta én' }] },
      ],
    };
    const vs = {
      resourceType: 'ValueSet',
      url: 'http://example.org/fhir/ValueSet/xml',
      status: 'active',
      _status: { extension: [{ url: 'http://example.org/note', valueString: 'a primitive extension' }] },
      contained: [{ resourceType: 'CodeSystem', id: 'unused', status: 'draft', content: 'not-present' }],
      compose: { include: [{ system: cs.url, filter: [{ property: 'concept', op: 'is-a', value: 'b' }] }] },
    } as ValueSet;
    const request = parameters(
      { name: 'url', valueUri: vs.url },
      { name: 'tx-resource', resource: cs },
      { name: 'tx-resource', resource: vs },
    );
    const xml = await fetchFhirXml<ValueSet>(`${server.baseUrl}/ValueSet/$expand`, postXml(request));
    const json = await fetchFhir<ValueSet>(`${server.baseUrl}/ValueSet/$expand`, postJson(request));
    expect(xml.status).toBe(200);
    expect(stable(xml.body)).toEqual(stable(json.body));
    const codes = (contains: ValueSetExpansionContains[] = []): string[] =>
      contains.flatMap((c) => [c.code ?? '', ...codes(c.contains)]);
    expect(codes(xml.body.expansion?.contains)).toEqual(['b', 'b1']);
  });

  test('a gzip-compressed XML body', async () => {
    const res = await fetchFhirXml<Parameters>(`${server.baseUrl}/ValueSet/$validate-code`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+xml', 'Content-Encoding': 'gzip' },
      body: gzipSync(toFhirXml(request)),
    });
    expect(res.status).toBe(200);
  });
});

describe('answers in the format asked for', () => {
  test.each([
    ['GET', '/fhir/CodeSystem/no-such-id', 404],
    ['GET', '/fhir/Patient', 404],
    ['GET', '/nowhere', 404],
    ['DELETE', '/fhir/metadata', 405],
    ['GET', '/fhir/CodeSystem/$lookup?system=x', 400],
  ])('%s %s: the %d OperationOutcome in FHIR XML', async (method, path, status) => {
    const res = await fetchFhirXml<OperationOutcome>(`${server.origin}${path}`, { method });
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('an unsupported FHIR version asked for as XML is a 406 in XML', async () => {
    const res = await fetchFhirXml<OperationOutcome>(`${server.baseUrl}/metadata?_format=xml;%20fhirVersion=5.0`);
    expect(res.status).toBe(406);
    expect(res.body.issue[0].details?.text).toMatch(/FHIR version 5.0 is not supported/);
  });

  test('_pretty=true indents the XML; the content is the same', async () => {
    const pretty = await fetchFhirXml(`${server.baseUrl}/$versions?_format=xml&_pretty=true`);
    const plain = await fetchFhirXml(`${server.baseUrl}/$versions?_format=xml`);
    expect(pretty.text).toContain('\n  <parameter>\n    <name value="version"/>');
    expect(plain.text).not.toContain('\n');
    expect(pretty.body).toEqual(plain.body);
  });

  test('one URL asked for as JSON and as XML: each from the response cache in its own format', async () => {
    const url = `${server.baseUrl}/CodeSystem/$lookup?system=${q(GENDER)}&code=unknown`;
    for (let i = 0; i < 2; i++) {
      const json = await fetchFhir(url);
      expect(json.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
      const xml = await fetchFhirXml(url);
      expect(xml.body).toEqual(json.body);
    }
  });

  test('HEAD in XML: the headers of the GET, without a body', async () => {
    const url = `${server.baseUrl}/metadata?_format=xml`;
    const get = await fetch(url);
    const text = await get.text();
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.headers.get('content-type')).toBe(FHIR_XML_CONTENT_TYPE);
    expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(await head.text()).toBe('');
  });
});

/** A raw POST (fetch cannot send every header and body we need), answered as JSON and validated. */
function rawPost(
  url: string,
  headers: Record<string, string>,
  body: string | Buffer,
): Promise<{ status: number; body: OperationOutcome; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => {
        const type = res.headers['content-type'] ?? '';
        const parsed = type.startsWith('application/fhir+xml') ? readFhirXml(text) : expectValidFhir(JSON.parse(text));
        resolve({ status: res.statusCode ?? 0, body: parsed as OperationOutcome, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('XML request bodies that are refused', () => {
  const url = () => `${server.baseUrl}/ValueSet/$validate-code`;
  const FHIR = 'xmlns="http://hl7.org/fhir"';

  test.each([
    ['application/fhir+xml; fhirVersion=5.0', /FHIR version 5\.0 is not supported/],
    ['application/fhir+xml; fhirVersion=3.0', /FHIR version 3\.0 is not supported/],
    ['application/xml; charset=iso-8859-1', /Unsupported charset: send the request body as UTF-8 XML/],
    ['application/xhtml+xml', /Content-Type 'application\/xhtml\+xml' is not supported/],
  ])('415 for Content-Type: %s', async (type, message) => {
    const res = await rawPost(url(), { 'Content-Type': type }, `<Parameters ${FHIR}/>`);
    expect(res.status).toBe(415);
    expect(res.body.issue[0].details?.text).toMatch(message);
  });

  test('415 for an XML declaration of another encoding', async () => {
    const res = await rawPost(
      url(),
      { 'Content-Type': 'application/fhir+xml' },
      `<?xml version="1.0" encoding="ISO-8859-1"?><Parameters ${FHIR}/>`,
    );
    expect(res.status).toBe(415);
    expect(res.body.issue[0].details?.text).toBe('Unsupported encoding: send the XML request body as UTF-8');
  });

  test.each([
    ['not well-formed', `<Parameters ${FHIR}><parameter></Parameters>`, /^Request body is not well-formed XML: /],
    ['not UTF-8', Buffer.from([0x3c, 0x61, 0xff, 0x3e]), /^Request body is not valid UTF-8$/],
    ['JSON sent as XML', JSON.stringify(parameters()), /^Request body is not well-formed XML: /],
    ['another resource', `<Patient ${FHIR}/>`, /must be a Parameters resource, found a Patient/],
    [
      'a bad value',
      `<Parameters ${FHIR}><parameter><name value="url"/><valueBoolean value="1"/></parameter></Parameters>`,
      /Parameters.parameter.valueBoolean: '1' is not a boolean \(true or false\) \(line 1\)/,
    ],
    [
      'the billion laughs',
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><Parameters ${FHIR}><parameter><name value="&lol3;"/></parameter></Parameters>`,
      /holds a DOCTYPE: FHIR XML has none/,
    ],
    [
      'an external entity',
      `<?xml version="1.0"?><!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Parameters ${FHIR}><parameter><name value="&xxe;"/></parameter></Parameters>`,
      /holds a DOCTYPE/,
    ],
    [
      'an entity that was never declared',
      `<Parameters ${FHIR}><parameter><name value="&xxe;"/></parameter></Parameters>`,
      /not well-formed XML: Invalid character entity/,
    ],
  ])('400 for %s', async (_name, body, message) => {
    const res = await rawPost(url(), { 'Content-Type': 'application/fhir+xml' }, body);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details?.text).toMatch(message);
    expect(res.text).not.toMatch(/ at .*\.(ts|js)|Error:/);
  });

  test('400 for malformed XML does not echo a large body', async () => {
    const body = `<Parameters ${FHIR}><parameter><name value="${'x'.repeat(200_000)}"/><parameter></Parameters>`;
    const res = await rawPost(url(), { 'Content-Type': 'application/fhir+xml' }, body);
    expect(res.status).toBe(400);
    expect(res.text.length).toBeLessThan(500);
    expect(res.text).not.toContain('xxxxxxxxxx');
  });

  test('413 for an XML body over MAX_BODY_BYTES', async () => {
    const big = parameters({ name: 'x', valueString: 'y'.repeat(2000) });
    const res = await rawPost(`${small.baseUrl}/$versions`, { 'Content-Type': 'application/fhir+xml' }, toFhirXml(big));
    expect(res.status).toBe(413);
    expect(res.body.issue[0].details?.text).toContain('1000 bytes');
  });
});
