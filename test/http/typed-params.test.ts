import type { OperationOutcome, Parameters, ParametersParameter, ValueSet } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ParamDef, ParamType } from '../../src/http/params.ts';
import { operations } from '../../src/operations/registry.ts';
import { fetchFhir, postJson, startTestServer, type TestServer } from '../support/fhir.ts';

/**
 * Wrongly typed input is a 400 (issue 8 item 5): every typed parameter of every operation, sent
 * with value types it cannot have, is answered 400 with an OperationOutcome naming it, the type
 * expected and what was found; FHIR's leniency (string-compatible types, integer types) holds.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

const GENDER_CS = 'http://hl7.org/fhir/administrative-gender';
const GENDER_VS = 'http://hl7.org/fhir/ValueSet/administrative-gender';

const params = (...parameter: ParametersParameter[]): Parameters => ({ resourceType: 'Parameters', parameter });
const entry = (name: string, rest: Record<string, unknown>) => ({ name, ...rest }) as ParametersParameter;

/** The type-level path of an operation. */
function pathOf(code: string, resourceType: string | undefined): string {
  return resourceType ? `/${resourceType}/$${code}` : `/$${code}`;
}

const aCoding = { valueCoding: { system: GENDER_CS, code: 'male' } };
const aResource = { resource: { resourceType: 'ValueSet', status: 'active' } };
const aPart = { part: [{ name: 'x', valueString: 'y' }] };

/** Value[x]s (and resources, parts) each parameter type must refuse, with what the message says was found. */
const WRONG: Record<ParamType, [Record<string, unknown>, string][]> = {
  string: [
    [aCoding, 'found valueCoding'],
    [{ valueBoolean: true }, 'found valueBoolean'],
    [{ valueInteger: 5 }, 'found valueInteger'],
    [{ valueString: 5 }, 'found valueString a number (5)'],
    [aResource, 'found a resource'],
    [aPart, 'found parts'],
    [{}, 'found no value'],
  ],
  code: [
    [aCoding, 'found valueCoding'],
    [{ valueCodeableConcept: { text: 'x' } }, 'found valueCodeableConcept'],
    [{ valueCode: ['a'] }, 'found valueCode an array'],
    [{ valueCode: null }, 'found valueCode null'],
    [aResource, 'found a resource'],
  ],
  uri: [
    [aCoding, 'found valueCoding'],
    [{ valueUri: { url: 'x' } }, 'found valueUri an object'],
    [aResource, 'found a resource'],
    [aPart, 'found parts'],
  ],
  canonical: [
    [aCoding, 'found valueCoding'],
    [{ valueBoolean: false }, 'found valueBoolean'],
    [aResource, 'found a resource'],
  ],
  boolean: [
    [{ valueString: 'maybe' }, "found valueString 'maybe'"],
    [{ valueBoolean: 1 }, 'found valueBoolean a number (1)'],
    [{ valueInteger: 1 }, 'found valueInteger'],
    [aCoding, 'found valueCoding'],
    [aResource, 'found a resource'],
  ],
  integer: [
    [{ valueString: 'x' }, "found valueString 'x'"],
    [{ valueDecimal: 1.5 }, 'found valueDecimal a number (1.5)'],
    [{ valueInteger: 2 ** 40 }, 'found valueInteger a number (1099511627776)'],
    [{ valueBoolean: true }, 'found valueBoolean'],
    [aCoding, 'found valueCoding'],
    [aPart, 'found parts'],
  ],
  dateTime: [
    [aCoding, 'found valueCoding'],
    [{ valueInteger: 2024 }, 'found valueInteger'],
    [{ valueDateTime: 20240101 }, 'found valueDateTime a number (20240101)'],
  ],
  date: [[aCoding, 'found valueCoding']],
  Coding: [
    [{ valueString: `${GENDER_CS}|male` }, 'found valueString'],
    [{ valueCode: 'male' }, 'found valueCode'],
    [{ valueCodeableConcept: { coding: [{ code: 'male' }] } }, 'found valueCodeableConcept'],
    [aResource, 'found a resource'],
    [aPart, 'found parts'],
  ],
  CodeableConcept: [
    [aCoding, 'found valueCoding'],
    [{ valueString: 'male' }, 'found valueString'],
    [aResource, 'found a resource'],
  ],
  Resource: [
    [{ valueString: 'x' }, 'found valueString'],
    [{ valueUri: GENDER_VS }, 'found valueUri'],
    [aPart, 'found parts'],
    [{}, 'found no value'],
  ],
  part: [
    [{ valueString: 'x' }, 'found valueString'],
    [aResource, 'found a resource'],
  ],
};

interface Case {
  op: string;
  path: string;
  def: ParamDef;
  wrong: Record<string, unknown>;
  found: string;
}

const cases: Case[] = [];
for (const op of operations) {
  for (const resourceType of op.resourceTypes.length > 0 ? op.resourceTypes : [undefined]) {
    if (!op.type && resourceType !== undefined) continue;
    const path = pathOf(op.code, resourceType);
    // tx-resource is defined at the edge for every operation
    const defs: ParamDef[] = op.parameters.some((p) => p.name === 'tx-resource')
      ? op.parameters
      : [...op.parameters, { name: 'tx-resource', type: 'Resource', max: '*' }];
    for (const def of defs) {
      for (const [wrong, found] of WRONG[def.type]) cases.push({ op: op.code, path, def, wrong, found });
    }
  }
}

describe('POST: a wrongly typed parameter is a 400 naming it', () => {
  test('every operation has typed parameters under test', () => {
    const tested = new Set(cases.map((c) => c.path));
    for (const op of operations) {
      if (op.parameters.length > 0 && op.type) {
        for (const t of op.resourceTypes) expect(tested).toContain(pathOf(op.code, t));
      }
    }
    expect(cases.length).toBeGreaterThan(500);
  });

  test.each(cases.map((c) => [c.path, c.def.name, c.def.type, JSON.stringify(c.wrong).slice(0, 60), c] as const))(
    '%s %s (%s) as %s',
    async (path, name, _type, _shown, c) => {
      const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}${path}`, postJson(params(entry(name, c.wrong))));
      expect(res.status).toBe(400);
      const issue = res.body.issue[0];
      expect(issue.code).toBe('invalid');
      expect(issue.expression).toEqual([name]);
      const text = issue.details?.text ?? '';
      expect(text).toMatch(new RegExp(`^Parameter '${name}' must (be|hold) `));
      expect(text).toContain(c.found);
      expect(text.length).toBeLessThan(300);
    },
  );
});

describe('POST: exact messages', () => {
  const rows: [string, ParametersParameter, string, string][] = [
    [
      '/CodeSystem/$lookup',
      entry('coding', { valueString: 'x' }),
      'coding',
      "Parameter 'coding' must be a Coding (valueCoding), found valueString",
    ],
    [
      '/CodeSystem/$lookup',
      entry('code', aCoding),
      'code',
      "Parameter 'code' must be a code (valueCode), found valueCoding",
    ],
    [
      '/ValueSet/$validate-code',
      entry('codeableConcept', aCoding),
      'codeableConcept',
      "Parameter 'codeableConcept' must be a CodeableConcept (valueCodeableConcept), found valueCoding",
    ],
    [
      '/ValueSet/$expand',
      entry('count', { valueString: 'x' }),
      'count',
      "Parameter 'count' must be an integer, found valueString 'x'",
    ],
    [
      '/ValueSet/$expand',
      entry('activeOnly', { valueString: 'maybe' }),
      'activeOnly',
      "Parameter 'activeOnly' must be a boolean (true or false), found valueString 'maybe'",
    ],
    [
      '/ValueSet/$expand',
      entry('valueSet', { valueUri: GENDER_VS }),
      'valueSet',
      "Parameter 'valueSet' must hold a ValueSet resource, found valueUri",
    ],
    [
      '/ValueSet/$expand',
      entry('valueSet', { resource: { resourceType: 'CodeSystem' } }),
      'valueSet',
      "Parameter 'valueSet' must hold a ValueSet resource, found CodeSystem",
    ],
    [
      '/CodeSystem/$validate-code',
      entry('codeSystem', { valueCanonical: GENDER_CS }),
      'codeSystem',
      "Parameter 'codeSystem' must hold a CodeSystem resource, found valueCanonical",
    ],
    [
      '/ConceptMap/$translate',
      entry('conceptMap', { resource: { resourceType: 'ValueSet' } }),
      'conceptMap',
      "Parameter 'conceptMap' must hold a ConceptMap resource, found ValueSet",
    ],
    [
      '/CodeSystem/$lookup',
      entry('tx-resource', { valueString: 'x' }),
      'tx-resource',
      "Parameter 'tx-resource' must hold a CodeSystem, ValueSet or ConceptMap resource, found valueString",
    ],
    [
      '/CodeSystem/$lookup',
      entry('code', { valueCode: 'a', valueString: 'b' }),
      'code',
      "Parameter 'code' has more than one value (valueCode, valueString): give one value[x]",
    ],
    [
      '/CodeSystem/$lookup',
      entry('code', { valueCode: 'x'.repeat(70_000) }),
      'code',
      `Parameter 'code' is too long (70000 characters, at most 65536): a string "${'x'.repeat(32)}..."`,
    ],
    [
      '/CodeSystem/$lookup',
      entry('code', { valueCode: 'a', part: [{ name: 'x', valueString: 'y' }] }),
      'code',
      "Parameter 'code' must be a code (valueCode), found valueCode and parts",
    ],
    [
      '/CodeSystem/$lookup',
      entry('system', { valueUri: 'http://example.org/a b' }),
      'system',
      `Parameter 'system' must be a valid FHIR uri, found a string "http://example.org/a b"`,
    ],
    [
      '/CodeSystem/$lookup',
      entry('code', { valueCode: 'a  b' }),
      'code',
      `Parameter 'code' must be a valid FHIR code, found a string "a  b"`,
    ],
    [
      '/CodeSystem/$lookup',
      entry('code', { valueCode: 'a\u0000' }),
      'code',
      "Parameter 'code' must not hold control characters (U+0000 at position 1)",
    ],
    [
      '/ValueSet/$expand',
      entry('filter', { valueString: ' ' }),
      'filter',
      `Parameter 'filter' must not be empty or blank, found a string " "`,
    ],
  ];
  test.each(rows.map(([path, p, name, text]) => [path, name, p, text] as const))(
    '%s %s',
    async (path, name, p, text) => {
      const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}${path}`, postJson(params(p)));
      expect(res.status).toBe(400);
      expect(res.body.issue[0].expression).toEqual([name]);
      expect(res.body.issue[0].details?.text).toBe(text);
    },
  );
});

describe('POST: FHIR leniency holds', () => {
  const lookup = async (code: ParametersParameter) =>
    fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$lookup`,
      postJson(params(entry('system', { valueUri: GENDER_CS }), code)),
    );

  test.each(['valueCode', 'valueString', 'valueId', 'valueUri', 'valueCanonical', 'valueMarkdown'])(
    'a code as %s',
    async (key) => {
      const res = await lookup(entry('code', { [key]: 'male' }));
      expect(res.status).toBe(200);
      expect(res.body.parameter?.find((p) => p.name === 'display')?.valueString).toBe('Male');
    },
  );

  test('a code with surrounding spaces is trimmed', async () => {
    const res = await lookup(entry('code', { valueCode: ' male ' }));
    expect(res.status).toBe(200);
    expect(res.body.parameter?.find((p) => p.name === 'code')?.valueCode).toBe('male');
  });

  test.each([
    ['valueInteger', 2],
    ['valuePositiveInt', 2],
    ['valueUnsignedInt', 2],
    ['valueDecimal', 2.0],
    ['valueString', '2'],
  ])('count as %s %s', async (key, value) => {
    const res = await fetchFhir<ValueSet>(
      `${server.baseUrl}/ValueSet/$expand`,
      postJson(params(entry('url', { valueUri: GENDER_VS }), entry('count', { [key]: value }))),
    );
    expect(res.status).toBe(200);
    expect(res.body.expansion?.contains).toHaveLength(2);
  });

  test.each([
    ['valueBoolean', true],
    ['valueBoolean', 'true'],
    ['valueString', 'true'],
    ['valueCode', 'false'],
  ])('activeOnly as %s %s', async (key, value) => {
    const res = await fetchFhir<ValueSet>(
      `${server.baseUrl}/ValueSet/$expand`,
      postJson(params(entry('url', { valueUri: GENDER_VS }), entry('activeOnly', { [key]: value }))),
    );
    expect(res.status).toBe(200);
  });

  test.each(['valueDateTime', 'valueDate', 'valueString'])('date as %s', async (key) => {
    const dated = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$lookup`,
      postJson(
        params(
          entry('system', { valueUri: GENDER_CS }),
          entry('code', { valueCode: 'male' }),
          entry('date', { [key]: '2024-01-01' }),
        ),
      ),
    );
    expect(dated.status).toBe(200);
  });

  test.each([
    ['a Coding', aCoding],
    ['a resource', aResource],
    ['parts', aPart],
    ['a number', { valueString: 5 }],
  ])('a parameter the operation does not define is ignored, even as %s', async (_name, wrong) => {
    const res = await lookup(entry('code', { valueCode: 'male' }));
    const withUuid = await fetchFhir<Parameters>(
      `${server.baseUrl}/CodeSystem/$lookup`,
      postJson(
        params(entry('system', { valueUri: GENDER_CS }), entry('code', { valueCode: 'male' }), entry('uuid', wrong)),
      ),
    );
    expect(withUuid.status).toBe(200);
    expect(withUuid.body).toEqual(res.body);
  });
});

describe('GET: query strings are text', () => {
  test.each([
    ['/ValueSet/$expand', `url=${GENDER_VS}&count=x`, 'count', "Parameter 'count' must be an integer, found 'x'"],
    ['/ValueSet/$expand', `url=${GENDER_VS}&count=1.5`, 'count', "Parameter 'count' must be an integer, found '1.5'"],
    [
      '/ValueSet/$expand',
      `url=${GENDER_VS}&offset=99999999999`,
      'offset',
      "Parameter 'offset' must be an integer, found '99999999999'",
    ],
    [
      '/ValueSet/$expand',
      `url=${GENDER_VS}&activeOnly=maybe`,
      'activeOnly',
      "Parameter 'activeOnly' must be a boolean (true or false), found 'maybe'",
    ],
    [
      '/ValueSet/$validate-code',
      `url=${GENDER_VS}&code=male&system=${GENDER_CS}&abstract=TRUE`,
      'abstract',
      "Parameter 'abstract' must be a boolean (true or false), found 'TRUE'",
    ],
    [
      '/ValueSet/$expand',
      'valueSet=x',
      'valueSet',
      "Parameter 'valueSet' must be a resource, which cannot be given in a URL: POST a Parameters resource",
    ],
    [
      '/ConceptMap/$translate',
      'dependency=x',
      'dependency',
      "Parameter 'dependency' must be parts (part), which cannot be given in a URL: POST a Parameters resource",
    ],
    ['/CodeSystem/$lookup', 'code=a&code=b', 'code', "Parameter 'code' may occur at most 1 time(s), found 2"],
    [
      '/CodeSystem/$lookup',
      `system=${encodeURIComponent('http://a b')}&code=male`,
      'system',
      `Parameter 'system' must be a valid FHIR uri, found a string "http://a b"`,
    ],
    [
      '/CodeSystem/$validate-code',
      `system=${encodeURIComponent('! !')}&code=male`,
      'system',
      `Parameter 'system' must be a valid FHIR uri, found a string "! !"`,
    ],
    [
      '/CodeSystem/$lookup',
      `coding=${encodeURIComponent('http://a b|male')}`,
      'coding',
      `Parameter 'coding' must be a valid FHIR uri, found a string "http://a b"`,
    ],
  ])('%s?%s', async (path, query, name, text) => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}${path}?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual([name]);
    expect(res.body.issue[0].details?.text).toBe(text);
  });

  test.each([
    ['/ValueSet/$expand', `url=${GENDER_VS}&count=1&activeOnly=true`],
    ['/ValueSet/$expand', `url=${GENDER_VS}&count=&activeOnly=%20&exclude-system=`],
    ['/ValueSet/$expand', `url=${GENDER_VS}&count=%2B1&offset=0`],
    ['/CodeSystem/$lookup', `coding=${encodeURIComponent(`${GENDER_CS}|male`)}`],
    ['/CodeSystem/$lookup', `system=${GENDER_CS}&code=male&uuid=anything&uuid=twice`],
    ['/ValueSet/$validate-code', `url=${GENDER_VS}&codeableConcept=${encodeURIComponent(`${GENDER_CS}|male`)}`],
  ])('200 for %s?%s', async (path, query) => {
    const res = await fetchFhir(`${server.baseUrl}${path}?${query}`);
    expect(res.status).toBe(200);
  });
});
