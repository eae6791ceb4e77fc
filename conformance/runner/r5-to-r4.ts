// FHIR R5 <-> R4 conversion for the tx-ecosystem tests (README "Sending a test", step 4: the
// files are written in R5 form; an R4 server sees R4, and its R4 response is converted to R5
// before comparing).
//
// R5-only elements travel in R4 as the standard cross-version extensions
//   http://hl7.org/fhir/5.0/StructureDefinition/extension-<Resource>.<path>
// (`[x]` dropped from the path, e.g. extension-CodeSystem.versionAlgorithm).
//
// Requests, R5 -> R4 (every CodeSystem / ValueSet / ConceptMap anywhere in the request, i.e. in
// tx-resource, valueSet, nested batch `validation` Parameters):
//
//   R5 element                                     R4 form
//   ---------------------------------------------  --------------------------------------------
//   CodeSystem|ValueSet|ConceptMap                 extension-<R>.versionAlgorithm
//     .versionAlgorithmString / Coding               valueString / valueCoding
//   <R>.copyrightLabel                             extension-<R>.copyrightLabel valueString
//   <R>.approvalDate / lastReviewDate              extension-<R>.<name> valueDate
//   <R>.effectivePeriod                            extension-<R>.effectivePeriod valuePeriod
//   <R>.topic[]                                    extension-<R>.topic valueCodeableConcept (each)
//   <R>.author|editor|reviewer|endorser[]          extension-<R>.<name> valueContactDetail (each)
//   <R>.relatedArtifact[]                          extension-<R>.relatedArtifact valueRelatedArtifact
//   CodeSystem.concept.designation.additionalUse[] extension-CodeSystem.concept.designation
//                                                    .additionalUse valueCoding (each)
//   ValueSet.compose.property[]                    extension-ValueSet.compose.property valueString
//   ValueSet.compose.include|exclude.copyright     extension-ValueSet.compose.include.copyright
//   ValueSet.compose.include|exclude.concept       extension-ValueSet.compose.include.concept
//     .designation.additionalUse[]                   .designation.additionalUse valueCoding
//   ValueSet.expansion.property[]                  extension-ValueSet.expansion.property
//                                                    (sub-extensions code, uri)
//   ValueSet.expansion.contains.property[]         extension-ValueSet.expansion.contains.property
//                                                    (sub-extensions code, value[x], subProperty)
//   ValueSet.expansion.contains.designation        extension-ValueSet.expansion.contains
//     .additionalUse[]                               .designation.additionalUse valueCoding
//   ConceptMap.sourceScopeUri|Canonical            ConceptMap.sourceUri|sourceCanonical
//   ConceptMap.targetScopeUri|Canonical            ConceptMap.targetUri|targetCanonical
//   ConceptMap.identifier[] (0..*)                 ConceptMap.identifier (0..1): the first
//   ConceptMap.group.element.noMap = true          target [{ equivalence: unmatched }]
//   ConceptMap.group.element.valueSet              extension-ConceptMap.group.element.valueSet
//   ConceptMap...target.relationship               ...target.equivalence (RELATIONSHIP_TO_EQUIVALENCE)
//   ConceptMap...target.valueSet                   extension-ConceptMap.group.element.target.valueSet
//   ConceptMap...target.property[]                 extension-ConceptMap.group.element.target.property
//                                                    (sub-extensions code, value[x])
//   ConceptMap...target.dependsOn|product          dependsOn|product: attribute -> property,
//     {attribute, value[x]}                          valueCoding -> system+value+display,
//                                                    other primitive value[x] -> value (string)
//   ConceptMap.group.unmapped.mode                 use-source-code -> provided (others equal)
//   ConceptMap.group.unmapped.otherMap             ConceptMap.group.unmapped.url
//   ConceptMap.group.unmapped.relationship         extension-ConceptMap.group.unmapped.relationship
//   ConceptMap.group.unmapped.valueSet             extension-ConceptMap.group.unmapped.valueSet
//
// Left as they are: filter operators that exist only in R5 (`child-of`, `descendent-leaf`) —
// the server has to understand them either way; `_value` data-absent-reason on a filter (valid
// R4 JSON); Parameters (same shape in R4; `$translate` keeps its R5 parameter names, which the
// README says the server must accept).
//
// Responses, R4 -> R5 (every ValueSet anywhere in the response):
//
//   R4 form                                        R5 element
//   ---------------------------------------------  --------------------------------------------
//   extension-ValueSet.expansion.property          ValueSet.expansion.property {code, uri}
//   extension-ValueSet.expansion.contains.property ValueSet.expansion.contains.property
//                                                    {code, value[x], subProperty[{code, value[x]}]}
//   extension-ValueSet.expansion.contains          ValueSet.expansion.contains.designation
//     .designation.additionalUse                     .additionalUse[]
//   extension-ValueSet.compose.property            ValueSet.compose.property[]
//
// `$translate` responses are Parameters and are not converted: the templates accept the R4
// `equivalence` part (its `$optional$` is "version:5") and make `relationship` optional on R4.

import { isArray, isObject, type Json, type JsonObject, str, valueX } from './json.ts';

export const XVER = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-';

/** R5 ConceptMapRelationship -> R4 ConceptMapEquivalence (the R4/R5 ConceptMap mapping). */
export const RELATIONSHIP_TO_EQUIVALENCE: Readonly<Record<string, string>> = {
  'related-to': 'relatedto',
  equivalent: 'equivalent',
  'source-is-narrower-than-target': 'wider',
  'source-is-broader-than-target': 'narrower',
  'not-related-to': 'disjoint',
};

/** R5 ConceptMapGroupUnmappedMode -> R4 ConceptMapGroupUnmappedMode. */
export const UNMAPPED_MODE_R5_TO_R4: Readonly<Record<string, string>> = {
  'use-source-code': 'provided',
  fixed: 'fixed',
  'other-map': 'other-map',
};

// ---------------------------------------------------------------------------------------------
// helpers

function addExtension(target: JsonObject, ext: JsonObject): void {
  if (!isArray(target.extension)) target.extension = [];
  (target.extension as Json[]).push(ext);
}

/** Move `source[key]` (single or array) into extensions `url` with `value<Type>`, deleting it. */
function moveToExtension(source: JsonObject, key: string, url: string, valueKey: string): void {
  const v = source[key];
  if (v === undefined) return;
  delete source[key];
  for (const item of isArray(v) ? v : [v]) addExtension(source, { url, [valueKey]: item });
}

/** Take (and remove) the extensions with this URL from an element. */
function takeExtensions(element: JsonObject, url: string): JsonObject[] {
  if (!isArray(element.extension)) return [];
  const taken: JsonObject[] = [];
  const rest: Json[] = [];
  for (const e of element.extension) {
    if (isObject(e) && e.url === url) taken.push(e);
    else rest.push(e);
  }
  if (rest.length > 0) element.extension = rest;
  else delete element.extension;
  return taken;
}

function subExtensions(ext: JsonObject, name: string): JsonObject[] {
  if (!isArray(ext.extension)) return [];
  return ext.extension.filter((e): e is JsonObject => isObject(e) && e.url === name);
}

function forEachObject(v: Json | undefined, fn: (o: JsonObject) => void): void {
  if (isArray(v)) for (const item of v) if (isObject(item)) fn(item);
}

/** `{code, value[x]}` as sub-extensions `code` and `value`. */
function codeValueExtensions(item: JsonObject): Json[] {
  const subs: Json[] = [];
  if (item.code !== undefined) subs.push({ url: 'code', valueCode: item.code });
  const vx = valueX(item);
  if (vx) subs.push({ url: 'value', [vx.key]: vx.value });
  return subs;
}

/** Sub-extensions `code` and `value` back to `{code, value[x]}`. */
function codeValueFromExtension(ext: JsonObject): JsonObject {
  const out: JsonObject = {};
  const code = subExtensions(ext, 'code')[0];
  if (code) {
    const v = valueX(code);
    if (v) out.code = v.value;
  }
  const value = subExtensions(ext, 'value')[0];
  if (value) {
    const v = valueX(value);
    if (v) out[v.key] = v.value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// R5 -> R4 (requests)

/** R5 canonical-resource metadata elements that R4 lacks, with the R4 extension value type. */
const METADATA_TO_EXTENSION: ReadonlyArray<[string, string, string]> = [
  // [R5 element, extension path, value key]
  ['versionAlgorithmString', 'versionAlgorithm', 'valueString'],
  ['versionAlgorithmCoding', 'versionAlgorithm', 'valueCoding'],
  ['copyrightLabel', 'copyrightLabel', 'valueString'],
  ['approvalDate', 'approvalDate', 'valueDate'],
  ['lastReviewDate', 'lastReviewDate', 'valueDate'],
  ['effectivePeriod', 'effectivePeriod', 'valuePeriod'],
  ['topic', 'topic', 'valueCodeableConcept'],
  ['author', 'author', 'valueContactDetail'],
  ['editor', 'editor', 'valueContactDetail'],
  ['reviewer', 'reviewer', 'valueContactDetail'],
  ['endorser', 'endorser', 'valueContactDetail'],
  ['relatedArtifact', 'relatedArtifact', 'valueRelatedArtifact'],
];

function metadataR5ToR4(resource: JsonObject, type: string): void {
  for (const [key, path, valueKey] of METADATA_TO_EXTENSION) {
    moveToExtension(resource, key, `${XVER}${type}.${path}`, valueKey);
  }
}

function codeSystemR5ToR4(cs: JsonObject): void {
  metadataR5ToR4(cs, 'CodeSystem');
  const concepts = (list: Json | undefined): void =>
    forEachObject(list, (c) => {
      forEachObject(c.designation, (d) =>
        moveToExtension(d, 'additionalUse', `${XVER}CodeSystem.concept.designation.additionalUse`, 'valueCoding'),
      );
      concepts(c.concept);
    });
  concepts(cs.concept);
}

function expansionContainsR5ToR4(list: Json | undefined): void {
  forEachObject(list, (c) => {
    const props = c.property;
    if (props !== undefined) {
      delete c.property;
      forEachObject(props, (p) => {
        const subs = codeValueExtensions(p);
        forEachObject(p.subProperty, (sp) => subs.push({ url: 'subProperty', extension: codeValueExtensions(sp) }));
        addExtension(c, { url: `${XVER}ValueSet.expansion.contains.property`, extension: subs });
      });
    }
    forEachObject(c.designation, (d) =>
      moveToExtension(
        d,
        'additionalUse',
        `${XVER}ValueSet.expansion.contains.designation.additionalUse`,
        'valueCoding',
      ),
    );
    expansionContainsR5ToR4(c.contains);
  });
}

function valueSetR5ToR4(vs: JsonObject): void {
  metadataR5ToR4(vs, 'ValueSet');
  const compose = vs.compose;
  if (isObject(compose)) {
    moveToExtension(compose, 'property', `${XVER}ValueSet.compose.property`, 'valueString');
    for (const part of ['include', 'exclude']) {
      forEachObject(compose[part], (inc) => {
        moveToExtension(inc, 'copyright', `${XVER}ValueSet.compose.include.copyright`, 'valueString');
        forEachObject(inc.concept, (c) =>
          forEachObject(c.designation, (d) =>
            moveToExtension(
              d,
              'additionalUse',
              `${XVER}ValueSet.compose.include.concept.designation.additionalUse`,
              'valueCoding',
            ),
          ),
        );
      });
    }
  }
  const expansion = vs.expansion;
  if (isObject(expansion)) {
    const props = expansion.property;
    if (props !== undefined) {
      delete expansion.property;
      forEachObject(props, (p) => {
        const subs: Json[] = [];
        if (p.code !== undefined) subs.push({ url: 'code', valueCode: p.code });
        if (p.uri !== undefined) subs.push({ url: 'uri', valueUri: p.uri });
        addExtension(expansion, { url: `${XVER}ValueSet.expansion.property`, extension: subs });
      });
    }
    expansionContainsR5ToR4(expansion.contains);
  }
}

/** R5 dependsOn/product {attribute, value[x], valueSet} -> R4 {property, system, value, display}. */
function dependsOnR5ToR4(d: JsonObject): void {
  if (d.attribute !== undefined) {
    d.property = d.attribute;
    delete d.attribute;
  }
  const vx = valueX(d);
  if (vx) {
    delete d[vx.key];
    if (vx.key === 'valueCoding' && isObject(vx.value)) {
      if (vx.value.system !== undefined) d.system = vx.value.system;
      if (vx.value.code !== undefined) d.value = vx.value.code;
      if (vx.value.display !== undefined) d.display = vx.value.display;
    } else if (typeof vx.value === 'string' || typeof vx.value === 'number' || typeof vx.value === 'boolean') {
      d.value = String(vx.value);
    }
  }
  delete d.valueSet;
}

function conceptMapR5ToR4(cm: JsonObject): void {
  metadataR5ToR4(cm, 'ConceptMap');
  for (const [r5, r4] of [
    ['sourceScopeUri', 'sourceUri'],
    ['sourceScopeCanonical', 'sourceCanonical'],
    ['targetScopeUri', 'targetUri'],
    ['targetScopeCanonical', 'targetCanonical'],
  ]) {
    if (cm[r5] !== undefined) {
      cm[r4] = cm[r5];
      delete cm[r5];
    }
  }
  if (isArray(cm.identifier)) {
    if (cm.identifier.length > 0) cm.identifier = cm.identifier[0];
    else delete cm.identifier;
  }
  forEachObject(cm.group, (g) => {
    forEachObject(g.element, (el) => {
      moveToExtension(el, 'valueSet', `${XVER}ConceptMap.group.element.valueSet`, 'valueCanonical');
      if (el.noMap === true) {
        if (!isArray(el.target)) el.target = [];
        (el.target as Json[]).push({ equivalence: 'unmatched' });
      }
      delete el.noMap;
      forEachObject(el.target, (t) => {
        const rel = str(t, 'relationship');
        if (rel !== undefined) {
          t.equivalence = RELATIONSHIP_TO_EQUIVALENCE[rel] ?? rel;
          delete t.relationship;
        }
        moveToExtension(t, 'valueSet', `${XVER}ConceptMap.group.element.target.valueSet`, 'valueCanonical');
        const props = t.property;
        if (props !== undefined) {
          delete t.property;
          forEachObject(props, (p) =>
            addExtension(t, {
              url: `${XVER}ConceptMap.group.element.target.property`,
              extension: codeValueExtensions(p),
            }),
          );
        }
        forEachObject(t.dependsOn, dependsOnR5ToR4);
        forEachObject(t.product, dependsOnR5ToR4);
      });
    });
    const unmapped = g.unmapped;
    if (isObject(unmapped)) {
      const mode = str(unmapped, 'mode');
      if (mode !== undefined) unmapped.mode = UNMAPPED_MODE_R5_TO_R4[mode] ?? mode;
      if (unmapped.otherMap !== undefined) {
        unmapped.url = unmapped.otherMap;
        delete unmapped.otherMap;
      }
      moveToExtension(unmapped, 'relationship', `${XVER}ConceptMap.group.unmapped.relationship`, 'valueCode');
      moveToExtension(unmapped, 'valueSet', `${XVER}ConceptMap.group.unmapped.valueSet`, 'valueCanonical');
    }
  });
}

/**
 * Convert, in place, every CodeSystem, ValueSet and ConceptMap found anywhere in an R5 request
 * (typically a Parameters) to R4.
 */
export function requestR5ToR4(node: Json): void {
  if (isArray(node)) {
    for (const item of node) requestR5ToR4(item);
    return;
  }
  if (!isObject(node)) return;
  switch (node.resourceType) {
    case 'CodeSystem':
      codeSystemR5ToR4(node);
      return;
    case 'ValueSet':
      valueSetR5ToR4(node);
      return;
    case 'ConceptMap':
      conceptMapR5ToR4(node);
      return;
  }
  for (const v of Object.values(node)) {
    if (isObject(v) || isArray(v)) requestR5ToR4(v);
  }
}

// ---------------------------------------------------------------------------------------------
// R4 -> R5 (responses)

function expansionContainsR4ToR5(list: Json | undefined): void {
  forEachObject(list, (c) => {
    const exts = takeExtensions(c, `${XVER}ValueSet.expansion.contains.property`);
    if (exts.length > 0) {
      const props: Json[] = isArray(c.property) ? c.property : [];
      for (const ext of exts) {
        const prop = codeValueFromExtension(ext);
        const subs = subExtensions(ext, 'subProperty').map(codeValueFromExtension);
        if (subs.length > 0) prop.subProperty = subs;
        props.push(prop);
      }
      c.property = props;
    }
    forEachObject(c.designation, (d) => {
      const uses = takeExtensions(d, `${XVER}ValueSet.expansion.contains.designation.additionalUse`);
      if (uses.length > 0) {
        const list: Json[] = isArray(d.additionalUse) ? d.additionalUse : [];
        for (const u of uses) if (u.valueCoding !== undefined) list.push(u.valueCoding);
        d.additionalUse = list;
      }
    });
    expansionContainsR4ToR5(c.contains);
  });
}

function valueSetR4ToR5(vs: JsonObject): void {
  const compose = vs.compose;
  if (isObject(compose)) {
    const exts = takeExtensions(compose, `${XVER}ValueSet.compose.property`);
    if (exts.length > 0) {
      const list: Json[] = isArray(compose.property) ? compose.property : [];
      for (const e of exts) if (typeof e.valueString === 'string') list.push(e.valueString);
      compose.property = list;
    }
  }
  const expansion = vs.expansion;
  if (!isObject(expansion)) return;
  const exts = takeExtensions(expansion, `${XVER}ValueSet.expansion.property`);
  if (exts.length > 0) {
    const props: Json[] = isArray(expansion.property) ? expansion.property : [];
    for (const ext of exts) {
      const prop: JsonObject = {};
      const code = subExtensions(ext, 'code')[0];
      const uri = subExtensions(ext, 'uri')[0];
      const cv = code ? valueX(code) : undefined;
      const uv = uri ? valueX(uri) : undefined;
      if (cv) prop.code = cv.value;
      if (uv) prop.uri = uv.value;
      props.push(prop);
    }
    expansion.property = props;
  }
  expansionContainsR4ToR5(expansion.contains);
}

/** Convert, in place, every ValueSet found anywhere in an R4 response to R5. */
export function responseR4ToR5(node: Json): void {
  if (isArray(node)) {
    for (const item of node) responseR4ToR5(item);
    return;
  }
  if (!isObject(node)) return;
  if (node.resourceType === 'ValueSet') {
    valueSetR4ToR5(node);
    return;
  }
  for (const v of Object.values(node)) {
    if (isObject(v) || isArray(v)) responseR4ToR5(v);
  }
}
