// Scrub and sort the actual response before comparing (README "Comparing a response", steps 1
// and 2). Both work in place on a JSON tree that the caller owns (the parsed response body).
//
// Step 1, scrub: drop `text` and `meta` of every resource, drop Parameters `diagnostics`; in an
// OperationOutcome drop issues that have diagnostics but no details and blank any diagnostics;
// drop every extension whose URL is not in the managed list (or is non-absolute).
// CapabilityStatement and TerminologyCapabilities are not scrubbed (the caller skips them).
//
// Step 2, sort: Parameters by name (property parts by code then value, designations by language
// then value; a `message` holding "; " has its parts sorted); OperationOutcome issues by severity,
// code, expression, details.text; ValueSet `expansion.parameter` by name then value, `contains`
// by code (recursively). Plus the reference runner's remaining ValueSet sorts (see sortResource).

import { isArray, isObject, type Json, type JsonObject, str, valueX } from './json.ts';

/**
 * Extensions kept by the scrub. README: "a few `codesystem-*`, `valueset-*`, `coding-sctdescid`,
 * `translation`, `itemWeight`, `rendering-*`, `alternate-code-*`, `operationoutcome-message-id`,
 * `valueset-unclosed`, and any non-absolute URL". The concrete members are those of the HL7 Java
 * runner (TxTesterScrubbers), plus two that expected responses require to be present:
 * `structuredefinition-standards-status` (parameters-expand-enum-definitions3, on a designation)
 * and the test's own `unknown-extension-*` URLs (echoed on the expanded ValueSet).
 */
export const MANAGED_EXTENSIONS: ReadonlySet<string> = new Set([
  'http://hl7.org/fhir/StructureDefinition/codesystem-alternate',
  'http://hl7.org/fhir/StructureDefinition/codesystem-conceptOrder',
  'http://hl7.org/fhir/StructureDefinition/codesystem-label',
  'http://hl7.org/fhir/StructureDefinition/coding-sctdescid',
  'http://hl7.org/fhir/StructureDefinition/itemWeight',
  'http://hl7.org/fhir/StructureDefinition/rendering-style',
  'http://hl7.org/fhir/StructureDefinition/rendering-xhtml',
  'http://hl7.org/fhir/StructureDefinition/translation',
  'http://hl7.org/fhir/StructureDefinition/valueset-concept-definition',
  'http://hl7.org/fhir/StructureDefinition/valueset-conceptOrder',
  'http://hl7.org/fhir/StructureDefinition/valueset-deprecated',
  'http://hl7.org/fhir/StructureDefinition/valueset-label',
  'http://hl7.org/fhir/StructureDefinition/valueset-supplement',
  'http://hl7.org/fhir/StructureDefinition/valueset-unclosed',
  'http://hl7.org/fhir/StructureDefinition/alternate-code-use',
  'http://hl7.org/fhir/StructureDefinition/alternate-code-status',
  'http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id',
  'http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status',
  'http://hl7.org/fhir/test/CodeSystem/de-multi',
  'http://hl7.org/fhir/test/CodeSystem/en-multi',
  'http://hl7.org/fhir/test/StructureDefinition/unknown-extension-1',
  'http://hl7.org/fhir/test/StructureDefinition/unknown-extension-3',
  'http://hl7.org/fhir/test/StructureDefinition/unknown-extension-4',
  'http://hl7.org/fhir/test/StructureDefinition/unknown-extension-5',
  'http://hl7.org/fhir/test/ValueSet/extensions-bad-supplement',
  'http://hl7.org/fhir/test/ValueSet/simple-all',
  'http://hl7.org/fhir/test/ValueSet/simple-enumerated',
  'http://hl7.org/fhir/test/ValueSet/simple-filter-isa',
]);

const ABSOLUTE_URL = /^[A-Za-z][A-Za-z0-9+.-]*:/;

export function isManagedExtension(url: string | undefined): boolean {
  if (url === undefined) return true;
  return !ABSOLUTE_URL.test(url) || MANAGED_EXTENSIONS.has(url);
}

const UNSCRUBBED = new Set(['CapabilityStatement', 'TerminologyCapabilities']);

// ---------------------------------------------------------------------------------------------
// scrub

/** Scrub a response resource in place (README step 1). */
export function scrub(resource: Json): void {
  if (isObject(resource) && UNSCRUBBED.has(str(resource, 'resourceType') ?? '')) return;
  scrubNode(resource, false);
}

function scrubNode(node: Json, insideCompose: boolean): void {
  if (isArray(node)) {
    for (const item of node) scrubNode(item, insideCompose);
    return;
  }
  if (!isObject(node)) return;
  const rt = str(node, 'resourceType');
  if (rt !== undefined) {
    delete node.text;
    delete node.meta;
    if (rt === 'Parameters' && isArray(node.parameter)) {
      node.parameter = node.parameter.filter((p) => !(isObject(p) && p.name === 'diagnostics'));
    }
    if (rt === 'OperationOutcome' && isArray(node.issue)) {
      node.issue = node.issue.filter((i) => !(isObject(i) && 'diagnostics' in i && !('details' in i)));
      // "blank any diagnostics": the free-text diagnostics are server-specific, so they are
      // removed (an expected `diagnostics` is then either optional or absent from the template).
      for (const issue of node.issue) if (isObject(issue)) delete issue.diagnostics;
    }
  }
  for (const [k, v] of Object.entries(node)) {
    if ((k === 'extension' || k === 'modifierExtension') && isArray(v) && !insideCompose) {
      const kept = v.filter((x) => !isObject(x) || isManagedExtension(str(x, 'url')));
      if (kept.length > 0) node[k] = kept;
      else delete node[k];
    }
    // ValueSet.compose is echoed from the request and not scrubbed (the reference runner does not
    // visit it), so its unknown-extension-* stay for the template to see.
    const child = node[k];
    if (child === undefined) continue;
    scrubNode(child, insideCompose || (k === 'compose' && rt === 'ValueSet'));
    // `_display: { extension: [...] }` left empty by the scrub is dropped, not compared as `{}`
    if (k.startsWith('_') && isEmptyPrimitiveExtension(child)) delete node[k];
  }
}

function isEmptyPrimitiveExtension(v: Json): boolean {
  if (isObject(v)) return Object.keys(v).length === 0;
  if (isArray(v)) return v.every((x) => x === null || (isObject(x) && Object.keys(x).length === 0));
  return false;
}

// ---------------------------------------------------------------------------------------------
// sort

/** Java String.compareTo order (UTF-16 code units), which the expected files were sorted with. */
function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A primitive value[x] as text, for sorting ("" when none or not primitive). */
function primitiveText(v: Json | undefined): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

function partValue(param: JsonObject, partName: string): string {
  if (!isArray(param.part)) return '';
  for (const part of param.part) {
    if (isObject(part) && part.name === partName) return primitiveText(valueX(part)?.value).toLowerCase();
  }
  return '';
}

function compareParameters(p1: Json, p2: Json): number {
  if (!isObject(p1) || !isObject(p2)) return 0;
  const n1 = str(p1, 'name') ?? '';
  const n2 = str(p2, 'name') ?? '';
  if (n1 === n2 && n1 === 'property') {
    const c = cmpStr(partValue(p1, 'code'), partValue(p2, 'code'));
    if (c !== 0) return c;
    const v = cmpStr(partValue(p1, 'value'), partValue(p2, 'value'));
    if (v !== 0) return v;
  }
  if (n1 === n2 && n1 === 'designation') {
    const l = cmpStr(partValue(p1, 'language'), partValue(p2, 'language'));
    if (l !== 0) return l;
    const v = cmpStr(partValue(p1, 'value'), partValue(p2, 'value'));
    if (v !== 0) return v;
  }
  return cmpStr(n1, n2);
}

function sortParameterList(list: Json[]): void {
  for (const p of list) {
    if (!isObject(p)) continue;
    if (isArray(p.part)) sortParameterList(p.part);
    if (p.name === 'message' && typeof p.valueString === 'string' && p.valueString.includes('; ')) {
      p.valueString = p.valueString.split('; ').sort(cmpStr).join('; ');
    }
  }
  list.sort(compareParameters);
}

function issueKey(issue: Json): string[] {
  if (!isObject(issue)) return ['', '', '', ''];
  const first = (v: Json | undefined): string => (isArray(v) && typeof v[0] === 'string' ? v[0] : '');
  const expression = first(issue.expression) || first(issue.location);
  const details = isObject(issue.details) ? (str(issue.details, 'text') ?? '') : '';
  return [str(issue, 'severity') ?? '', str(issue, 'code') ?? '', expression, details];
}

function compareIssues(i1: Json, i2: Json): number {
  const k1 = issueKey(i1);
  const k2 = issueKey(i2);
  for (let i = 0; i < k1.length; i++) {
    const c = cmpStr(k1[i], k2[i]);
    if (c !== 0) return c;
  }
  return 0;
}

function compareExpansionParameters(p1: Json, p2: Json): number {
  if (!isObject(p1) || !isObject(p2)) return 0;
  const c = cmpStr(str(p1, 'name') ?? '', str(p2, 'name') ?? '');
  if (c !== 0) return c;
  return cmpStr(primitiveText(valueX(p1)?.value), primitiveText(valueX(p2)?.value));
}

function byKey(key: string): (a: Json, b: Json) => number {
  return (a, b) => cmpStr(isObject(a) ? (str(a, key) ?? '') : '', isObject(b) ? (str(b, key) ?? '') : '');
}

/**
 * Designations: by language when both have one, else by value — the reference runner's order
 * (it keeps two same-language designations in their original order, which
 * language/expand-xform-en-multi-de-hard relies on).
 */
function compareDesignations(d1: Json, d2: Json): number {
  if (!isObject(d1) || !isObject(d2)) return 0;
  const l1 = str(d1, 'language');
  const l2 = str(d2, 'language');
  if (l1 !== undefined && l2 !== undefined) return cmpStr(l1, l2);
  return cmpStr(str(d1, 'value') ?? '', str(d2, 'value') ?? '');
}

/** expansion.property: by uri (absent first), then code — the reference runner's order. */
function compareExpansionProperties(p1: Json, p2: Json): number {
  if (!isObject(p1) || !isObject(p2)) return 0;
  const u1 = str(p1, 'uri');
  const u2 = str(p2, 'uri');
  if (u1 === undefined || u2 === undefined) {
    if (u1 !== u2) return u1 === undefined ? -1 : 1;
  } else {
    const c = cmpStr(u1, u2);
    if (c !== 0) return c;
  }
  return cmpStr(str(p1, 'code') ?? '', str(p2, 'code') ?? '');
}

function sortContains(list: Json[]): void {
  list.sort(byKey('code'));
  for (const c of list) {
    if (!isObject(c)) continue;
    if (isArray(c.extension)) c.extension.sort(byKey('url'));
    if (isArray(c.designation)) c.designation.sort(compareDesignations);
    if (isArray(c.property)) c.property.sort(byKey('code'));
    if (isArray(c.contains)) sortContains(c.contains);
  }
}

/** Sort a response resource in place (README step 2), recursing into nested resources. */
export function sortResource(node: Json): void {
  if (isArray(node)) {
    for (const item of node) sortResource(item);
    return;
  }
  if (!isObject(node)) return;
  const rt = str(node, 'resourceType');
  if (rt === 'Parameters' && isArray(node.parameter)) sortParameterList(node.parameter);
  if (rt === 'OperationOutcome' && isArray(node.issue)) node.issue.sort(compareIssues);
  if (rt === 'ValueSet') {
    // README: `expansion.parameter` by name then value, `contains` by code (recursively). The
    // other ValueSet sorts (extensions by url, expansion.property, and per concept: extensions,
    // designations, properties) are the HL7 Java runner's (TxTesterSorters); every expected file
    // is already in that order, so they only remove order differences the templates never test.
    if (isArray(node.extension)) node.extension.sort(byKey('url'));
    const exp = node.expansion;
    if (isObject(exp)) {
      if (isArray(exp.extension)) exp.extension.sort(byKey('url'));
      if (isArray(exp.parameter)) exp.parameter.sort(compareExpansionParameters);
      if (isArray(exp.property)) exp.property.sort(compareExpansionProperties);
      if (isArray(exp.contains)) sortContains(exp.contains);
    }
  }
  // nested resources: Parameters.parameter.resource (issues, batch `validation`), Bundle entries
  for (const v of Object.values(node)) {
    if (isObject(v) || isArray(v)) sortResource(v);
  }
}
