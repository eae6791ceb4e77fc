import type { Resource } from '@medplum/fhirtypes';
import sax from 'sax';
import { badRequest, type OperationOutcomeError } from './outcome.ts';
import { MAX_JSON_DEPTH } from './resource-schemas.ts';
import { divFromXml, XHTML_NS } from './xhtml.ts';
import { NUMBER_TYPES, type XmlElement, type XmlModel, type XmlType, xmlModel } from './xml-model.ts';
import { FHIR_NS } from './xml-write.ts';

/**
 * FHIR XML -> FHIR JSON (R4 xml.html, json.html): the inverse of xml-write.ts, driven by the same
 * element model. The text is parsed by sax (strict: well-formed XML 1.0 with namespaces). What the
 * parse refuses, each a 400 OperationOutcome that names the problem and its line, never quoting
 * more than a name of the input:
 * - a DOCTYPE (FHIR XML has none: xml.html#1.17.1), so no entity is ever declared or expanded
 *   (no "billion laughs", no external entity); only XML's five predefined entities and character
 *   references are read;
 * - an element or attribute FHIR R4 does not define where it stands, text where FHIR has none, an
 *   element given twice that does not repeat, a value that is not of its type (a boolean that is
 *   not `true` or `false`, a number that is not one);
 * - nesting deeper than the JSON bodies may nest (MAX_JSON_DEPTH).
 * Elements are read in any order (a writer should keep the definitions' order; reading does not
 * need it). Comments and processing instructions are skipped. A decimal becomes a JSON number,
 * as FHIR JSON has it, so `1.50` reads as 1.5.
 */

// sax stops at 64 KiB in one attribute value (a FHIR string may hold 1 MiB); the body limit
// (MAX_BODY_BYTES) bounds every buffer of a parse already
(sax as unknown as { MAX_BUFFER_LENGTH: number }).MAX_BUFFER_LENGTH = 256 * 1024 * 1024;

/** Parses a FHIR XML document into the resource as FHIR JSON has it. Throws a 400 OperationOutcomeError. */
export function parseFhirXml(text: string): Resource {
  return new Reader(xmlModel(), text).read();
}

/** An element being read: a resource or complex value, a primitive's extensions, a resource's wrapper, or a narrative. */
type Frame =
  | {
      kind: 'complex';
      type: XmlType;
      obj: Record<string, unknown>;
      path: string;
      /** how the finished value is put into its parent (absent for the root resource) */
      done?: (value: Record<string, unknown>) => void;
      /** the non-repeating elements already given */
      given: Set<number>;
      /** the repeating primitives: their values and `_` items, aligned */
      lists?: Map<XmlElement, { values: unknown[]; exts: unknown[] }>;
    }
  | { kind: 'wrapper'; el: XmlElement; parent: ComplexFrame; path: string; resource?: Record<string, unknown> }
  | { kind: 'xhtml'; el: XmlElement; parent: ComplexFrame; path: string; start: number; depth: number; own: boolean };

type ComplexFrame = Extract<Frame, { kind: 'complex' }>;

class Reader {
  private readonly model: XmlModel;
  private readonly text: string;
  private readonly parser: sax.SAXParser;
  private readonly stack: Frame[] = [];
  private result?: Record<string, unknown>;
  /** attributes counted while a start tag is read (sax keeps the last of two of the same name) */
  private attributeCount = 0;

  constructor(model: XmlModel, text: string) {
    this.model = model;
    // XML 1.0 §2.11: CR LF and a lone CR are read as LF (sax does not), before anything else
    this.text = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
    this.parser = sax.parser(true, { xmlns: true, position: true, strictEntities: true } as sax.SAXOptions);
  }

  read(): Resource {
    const p = this.parser;
    p.onerror = (err) => {
      throw this.fail(`Request body is not well-formed XML: ${err.message.split('\n')[0]}`);
    };
    p.ondoctype = () => {
      throw this.fail('Request body holds a DOCTYPE: FHIR XML has none (no DTDs, no entity declarations)');
    };
    p.onopentagstart = () => {
      this.attributeCount = 0;
    };
    p.onattribute = () => {
      this.attributeCount++;
    };
    p.onopentag = (tag) => this.open(tag as sax.QualifiedTag);
    p.onclosetag = () => this.close();
    p.ontext = (t) => this.characters(t);
    p.oncdata = (t) => this.characters(t);
    p.write(this.text).close();
    if (this.result === undefined) throw this.fail('Request body holds no XML element');
    return this.result as unknown as Resource;
  }

  private open(tag: sax.QualifiedTag): void {
    if (Object.keys(tag.attributes).length !== this.attributeCount) {
      throw this.fail(`Element <${short(tag.name)}> has an attribute twice`);
    }
    const top = this.stack.at(-1);
    if (top?.kind === 'xhtml') {
      top.depth++;
      if (!selfContained(tag)) top.own = false;
      return;
    }
    if (this.stack.length >= MAX_JSON_DEPTH) throw this.fail(`XML nests deeper than ${MAX_JSON_DEPTH} elements`);
    if (top === undefined) {
      if (this.result !== undefined) throw this.fail('Request body holds more than one root element');
      this.openResource(tag, (resource) => {
        this.result = resource;
      });
      return;
    }
    if (top.kind === 'wrapper') {
      if (top.resource !== undefined) throw this.fail(`${top.path} holds more than one resource`);
      this.openResource(tag, (resource) => {
        top.resource = resource;
      });
      return;
    }
    this.openChild(top, tag);
  }

  /** A resource: the root element, or the one child of `resource`/`contained`. */
  private openResource(tag: sax.QualifiedTag, done: (resource: Record<string, unknown>) => void): void {
    if (tag.uri !== FHIR_NS) {
      throw this.fail(`Element <${short(tag.name)}> is not a FHIR resource: a resource is in the namespace ${FHIR_NS}`);
    }
    if (!this.model.resources.has(tag.local)) throw this.fail(`${short(tag.local)} is not a FHIR R4 resource type`);
    const type = this.type(tag.local);
    this.attributes(tag, type, {}, tag.local, false);
    this.stack.push({
      kind: 'complex',
      type,
      obj: { resourceType: tag.local },
      path: tag.local,
      done,
      given: new Set(),
    });
  }

  private openChild(parent: ComplexFrame, tag: sax.QualifiedTag): void {
    const path = `${parent.path}.${short(tag.local)}`;
    const el = parent.type.elements.get(tag.local);
    if (el === undefined || el.attribute) throw this.fail(`${path} is not an element of FHIR R4 ${parent.type.name}`);
    if (el.kind === 'xhtml') {
      if (tag.uri !== XHTML_NS) throw this.fail(`${path} is not in the XHTML namespace (${XHTML_NS})`);
      // the div as written, from its `<`: it is carried as text (xhtml.ts)
      const own = tag.prefix === '' && tag.attributes.xmlns !== undefined && selfContained(tag);
      this.stack.push({ kind: 'xhtml', el, parent, path, start: this.parser.startTagPosition - 1, depth: 0, own });
      return;
    }
    if (tag.uri !== FHIR_NS) throw this.fail(`${path} is not in the FHIR namespace (${FHIR_NS})`);
    this.claim(parent, el, path);
    if (el.kind === 'resource') {
      this.attributes(tag, undefined, {}, path, false);
      this.stack.push({ kind: 'wrapper', el, parent, path });
      return;
    }
    if (el.kind === 'primitive') {
      // the value is an attribute; the id and the extensions are the `_name` of JSON
      const ext: Record<string, unknown> = {};
      const value = this.attributes(tag, this.type('Element'), ext, path, true);
      const parsed = value === undefined ? undefined : primitiveValue(el, value, (m) => this.fail(`${path}: ${m}`));
      this.stack.push({
        kind: 'complex',
        type: this.type('Element'),
        obj: ext,
        path,
        given: new Set(),
        done: (extObj) => this.putPrimitive(parent, el, parsed, Object.keys(extObj).length > 0 ? extObj : undefined),
      });
      return;
    }
    const type = this.type(el.type);
    const obj: Record<string, unknown> = {};
    this.attributes(tag, type, obj, path, false);
    this.stack.push({ kind: 'complex', type, obj, path, given: new Set(), done: (v) => put(parent, el, v) });
  }

  /**
   * The attributes of a FHIR element: those `type` defines as attributes go into `into`; `value`
   * is returned when `primitive`. Namespace declarations and attributes of other namespaces
   * (xsi:schemaLocation ...) are skipped; any other is refused.
   */
  private attributes(
    tag: sax.QualifiedTag,
    type: XmlType | undefined,
    into: Record<string, unknown>,
    path: string,
    primitive: boolean,
  ): string | undefined {
    let value: string | undefined;
    for (const a of Object.values(tag.attributes)) {
      if (a.name === 'xmlns' || a.prefix === 'xmlns' || a.uri !== '') continue;
      if (primitive && a.local === 'value') {
        value = a.value;
        continue;
      }
      const el = type?.elements.get(a.local);
      if (el === undefined || !el.attribute) throw this.fail(`${path} has no attribute '${short(a.local)}' in FHIR R4`);
      into[el.name] = a.value;
    }
    return value;
  }

  private close(): void {
    const top = this.stack.at(-1);
    if (top === undefined) return;
    if (top.kind === 'xhtml') {
      if (top.depth > 0) {
        top.depth--;
        return;
      }
      this.stack.pop();
      if (!top.own) {
        throw this.fail(
          `${top.path} must declare its namespace itself (<div xmlns="${XHTML_NS}">) and use no prefix declared outside it`,
        );
      }
      this.claim(top.parent, top.el, top.path);
      put(top.parent, top.el, divFromXml(this.text.slice(top.start, this.parser.position)));
      return;
    }
    this.stack.pop();
    if (top.kind === 'wrapper') {
      if (top.resource === undefined) throw this.fail(`${top.path} holds no resource`);
      put(top.parent, top.el, top.resource);
      return;
    }
    // the repeating primitives, now that all their items are known
    for (const [el, { values, exts }] of top.lists ?? []) {
      if (values.some((v) => v !== null)) top.obj[el.name] = values;
      if (exts.some((e) => e !== null)) top.obj[`_${el.name}`] = exts;
    }
    top.done?.(top.obj);
  }

  private characters(t: string): void {
    const top = this.stack.at(-1);
    if (top?.kind === 'xhtml') return;
    if (/\S/.test(t)) throw this.fail(`Unexpected text in ${top?.path ?? 'the document'}: FHIR elements hold no text`);
  }

  /** Marks a non-repeating element (or choice element) as given; a second time is an error. */
  private claim(parent: ComplexFrame, el: XmlElement, path: string): void {
    if (el.array) return;
    if (parent.given.has(el.order)) throw this.fail(`${path} is given more than once, but does not repeat`);
    parent.given.add(el.order);
  }

  private putPrimitive(parent: ComplexFrame, el: XmlElement, value: unknown, ext: unknown): void {
    if (!el.array) {
      if (value !== undefined) parent.obj[el.name] = value;
      if (ext !== undefined) parent.obj[`_${el.name}`] = ext;
      return;
    }
    parent.lists ??= new Map();
    let list = parent.lists.get(el);
    if (!list) {
      list = { values: [], exts: [] };
      parent.lists.set(el, list);
    }
    list.values.push(value ?? null);
    list.exts.push(ext ?? null);
  }

  private type(name: string): XmlType {
    const t = this.model.types.get(name);
    if (!t) throw this.fail(`${short(name)} is not a FHIR R4 type`);
    return t;
  }

  private fail(message: string): OperationOutcomeError {
    return badRequest(
      `${message.length > 300 ? `${message.slice(0, 300)}...` : message} (line ${this.parser.line + 1})`,
    );
  }
}

/** Puts a finished value into its parent: as the element, or as one more item of a repeating element. */
function put(parent: ComplexFrame, el: XmlElement, value: unknown): void {
  if (!el.array) {
    parent.obj[el.name] = value;
    return;
  }
  const list = parent.obj[el.name];
  if (Array.isArray(list)) list.push(value);
  else parent.obj[el.name] = [value];
}

/**
 * Whether an element of a narrative can be read apart from the document: it and its attributes use
 * no namespace prefix but one declared on the element itself (or `xml`). Unprefixed names take the
 * default namespace, which the div declares itself.
 */
function selfContained(tag: sax.QualifiedTag): boolean {
  const own = (prefix: string) =>
    prefix === '' || prefix === 'xml' || prefix === 'xmlns' || Object.hasOwn(tag.ns, prefix);
  return own(tag.prefix) && Object.values(tag.attributes).every((a) => own(a.prefix));
}

const INTEGER = /^[-+]?\d+$/;
// FHIR R4 decimal (datatypes.html#decimal), with the exponent XML Schema allows
const DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** A primitive's `value` attribute as its JSON value. */
function primitiveValue(el: XmlElement, text: string, fail: (m: string) => OperationOutcomeError): unknown {
  if (el.type === 'boolean') {
    if (text === 'true') return true;
    if (text === 'false') return false;
    throw fail(`'${short(text)}' is not a boolean (true or false)`);
  }
  if (!NUMBER_TYPES.has(el.type)) return text;
  const ok = el.type === 'decimal' ? DECIMAL.test(text) : INTEGER.test(text);
  const n = Number(text);
  if (!ok || !Number.isFinite(n) || (el.type !== 'decimal' && !Number.isSafeInteger(n))) {
    throw fail(`'${short(text)}' is not ${el.type === 'decimal' ? 'a decimal' : 'an integer'}`);
  }
  return n;
}

function short(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}
