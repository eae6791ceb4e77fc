import type { ValueSet, ValueSetExpansionContains } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { CONTAINS_PROPERTY_EXT, EXPANSION_PROPERTY_EXT, expandValueSet } from '../../src/terminology/expand.ts';
import { fixtureContext, TREE, valueSet } from './expand-fixtures.ts';

/**
 * R5 ValueSet.compose.property: "A property to return in the expansion, if the client doesn't ask
 * for any particular properties. May be either a code from the code system definition (convenient)
 * or the formal URI that refers to the property." In R4 it travels as the cross-version extension,
 * whose value is a string.
 */

const COMPOSE_PROPERTY = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.compose.property';
const COLOUR_URI = 'http://example.org/colour';
const DEFINITION_URI = 'http://hl7.org/fhir/concept-properties#definition';

/** Every property an expanded code carries, except the status the IG always reports. */
function carried(vs: ValueSet, code: string): Record<string, unknown> {
  const walk = (list: ValueSetExpansionContains[] | undefined): ValueSetExpansionContains | undefined => {
    for (const c of list ?? []) {
      if (c.code === code) return c;
      const inner = walk(c.contains);
      if (inner) return inner;
    }
    return undefined;
  };
  const c = walk(vs.expansion?.contains);
  if (!c) throw new Error(`${code} is not in the expansion`);
  const out: Record<string, unknown> = {};
  for (const e of c.extension ?? []) {
    if (e.url !== CONTAINS_PROPERTY_EXT) continue;
    const name = e.extension?.find((x) => x.url === 'code')?.valueCode ?? '?';
    const value = e.extension?.find((x) => x.url === 'value');
    if (name !== 'status' && value) out[name] = value.valueCode ?? value.valueString ?? value.valueBoolean;
  }
  return out;
}

/** The codes declared in expansion.property, with their URIs. */
function declaredCodes(vs: ValueSet): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const e of vs.expansion?.extension ?? []) {
    if (e.url !== EXPANSION_PROPERTY_EXT) continue;
    const code = e.extension?.find((x) => x.url === 'code')?.valueCode;
    if (code) out[code] = e.extension?.find((x) => x.url === 'uri')?.valueUri;
  }
  return out;
}

function withComposeProperties(id: string, names: string[], form: 'r5' | 'extension'): ValueSet {
  const compose: ValueSet['compose'] & { property?: string[] } = { include: [{ system: TREE }] };
  if (form === 'r5') compose.property = names;
  else compose.extension = names.map((n) => ({ url: COMPOSE_PROPERTY, valueString: n }));
  return valueSet(id, compose);
}

describe('ValueSet.compose.property', () => {
  const ctx = fixtureContext();

  test.each<['r5' | 'extension']>([['r5'], ['extension']])(
    'the properties it names by code are returned when the client names none (%s form)',
    (form) => {
      const result = expandValueSet(ctx, withComposeProperties(`cp-${form}`, ['colour', 'definition'], form), {});
      expect(carried(result, 'root1')).toEqual({ colour: 'red', definition: 'The first root' });
      expect(carried(result, 'child2b')).toEqual({ colour: 'red' });
      expect(carried(result, 'root3')).toEqual({});
      expect(declaredCodes(result)).toMatchObject({ colour: COLOUR_URI, definition: DEFINITION_URI });
    },
  );

  test('a property named by its URI is returned under the code system code', () => {
    const vs = withComposeProperties('cp-uri', [COLOUR_URI, DEFINITION_URI], 'extension');
    const result = expandValueSet(ctx, vs, {});
    expect(carried(result, 'root1')).toEqual({ colour: 'red', definition: 'The first root' });
    expect(declaredCodes(result)).toMatchObject({ colour: COLOUR_URI });
  });

  test('the property parameter of the request replaces the value set list', () => {
    const vs = withComposeProperties('cp-override', ['colour'], 'r5');
    const result = expandValueSet(ctx, vs, { properties: ['definition'] });
    expect(carried(result, 'root1')).toEqual({ definition: 'The first root' });
    expect(declaredCodes(result).colour).toBeUndefined();
  });

  test('the property parameter may name a property by its URI too', () => {
    const result = expandValueSet(ctx, valueSet('cp-none', { include: [{ system: TREE }] }), {
      properties: [COLOUR_URI],
    });
    expect(carried(result, 'child2a')).toEqual({ colour: 'blue' });
  });

  test('without either, no property other than the status is returned', () => {
    const result = expandValueSet(ctx, valueSet('cp-plain', { include: [{ system: TREE }] }), {});
    expect(carried(result, 'root1')).toEqual({});
  });
});

describe("the value set's own expansion parameters (valueset-expansion-parameter)", () => {
  const ctx = fixtureContext();
  const own = (name: string, value: Record<string, unknown>) => ({
    url: 'http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter',
    extension: [
      { url: 'name', valueCode: name },
      { url: 'value', ...value },
    ],
  });
  const codes = (vs: ValueSet): string[] => {
    const out: string[] = [];
    const walk = (list: ValueSetExpansionContains[] | undefined): void => {
      for (const c of list ?? []) {
        out.push(c.code as string);
        walk(c.contains);
      }
    };
    walk(vs.expansion?.contains);
    return out.sort();
  };

  test('apply to $expand as defaults: activeOnly leaves the retired code out, and is echoed', () => {
    const vs = valueSet(
      'own-active',
      { include: [{ system: TREE }] },
      { extension: [own('activeOnly', { valueBoolean: true })] },
    );
    const result = expandValueSet(ctx, vs, {});
    expect(codes(result)).not.toContain('root2');
    expect(result.expansion?.parameter).toContainEqual({ name: 'activeOnly', valueBoolean: true });
  });

  test("the extension's earlier URL (HL7 tools IG) is read too", () => {
    const tools = {
      ...own('activeOnly', { valueBoolean: true }),
      url: 'http://hl7.org/fhir/tools/StructureDefinition/valueset-expansion-parameter',
    };
    const vs = valueSet('own-tools', { include: [{ system: TREE }], extension: [tools] });
    expect(codes(expandValueSet(ctx, vs, {}))).not.toContain('root2');
  });

  test("a parameter of the request overrides the value set's", () => {
    const vs = valueSet(
      'own-override',
      { include: [{ system: TREE }] },
      { extension: [own('activeOnly', { valueBoolean: true })] },
    );
    expect(codes(expandValueSet(ctx, vs, { activeOnly: false }))).toContain('root2');
  });
});
