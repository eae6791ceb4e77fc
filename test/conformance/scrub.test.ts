import { describe, expect, it } from 'vitest';
import type { Json, JsonObject } from '../../conformance/runner/json.ts';
import { isManagedExtension, scrub, sortResource } from '../../conformance/runner/scrub.ts';

const MSG_ID = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id';
const UNKNOWN = 'http://example.org/StructureDefinition/server-specific';

function scrubbed(v: Json): Json {
  const copy = structuredClone(v);
  scrub(copy);
  return copy;
}

function sorted(v: Json): Json {
  const copy = structuredClone(v);
  sortResource(copy);
  return copy;
}

describe('isManagedExtension', () => {
  const cases: Array<[string | undefined, boolean]> = [
    [MSG_ID, true],
    ['http://hl7.org/fhir/StructureDefinition/valueset-unclosed', true],
    ['http://hl7.org/fhir/StructureDefinition/codesystem-label', true],
    ['http://hl7.org/fhir/StructureDefinition/rendering-xhtml', true],
    ['http://hl7.org/fhir/StructureDefinition/alternate-code-use', true],
    ['http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status', true],
    ['http://hl7.org/fhir/test/StructureDefinition/unknown-extension-4', true],
    ['http://hl7.org/fhir/test/StructureDefinition/unknown-extension-2', false],
    ['http://hl7.org/fhir/StructureDefinition/valueset-expansionSource', false],
    [UNKNOWN, false],
    ['code', true], // relative: sub-extension
    [undefined, true],
  ];
  it.each(cases)('%s -> %s', (url, kept) => expect(isManagedExtension(url)).toBe(kept));
});

describe('scrub', () => {
  it('drops text and meta of every resource, nested ones too', () => {
    const r = scrubbed({
      resourceType: 'Parameters',
      meta: { versionId: '1' },
      parameter: [
        { name: 'issues', resource: { resourceType: 'OperationOutcome', text: { div: '<div/>' }, issue: [] } },
        { name: 'x', valueCodeableConcept: { text: 'kept: not a resource' } },
      ],
    });
    expect(r).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'issues', resource: { resourceType: 'OperationOutcome', issue: [] } },
        { name: 'x', valueCodeableConcept: { text: 'kept: not a resource' } },
      ],
    });
  });

  it('drops the Parameters diagnostics parameter', () => {
    const r = scrubbed({
      resourceType: 'Parameters',
      parameter: [
        { name: 'result', valueBoolean: true },
        { name: 'diagnostics', valueString: 'took 3 ms' },
      ],
    });
    expect(r).toEqual({ resourceType: 'Parameters', parameter: [{ name: 'result', valueBoolean: true }] });
  });

  it('drops diagnostics-only issues and blanks the remaining diagnostics', () => {
    const r = scrubbed({
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'error', code: 'not-found', details: { text: 'gone' }, diagnostics: 'stack trace' },
        { severity: 'information', code: 'informational', diagnostics: 'X-Request-Id: a' },
      ],
    });
    expect(r).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-found', details: { text: 'gone' } }],
    });
  });

  it('drops unmanaged extensions everywhere but ValueSet.compose', () => {
    const r = scrubbed({
      resourceType: 'ValueSet',
      extension: [{ url: UNKNOWN, valueString: 'x' }],
      compose: {
        include: [{ system: 's', concept: [{ code: 'a', extension: [{ url: UNKNOWN, valueString: 'kept' }] }] }],
      },
      expansion: {
        contains: [
          {
            code: 'a',
            extension: [
              { url: UNKNOWN, valueString: 'x' },
              { url: 'http://hl7.org/fhir/StructureDefinition/itemWeight', valueDecimal: 1 },
            ],
            _display: { extension: [{ url: UNKNOWN, valueString: 'x' }] },
          },
        ],
      },
    });
    expect(r).toEqual({
      resourceType: 'ValueSet',
      compose: {
        include: [{ system: 's', concept: [{ code: 'a', extension: [{ url: UNKNOWN, valueString: 'kept' }] }] }],
      },
      expansion: {
        contains: [
          {
            code: 'a',
            extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/itemWeight', valueDecimal: 1 }],
          },
        ],
      },
    });
  });

  it('keeps the message-id extension on issues inside Parameters', () => {
    const issue: JsonObject = { severity: 'error', code: 'invalid', extension: [{ url: MSG_ID, valueString: 'X' }] };
    const r = scrubbed({
      resourceType: 'Parameters',
      parameter: [{ name: 'issues', resource: { resourceType: 'OperationOutcome', issue: [issue] } }],
    });
    expect(r).toEqual({
      resourceType: 'Parameters',
      parameter: [{ name: 'issues', resource: { resourceType: 'OperationOutcome', issue: [issue] } }],
    });
  });

  it('leaves CapabilityStatement and TerminologyCapabilities alone', () => {
    const cs = { resourceType: 'CapabilityStatement', text: { div: 'x' }, extension: [{ url: UNKNOWN }] };
    expect(scrubbed(cs)).toEqual(cs);
    const tc = { resourceType: 'TerminologyCapabilities', meta: { v: 1 } };
    expect(scrubbed(tc)).toEqual(tc);
  });
});

describe('sortResource', () => {
  it('sorts Parameters by name, parts too, and stably', () => {
    const r = sorted({
      resourceType: 'Parameters',
      parameter: [
        { name: 'system', valueUri: 's' },
        { name: 'match', part: [{ name: 'relationship' }, { name: 'concept' }] },
        { name: 'match', part: [{ name: 'equivalence' }] },
        { name: 'code', valueCode: 'c' },
      ],
    });
    expect(r).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'code', valueCode: 'c' },
        { name: 'match', part: [{ name: 'concept' }, { name: 'relationship' }] },
        { name: 'match', part: [{ name: 'equivalence' }] },
        { name: 'system', valueUri: 's' },
      ],
    });
  });

  it('sorts property parameters by code then value (case-insensitive)', () => {
    const prop = (code: string, value: string): Json => ({
      name: 'property',
      part: [
        { name: 'code', valueCode: code },
        { name: 'value', valueString: value },
      ],
    });
    const r = sorted({
      resourceType: 'Parameters',
      parameter: [prop('parent', 'b'), prop('child', 'z'), prop('parent', 'A')],
    });
    expect(r).toEqual({
      resourceType: 'Parameters',
      parameter: [prop('child', 'z'), prop('parent', 'A'), prop('parent', 'b')],
    });
  });

  it('sorts designation parameters by language then value', () => {
    const des = (lang: string, value: string): Json => ({
      name: 'designation',
      part: [
        { name: 'language', valueCode: lang },
        { name: 'value', valueString: value },
      ],
    });
    const r = sorted({ resourceType: 'Parameters', parameter: [des('en', 'b'), des('de', 'z'), des('en', 'a')] });
    expect(r).toEqual({ resourceType: 'Parameters', parameter: [des('de', 'z'), des('en', 'a'), des('en', 'b')] });
  });

  it('sorts the parts of a message holding "; "', () => {
    const r = sorted({ resourceType: 'Parameters', parameter: [{ name: 'message', valueString: 'Zeta; Alpha; Mid' }] });
    expect(r).toEqual({
      resourceType: 'Parameters',
      parameter: [{ name: 'message', valueString: 'Alpha; Mid; Zeta' }],
    });
  });

  it('sorts OperationOutcome issues by severity, code, expression, details.text', () => {
    const i = (severity: string, code: string, expr: string, text: string): Json => ({
      severity,
      code,
      expression: [expr],
      details: { text },
    });
    const r = sorted({
      resourceType: 'OperationOutcome',
      issue: [
        i('warning', 'invalid', 'a', 't'),
        i('error', 'processing', 'a', 't'),
        i('error', 'invalid', 'b', 't'),
        i('error', 'invalid', 'a', 'u'),
        i('error', 'invalid', 'a', 't'),
      ],
    });
    expect(r).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        i('error', 'invalid', 'a', 't'),
        i('error', 'invalid', 'a', 'u'),
        i('error', 'invalid', 'b', 't'),
        i('error', 'processing', 'a', 't'),
        i('warning', 'invalid', 'a', 't'),
      ],
    });
  });

  it('sorts issues nested in Parameters and nested Parameters (batch)', () => {
    const r = sorted({
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'validation',
          resource: {
            resourceType: 'Parameters',
            parameter: [
              { name: 'result', valueBoolean: true },
              { name: 'code', valueCode: 'c' },
            ],
          },
        },
      ],
    });
    expect(r).toEqual({
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'validation',
          resource: {
            resourceType: 'Parameters',
            parameter: [
              { name: 'code', valueCode: 'c' },
              { name: 'result', valueBoolean: true },
            ],
          },
        },
      ],
    });
  });

  it('sorts ValueSet expansion parameters, properties and contains (recursively)', () => {
    const r = sorted({
      resourceType: 'ValueSet',
      expansion: {
        parameter: [
          { name: 'used-codesystem', valueUri: 'b' },
          { name: 'excludeNested', valueBoolean: true },
          { name: 'used-codesystem', valueUri: 'a' },
        ],
        property: [
          { code: 'prop', uri: 'http://hl7.org/fhir/test/p' },
          { code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status' },
        ],
        contains: [
          {
            code: 'b',
            property: [
              { code: 'status', valueCode: 'x' },
              { code: 'prop', valueCode: 'y' },
            ],
            contains: [{ code: 'b2' }, { code: 'b1' }],
          },
          {
            code: 'a',
            designation: [
              { language: 'es', value: 'x' },
              { language: 'en', value: 'z' },
              { language: 'en', value: 'a' },
            ],
          },
        ],
      },
    });
    expect(r).toEqual({
      resourceType: 'ValueSet',
      expansion: {
        parameter: [
          { name: 'excludeNested', valueBoolean: true },
          { name: 'used-codesystem', valueUri: 'a' },
          { name: 'used-codesystem', valueUri: 'b' },
        ],
        property: [
          { code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status' },
          { code: 'prop', uri: 'http://hl7.org/fhir/test/p' },
        ],
        contains: [
          {
            code: 'a',
            // same-language designations keep their order (reference runner)
            designation: [
              { language: 'en', value: 'z' },
              { language: 'en', value: 'a' },
              { language: 'es', value: 'x' },
            ],
          },
          {
            code: 'b',
            property: [
              { code: 'prop', valueCode: 'y' },
              { code: 'status', valueCode: 'x' },
            ],
            contains: [{ code: 'b1' }, { code: 'b2' }],
          },
        ],
      },
    });
  });

  it('sorts by UTF-16 code units, not locale (uppercase before lowercase)', () => {
    const r = sorted({
      resourceType: 'ValueSet',
      expansion: { contains: [{ code: 'a' }, { code: 'B' }, { code: '_' }] },
    });
    expect(r).toEqual({
      resourceType: 'ValueSet',
      expansion: { contains: [{ code: 'B' }, { code: '_' }, { code: 'a' }] },
    });
  });
});
