import type { Bundle, CodeSystem, Parameters, Resource } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { serialiseAs } from '../../src/http/content.ts';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { parseFhirXml } from '../../src/http/xml-read.ts';
import { toFhirXml, XmlWriteError } from '../../src/http/xml-write.ts';
import { TX_RESOURCE_TYPES } from '../../src/terminology/store.ts';
import { expectValidFhir, testStore } from '../support/fhir.ts';

/**
 * FHIR JSON <-> FHIR XML (xml-model.ts, xml-write.ts, xml-read.ts, xhtml.ts): exact both ways for
 * everything the server holds, the mapping rules of R4 xml.html and json.html one by one, and the
 * XML the reader refuses.
 */

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>';
const FHIR = 'xmlns="http://hl7.org/fhir"';
const XHTML = 'xmlns="http://www.w3.org/1999/xhtml"';

/**
 * JSON -> XML -> JSON, which must give back `resource` exactly (as JSON: the engine's own symbols
 * on a served resource, such as a code system's index maker, are not part of it) and valid R4.
 */
function roundTrip<T extends Resource>(resource: T, pretty = false): T {
  const back = parseFhirXml(toFhirXml(resource, pretty)) as T;
  expect(back).toEqual(JSON.parse(JSON.stringify(resource)));
  return back;
}

/** The reader's 400 text for `xml` (the test fails when it reads it). */
function refusal(xml: string): string {
  try {
    parseFhirXml(xml);
  } catch (err) {
    expect(err).toBeInstanceOf(OperationOutcomeError);
    const e = err as OperationOutcomeError;
    expect(e.status).toBe(400);
    return e.outcome.issue?.[0]?.details?.text ?? '';
  }
  throw new Error('the XML was read');
}

describe('the served terminology', () => {
  test('every CodeSystem, ValueSet and ConceptMap: JSON -> XML -> JSON is exact, and valid R4', () => {
    const store = testStore();
    let n = 0;
    for (const type of TX_RESOURCE_TYPES) {
      for (const resource of store.all(type)) {
        // plain and pretty alternately: indentation must not change what is read
        const back = roundTrip(resource, n % 2 === 1);
        expectValidFhir(back);
        n++;
      }
    }
    expect(n).toBeGreaterThan(1000);
  }, 120_000);
});

describe('JSON -> XML: the R4 mapping rules', () => {
  // JSON with `_element`s, which @medplum/fhirtypes does not type: the cases are plain objects
  test.each<[string, Record<string, unknown>, string]>([
    [
      'a primitive is a value attribute; its _element the id and extensions',
      {
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'x',
            _name: { id: 'n1', extension: [{ url: 'http://example.org/e', valueString: 'e' }] },
            valueBoolean: false,
          },
        ],
      },
      `<parameter><name id="n1" value="x"><extension url="http://example.org/e"><valueString value="e"/></extension></name><valueBoolean value="false"/></parameter>`,
    ],
    [
      'a primitive with extensions and no value',
      {
        resourceType: 'Parameters',
        parameter: [{ _name: { extension: [{ url: 'http://example.org/absent', valueCode: 'unknown' }] } }],
      },
      `<parameter><name><extension url="http://example.org/absent"><valueCode value="unknown"/></extension></name></parameter>`,
    ],
    [
      'a repeating primitive: the two arrays item by item, null for a missing side',
      {
        resourceType: 'ValueSet',
        status: 'active',
        compose: {
          include: [
            {
              valueSet: ['http://example.org/vs1', 'http://example.org/vs2', null],
              _valueSet: [null, { id: 'v2' }, { extension: [{ url: 'http://example.org/e', valueInteger: 3 }] }],
            },
          ],
        },
      },
      `<status value="active"/><compose><include><valueSet value="http://example.org/vs1"/><valueSet id="v2" value="http://example.org/vs2"/><valueSet><extension url="http://example.org/e"><valueInteger value="3"/></extension></valueSet></include></compose>`,
    ],
    [
      'choice elements by their type; Element.id and Extension.url are attributes; numbers as JSON wrote them',
      {
        resourceType: 'Parameters',
        parameter: [
          { name: 'c', valueCoding: { id: 'c1', system: 'http://example.org/cs', code: 'a' } },
          { name: 'd', valueDecimal: 0.1 },
          { name: 'i', valueInteger: -42 },
          { name: 'q', valueQuantity: { value: 1.5e-7, unit: 'mg' } },
        ],
      },
      `<parameter><name value="c"/><valueCoding id="c1"><system value="http://example.org/cs"/><code value="a"/></valueCoding></parameter><parameter><name value="d"/><valueDecimal value="0.1"/></parameter><parameter><name value="i"/><valueInteger value="-42"/></parameter><parameter><name value="q"/><valueQuantity><value value="1.5e-7"/><unit value="mg"/></valueQuantity></parameter>`,
    ],
    [
      'elements in the order of the definitions, whatever the order of the JSON',
      { resourceType: 'CodeSystem', content: 'complete', status: 'draft', url: 'http://example.org/cs', id: 'x' },
      `<id value="x"/><url value="http://example.org/cs"/><status value="draft"/><content value="complete"/>`,
    ],
    [
      'a resource inside an element: Parameters.parameter.resource, contained, Bundle.entry.resource',
      {
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'r',
            resource: {
              resourceType: 'ValueSet',
              status: 'active',
              contained: [{ resourceType: 'CodeSystem', id: 'c', status: 'active', content: 'not-present' }],
            },
          },
          {
            name: 'b',
            resource: {
              resourceType: 'Bundle',
              type: 'collection',
              entry: [{ resource: { resourceType: 'Parameters' } }],
            },
          },
        ],
      },
      `<parameter><name value="r"/><resource><ValueSet><contained><CodeSystem><id value="c"/><status value="active"/><content value="not-present"/></CodeSystem></contained><status value="active"/></ValueSet></resource></parameter><parameter><name value="b"/><resource><Bundle><type value="collection"/><entry><resource><Parameters/></resource></entry></Bundle></resource></parameter>`,
    ],
    [
      'attribute values escape markup, quotes and the white space a parser would fold',
      { resourceType: 'Parameters', parameter: [{ name: 'a & b < c > "d"\te\nf\r\ng' }] },
      `<parameter><name value="a &amp; b &lt; c &gt; &quot;d&quot;&#9;e&#10;f&#13;&#10;g"/></parameter>`,
    ],
    [
      'the narrative as written, a carriage return as a character reference',
      {
        resourceType: 'CodeSystem',
        text: {
          status: 'generated',
          div: `<div ${XHTML}><p class="a">&quot;Tom &amp; Jerry&quot; &#x2014; x<br/>y\r\nz</p><a name="n"> </a></div>`,
        },
        status: 'active',
        content: 'complete',
      },
      `<text><status value="generated"/><div ${XHTML}><p class="a">&quot;Tom &amp; Jerry&quot; &#x2014; x<br/>y&#13;\nz</p><a name="n"> </a></div></text><status value="active"/><content value="complete"/>`,
    ],
  ])('%s', (_name, json, body) => {
    const resource = json as unknown as Resource;
    const xml = toFhirXml(resource);
    expect(xml).toBe(`${XML_DECL}<${resource.resourceType} ${FHIR}>${body}</${resource.resourceType}>`);
    roundTrip(resource);
  });

  test('a narrative without its namespace gets the XHTML namespace', () => {
    const cs: CodeSystem = {
      resourceType: 'CodeSystem',
      text: { status: 'generated', div: '<div>hi</div>' },
      status: 'active',
      content: 'complete',
    };
    const back = parseFhirXml(toFhirXml(cs)) as CodeSystem;
    expect(back.text?.div).toBe(`<div ${XHTML}>hi</div>`);
  });

  test('_pretty indents two spaces a level, and reads back the same', () => {
    const p: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'x', valueCoding: { code: 'a' } }] };
    expect(toFhirXml(p, true)).toBe(
      `${XML_DECL}\n<Parameters ${FHIR}>\n  <parameter>\n    <name value="x"/>\n    <valueCoding>\n      <code value="a"/>\n    </valueCoding>\n  </parameter>\n</Parameters>\n`,
    );
    roundTrip(p, true);
  });

  test.each<[string, unknown, RegExp]>([
    [
      'an element R4 does not define',
      { resourceType: 'CodeSystem', status: 'active', versionAlgorithmString: 'x' },
      /CodeSystem.versionAlgorithmString is not an element of FHIR R4 CodeSystem/,
    ],
    [
      'a resource type R4 does not define',
      { resourceType: 'ActorDefinition' },
      /ActorDefinition is not a FHIR R4 resource type/,
    ],
    [
      'a string where R4 has a boolean',
      { resourceType: 'CodeSystem', experimental: 'yes' },
      /CodeSystem.experimental is not a boolean/,
    ],
    ['an array where R4 has one', { resourceType: 'CodeSystem', url: ['a', 'b'] }, /CodeSystem.url does not repeat/],
    ['a control character', { resourceType: 'CodeSystem', name: 'a\u0001b' }, /U\+0001, which XML cannot carry/],
    ['an unpaired surrogate', { resourceType: 'CodeSystem', name: 'a\uD800b' }, /unpaired surrogate/],
    [
      'a narrative that is not XML',
      { resourceType: 'CodeSystem', text: { status: 'generated', div: '<div><p></div>' } },
      /not well-formed XHTML/,
    ],
    [
      'a narrative that is not a div',
      { resourceType: 'CodeSystem', text: { status: 'generated', div: '<p>x</p>' } },
      /not a <div> element/,
    ],
    [
      'two narratives',
      { resourceType: 'CodeSystem', text: { status: 'generated', div: '<div/><div/>' } },
      /more than one element/,
    ],
  ])('what XML cannot carry is an error, not a loss: %s', (_name, resource, message) => {
    expect(() => toFhirXml(resource as Resource)).toThrow(XmlWriteError);
    expect(() => toFhirXml(resource as Resource)).toThrow(message);
  });

  test('an answer XML cannot carry is a 406 that points to JSON', () => {
    try {
      serialiseAs('xml', { resourceType: 'CodeSystem', versionAlgorithmString: 'x' } as unknown as Resource, false);
      throw new Error('written');
    } catch (err) {
      expect(err).toBeInstanceOf(OperationOutcomeError);
      expect((err as OperationOutcomeError).status).toBe(406);
      expect((err as OperationOutcomeError).message).toMatch(/cannot be written as FHIR XML.*_format=json/);
    }
  });
});

describe('XML -> JSON', () => {
  test('reads what another writer may write: any element order, comments, CR LF, schemaLocation, prefixes', () => {
    const xml = [
      '<?xml version="1.0" encoding="utf-8"?>\r\n<!-- a comment -->',
      '<f:Parameters xmlns:f="http://hl7.org/fhir" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://hl7.org/fhir x.xsd">\r\n',
      '  <f:parameter>\r\n    <f:valueString value="line 1&#xA;line 2"/><!-- c -->\r\n    <f:name value="n"/>\r\n  </f:parameter>\r\n',
      '  <?pi ignored?>\r\n  <f:parameter><f:name value="b"/><f:valueBoolean value="true"/></f:parameter>\r\n',
      '</f:Parameters>',
    ].join('');
    const p = expectValidFhir<Parameters>(parseFhirXml(xml));
    expect(p).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { valueString: 'line 1\nline 2', name: 'n' },
        { name: 'b', valueBoolean: true },
      ],
    });
  });

  test('a narrative is kept as written (CR LF read as LF, &#13; as CR)', () => {
    const div = `<div ${XHTML}>\r\n<p title='single'>a&#13;b &lt; &#x3C; <b/></p>\n</div>`;
    const cs = parseFhirXml(
      `<CodeSystem ${FHIR}><text><status value="generated"/>${div}</text><status value="active"/><content value="complete"/></CodeSystem>`,
    ) as CodeSystem;
    expect(cs.text?.div).toBe(`<div ${XHTML}>\n<p title='single'>a\rb &lt; &#x3C; <b/></p>\n</div>`);
  });

  test('decimals become JSON numbers (1.50 is 1.5)', () => {
    const p = parseFhirXml(
      `<Parameters ${FHIR}><parameter><name value="d"/><valueDecimal value="1.50"/></parameter></Parameters>`,
    ) as Parameters;
    expect(p.parameter?.[0].valueDecimal).toBe(1.5);
  });

  test.each<[string, string, RegExp]>([
    [
      'a DOCTYPE (no entity is ever declared)',
      `<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><Parameters ${FHIR}>&b;</Parameters>`,
      /holds a DOCTYPE/,
    ],
    ['an external entity', `<!DOCTYPE x SYSTEM "file:///etc/passwd"><Parameters ${FHIR}/>`, /holds a DOCTYPE/],
    [
      'an entity XML does not predefine',
      `<Parameters ${FHIR}><parameter><name value="&nbsp;"/></parameter></Parameters>`,
      /not well-formed XML: Invalid character entity/,
    ],
    ['a tag left open', `<Parameters ${FHIR}><parameter>`, /not well-formed XML: Unclosed root tag/],
    ['two root elements', `<Parameters ${FHIR}/><Parameters ${FHIR}/>`, /more than one root element/],
    ['no element at all', '<!-- nothing -->', /holds no XML element/],
    [
      'another namespace',
      '<Parameters xmlns="urn:x"/>',
      /not a FHIR resource: a resource is in the namespace http:\/\/hl7.org\/fhir/,
    ],
    ['a resource type R4 does not define', `<Requirements ${FHIR}/>`, /Requirements is not a FHIR R4 resource type/],
    [
      'an element R4 does not define',
      `<Parameters ${FHIR}><parameter><nome value="x"/></parameter></Parameters>`,
      /Parameters.parameter.nome is not an element of FHIR R4 Parameters.parameter/,
    ],
    [
      'an attribute R4 does not define',
      `<Parameters ${FHIR}><parameter><name value="x" lang="en"/></parameter></Parameters>`,
      /has no attribute 'lang'/,
    ],
    [
      'an attribute given twice',
      `<Parameters ${FHIR}><parameter><name value="x" value="y"/></parameter></Parameters>`,
      /has an attribute twice/,
    ],
    [
      'text in an element',
      `<Parameters ${FHIR}><parameter>name</parameter></Parameters>`,
      /Unexpected text in Parameters.parameter/,
    ],
    [
      'an element that does not repeat, twice',
      `<Parameters ${FHIR}><parameter><name value="x"/><name value="y"/></parameter></Parameters>`,
      /Parameters.parameter.name is given more than once/,
    ],
    [
      'two choices of one element',
      `<Parameters ${FHIR}><parameter><name value="x"/><valueString value="a"/><valueCode value="b"/></parameter></Parameters>`,
      /valueCode is given more than once/,
    ],
    [
      'a boolean that is not one',
      `<Parameters ${FHIR}><parameter><name value="x"/><valueBoolean value="yes"/></parameter></Parameters>`,
      /'yes' is not a boolean/,
    ],
    [
      'an integer that is not one',
      `<Parameters ${FHIR}><parameter><name value="x"/><valueInteger value="1.5"/></parameter></Parameters>`,
      /'1.5' is not an integer/,
    ],
    [
      'a decimal that is not one',
      `<Parameters ${FHIR}><parameter><name value="x"/><valueDecimal value="NaN"/></parameter></Parameters>`,
      /'NaN' is not a decimal/,
    ],
    [
      'a resource element with no resource',
      `<Parameters ${FHIR}><parameter><name value="x"/><resource/></parameter></Parameters>`,
      /Parameters.parameter.resource holds no resource/,
    ],
    [
      'a resource element with two',
      `<Parameters ${FHIR}><parameter><resource><Parameters/><Parameters/></resource></parameter></Parameters>`,
      /holds more than one resource/,
    ],
    [
      'a narrative outside the XHTML namespace',
      `<CodeSystem ${FHIR}><text><div>x</div></text></CodeSystem>`,
      /CodeSystem.text.div is not in the XHTML namespace/,
    ],
    [
      'a narrative that leans on a prefix declared outside it',
      `<CodeSystem ${FHIR} xmlns:h="http://www.w3.org/1999/xhtml"><text><h:div>x</h:div></text></CodeSystem>`,
      /must declare its namespace itself/,
    ],
    [
      'nesting deeper than a body may',
      `<Parameters ${FHIR}><parameter>${'<part>'.repeat(300)}</Parameters>`,
      /nests deeper than 256 elements/,
    ],
  ])('400 for %s', (_name, xml, message) => {
    const text = refusal(xml);
    expect(text).toMatch(message);
    expect(text).toMatch(/\(line \d+\)$/);
  });

  test('a refusal quotes no more than a short name of the input', () => {
    const text = refusal(`<Parameters ${FHIR}><${'x'.repeat(100_000)}/></Parameters>`);
    expect(text.length).toBeLessThan(300);
  });

  test('a Bundle of every served resource type reads back whole', () => {
    const store = testStore();
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: TX_RESOURCE_TYPES.map((t) => ({ resource: store.all(t)[0] })),
    };
    expectValidFhir(roundTrip(bundle));
  });
});
