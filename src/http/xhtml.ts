import sax from 'sax';

/**
 * The XHTML narrative (`Narrative.div`) between FHIR JSON, where it is a string of XHTML, and FHIR
 * XML, where it is the element itself (narrative.html#xhtml, xml.html#1.17.1). The text is carried
 * as it is, not re-serialised, so that JSON -> XML -> JSON gives back the same string (quotes,
 * character references and empty elements as they were). Two things XML cannot carry as they are:
 * - a carriage return: an XML parser reads CR LF and a lone CR as LF (XML 1.0 §2.11), so a CR in
 *   text or in an attribute value is written as `&#13;` and read back as a CR;
 * - a div without its namespace declaration: in XML it would fall into the FHIR namespace, so
 *   `xmlns="http://www.w3.org/1999/xhtml"` is added to it.
 */

export const XHTML_NS = 'http://www.w3.org/1999/xhtml';

/** The narrative as it goes into FHIR XML; throws (with a reason) when it is not a well-formed XHTML div. */
export function divForXml(div: string): string {
  const known = written.get(div);
  if (known !== undefined) return known;
  let out = checkDiv(div);
  if (out.includes('\r')) out = mapCharacterData(out, (s) => s.replaceAll('\r', '&#13;'));
  if (written.size >= MAX_WRITTEN) written.clear();
  written.set(div, out);
  return out;
}

/**
 * The narratives written lately: a search or an expansion answers with the same stored resources
 * over and over, and checking a large narrative costs more than looking it up (the store's strings
 * keep their hash).
 */
const written = new Map<string, string>();
const MAX_WRITTEN = 1024;

/** The narrative as FHIR JSON holds it, from its text in an XML document (line ends already normalised). */
export function divFromXml(text: string): string {
  return text.includes('&#') ? mapCharacterData(text, (s) => s.replace(CR_REFERENCE, '\r')) : text;
}

const CR_REFERENCE = /&#(?:0*13|[xX]0*[dD]);/g;

/** Parses `div` as XML: it must be one `div` element in the XHTML namespace. Returns it with its namespace declared. */
function checkDiv(div: string): string {
  const parser = sax.parser(true, { xmlns: true, position: false, strictEntities: true } as sax.SAXOptions);
  let root: sax.QualifiedTag | undefined;
  let depth = 0;
  parser.onerror = (err) => {
    throw new Error(`the narrative is not well-formed XHTML: ${err.message.split('\n')[0]}`);
  };
  parser.ondoctype = () => {
    throw new Error('the narrative holds a DOCTYPE');
  };
  parser.onopentag = (tag) => {
    // (sax does not refuse a second root element)
    if (depth++ === 0 && root !== undefined) throw new Error('the narrative is more than one element');
    root ??= tag as sax.QualifiedTag;
  };
  parser.onclosetag = () => {
    depth--;
  };
  parser.write(div).close();
  if (root === undefined || root.local !== 'div' || root.prefix !== '') {
    throw new Error('the narrative is not a <div> element');
  }
  if (root.uri === XHTML_NS) return div;
  if (root.uri !== '') throw new Error('the narrative <div> is not in the XHTML namespace');
  // a div without a namespace: declare XHTML's (narrative.html: the div is XHTML)
  return div.replace(/^(\s*<div)/, `$1 xmlns="${XHTML_NS}"`);
}

/**
 * Applies `fn` to the character data of well-formed XML: the text between tags and the attribute
 * values, not the names, comments, CDATA sections or processing instructions.
 */
export function mapCharacterData(xml: string, fn: (s: string) => string): string {
  let out = '';
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? xml.length : lt;
    if (textEnd > i) out += fn(xml.slice(i, textEnd));
    if (lt < 0) break;
    const skipTo = (close: string) => {
      const end = xml.indexOf(close, lt);
      const stop = end < 0 ? xml.length : end + close.length;
      out += xml.slice(lt, stop);
      return stop;
    };
    if (xml.startsWith('<!--', lt)) i = skipTo('-->');
    else if (xml.startsWith('<![CDATA[', lt)) i = skipTo(']]>');
    else if (xml.startsWith('<?', lt)) i = skipTo('?>');
    else i = mapTag(xml, lt, fn, (s) => (out += s));
  }
  return out;
}

/** One tag from `start` (its `<`): names as they are, attribute values through `fn`. Returns the index after its `>`. */
function mapTag(xml: string, start: number, fn: (s: string) => string, emit: (s: string) => void): number {
  let i = start;
  while (i < xml.length) {
    const c = xml[i];
    if (c === '>') {
      emit(xml.slice(start, i + 1));
      return i + 1;
    }
    if (c === '"' || c === "'") {
      const end = xml.indexOf(c, i + 1);
      const stop = end < 0 ? xml.length : end;
      emit(xml.slice(start, i + 1));
      emit(fn(xml.slice(i + 1, stop)));
      start = stop;
      i = stop + 1;
      continue;
    }
    i++;
  }
  emit(xml.slice(start));
  return xml.length;
}
