import type { Resource } from '@medplum/fhirtypes';
import { divForXml } from './xhtml.ts';
import { NUMBER_TYPES, type XmlElement, type XmlModel, type XmlType, xmlModel } from './xml-model.ts';

/**
 * FHIR JSON -> FHIR XML (R4 xml.html, json.html), driven by the R4 element model (xml-model.ts):
 * - elements in the order of the definitions, a JSON array as the element repeated;
 * - a primitive as `<name value=".."/>`, its `_name` (id, extensions) as the id attribute and
 *   extension children; a repeating primitive's two arrays joined item by item (a null in either
 *   is an item without a value or without extensions);
 * - `Element.id` and `Extension.url` as attributes; `valueString`, `valueCoding` ... as named;
 * - a resource inside an element (`resource`, `contained`) wrapped in its element;
 * - the narrative div as its XHTML (xhtml.ts).
 * Content FHIR R4 does not define (an element of a later version, a JSON type that does not fit)
 * cannot be written and throws an XmlWriteError, rather than be dropped without a word.
 */

export const FHIR_NS = 'http://hl7.org/fhir';

/** The content has no FHIR R4 XML form. */
export class XmlWriteError extends Error {}

/** `resource` as a FHIR XML document; `pretty` indents it (two spaces a level). */
export function toFhirXml(resource: Resource, pretty = false): string {
  const w = new Writer(xmlModel(), pretty);
  w.out.push('<?xml version="1.0" encoding="UTF-8"?>', pretty ? '\n' : '');
  w.resource(resource, 0, ` xmlns="${FHIR_NS}"`);
  return w.out.join('');
}

class Writer {
  readonly out: string[] = [];
  private readonly model: XmlModel;
  private readonly pretty: boolean;

  constructor(model: XmlModel, pretty: boolean) {
    this.model = model;
    this.pretty = pretty;
  }

  resource(value: unknown, depth: number, rootAttributes = ''): void {
    const type = isObject(value) ? value.resourceType : undefined;
    if (typeof type !== 'string' || !this.model.resources.has(type)) {
      throw new XmlWriteError(
        typeof type === 'string' ? `${short(type)} is not a FHIR R4 resource type` : 'a resource has no resourceType',
      );
    }
    this.complex(type, value as Record<string, unknown>, this.type(type), depth, type, rootAttributes);
  }

  /** A complex value (datatype, backbone element, resource) as element `tag`. */
  private complex(tag: string, value: unknown, type: XmlType, depth: number, path: string, extraAttributes = ''): void {
    if (!isObject(value)) throw new XmlWriteError(`${path} is not a JSON object`);
    const elements = this.elementsOf(value, type, path);
    let attributes = extraAttributes;
    let hasChildren = false;
    for (const el of elements) {
      if (!el.attribute) {
        hasChildren = true;
        continue;
      }
      const v = value[el.name];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string') throw new XmlWriteError(`${path}.${el.name} is not a string`);
      attributes += ` ${el.name}="${escapeAttribute(v, path)}"`;
    }
    const indent = this.indent(depth);
    if (!hasChildren) {
      this.out.push(indent, '<', tag, attributes, '/>', this.newline());
      return;
    }
    this.out.push(indent, '<', tag, attributes, '>', this.newline());
    for (const el of elements) {
      if (!el.attribute) this.element(el, value, depth + 1, `${path}.${el.name}`);
    }
    this.out.push(indent, '</', tag, '>', this.newline());
  }

  /** The elements `value` holds, in the order XML writes them; throws for a property FHIR R4 does not define here. */
  private elementsOf(value: Record<string, unknown>, type: XmlType, path: string): XmlElement[] {
    const found: XmlElement[] = [];
    for (const key of Object.keys(value)) {
      if (key === 'resourceType' && this.model.resources.has(type.name)) continue;
      const extension = key.startsWith('_');
      const el = type.elements.get(extension ? key.slice(1) : key);
      if (el === undefined || (extension && el.kind !== 'primitive')) {
        throw new XmlWriteError(`${path}.${short(key)} is not an element of FHIR R4 ${type.name}`);
      }
      // `code` and `_code` are one element
      if (extension && value[el.name] !== undefined) continue;
      found.push(el);
    }
    return found.sort((a, b) => a.order - b.order);
  }

  private element(el: XmlElement, parent: Record<string, unknown>, depth: number, path: string): void {
    const value = parent[el.name];
    const ext = el.kind === 'primitive' ? parent[`_${el.name}`] : undefined;
    if (!el.array) {
      if (Array.isArray(value) || Array.isArray(ext)) throw new XmlWriteError(`${path} does not repeat`);
      this.one(el, value, ext, depth, path);
      return;
    }
    if ((value !== undefined && !Array.isArray(value)) || (ext !== undefined && ext !== null && !Array.isArray(ext))) {
      throw new XmlWriteError(`${path} repeats: it must be an array`);
    }
    const values = (value ?? []) as unknown[];
    const exts = (ext ?? []) as unknown[];
    const n = Math.max(values.length, exts.length);
    for (let i = 0; i < n; i++) this.one(el, values[i], exts[i], depth, path);
  }

  /** One occurrence of an element. */
  private one(el: XmlElement, value: unknown, ext: unknown, depth: number, path: string): void {
    switch (el.kind) {
      case 'primitive':
        this.primitive(el, value, ext, depth, path);
        return;
      case 'complex':
        if (value === undefined || value === null) return;
        this.complex(el.name, value, this.type(el.type), depth, path);
        return;
      case 'resource': {
        if (value === undefined || value === null) return;
        const indent = this.indent(depth);
        this.out.push(indent, '<', el.name, '>', this.newline());
        this.resource(value, depth + 1);
        this.out.push(indent, '</', el.name, '>', this.newline());
        return;
      }
      case 'xhtml': {
        if (value === undefined || value === null) return;
        if (typeof value !== 'string') throw new XmlWriteError(`${path} is not a string`);
        let div: string;
        try {
          div = divForXml(value);
        } catch (err) {
          throw new XmlWriteError(`${path}: ${(err as Error).message}`);
        }
        this.out.push(this.indent(depth), div, this.newline());
        return;
      }
    }
  }

  private primitive(el: XmlElement, value: unknown, ext: unknown, depth: number, path: string): void {
    if ((value === undefined || value === null) && (ext === undefined || ext === null)) return;
    let attributes = '';
    let extensions: unknown;
    if (ext !== undefined && ext !== null) {
      if (!isObject(ext)) throw new XmlWriteError(`_${path} is not a JSON object`);
      for (const key of Object.keys(ext)) {
        if (key !== 'id' && key !== 'extension') {
          throw new XmlWriteError(`_${path}.${short(key)}: a primitive holds only id and extension`);
        }
      }
      if (ext.id !== undefined) {
        if (typeof ext.id !== 'string') throw new XmlWriteError(`_${path}.id is not a string`);
        attributes += ` id="${escapeAttribute(ext.id, path)}"`;
      }
      extensions = ext.extension;
    }
    if (value !== undefined && value !== null) {
      attributes += ` value="${escapeAttribute(primitiveText(el, value, path), path)}"`;
    }
    const indent = this.indent(depth);
    if (extensions === undefined || (Array.isArray(extensions) && extensions.length === 0)) {
      this.out.push(indent, '<', el.name, attributes, '/>', this.newline());
      return;
    }
    this.out.push(indent, '<', el.name, attributes, '>', this.newline());
    const element = this.type('Element');
    this.element(
      element.elements.get('extension') as XmlElement,
      { extension: extensions },
      depth + 1,
      `${path}.extension`,
    );
    this.out.push(indent, '</', el.name, '>', this.newline());
  }

  private type(name: string): XmlType {
    const t = this.model.types.get(name);
    if (!t) throw new XmlWriteError(`${short(name)} is not a FHIR R4 type`);
    return t;
  }

  private indent(depth: number): string {
    return this.pretty ? '  '.repeat(depth) : '';
  }

  private newline(): string {
    return this.pretty ? '\n' : '';
  }
}

/** A primitive's value as its XML text: JSON numbers and booleans where the type has them, strings for the rest. */
function primitiveText(el: XmlElement, value: unknown, path: string): string {
  if (el.type === 'boolean') {
    if (typeof value !== 'boolean') throw new XmlWriteError(`${path} is not a boolean`);
    return value ? 'true' : 'false';
  }
  if (NUMBER_TYPES.has(el.type)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new XmlWriteError(`${path} is not a number`);
    return String(value);
  }
  if (typeof value !== 'string') throw new XmlWriteError(`${path} is not a string`);
  return value;
}

/** Characters an attribute value escapes; and those XML 1.0 cannot carry at all (§2.2), with lone surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters XML escapes or cannot carry
const ATTRIBUTE_SPECIAL = /[\u0000-\u001F&<>"\uD800-\uDFFF\uFFFE\uFFFF]/;
const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  // a parser reads a literal tab or line end in an attribute as a space (XML 1.0 §3.3.3)
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

function escapeAttribute(s: string, path: string): string {
  if (!ATTRIBUTE_SPECIAL.test(s)) return s;
  if (!s.isWellFormed()) throw new XmlWriteError(`${path} holds an unpaired surrogate, which XML cannot carry`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters XML escapes or cannot carry
  return s.replace(/[\u0000-\u001F&<>"\uFFFE\uFFFF]/g, (c) => {
    const escaped = ATTRIBUTE_ESCAPES[c];
    if (escaped === undefined) {
      const code = c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
      throw new XmlWriteError(`${path} holds the character U+${code}, which XML cannot carry`);
    }
    return escaped;
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function short(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}
