import type { Coding, ConceptMap, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { badRequest } from '../http/outcome.ts';
import type { InputParams } from '../http/params.ts';
import { OutputParams } from '../http/params.ts';
import { MSG } from '../terminology/operation-messages.ts';
import type { Relationship, TranslateInput, TranslateMatch, TranslateResult } from '../terminology/translate.ts';
import { conceptMapsByUrl, translateCode } from '../terminology/translate.ts';
import { codeableConceptParam, codingParam, stringParam } from './coding-params.ts';
import type { OperationDef, OperationRequest, OperationResult } from './types.ts';

/**
 * ConceptMap/$translate, type and instance level. Reads the R5 parameter names
 * (https://hl7.org/fhir/R5/conceptmap-operation-translate.html: sourceCode + sourceSystem or
 * system, sourceCoding, sourceCodeableConcept, targetCode + targetSystem, targetCoding,
 * targetCodeableConcept, sourceScope, targetScope, targetSystem) and the R4 ones
 * (http://hl7.org/fhir/R4/conceptmap-operation-translate.html: code + system, coding,
 * codeableConcept, source, target, targetsystem, reverse), as tx.fhir.org does; answers in R4
 * form (`equivalence`, not `relationship`), which is what an R4 server gives the HL7 test runner.
 * `dependency` is accepted and not used (nor is it by tx.fhir.org).
 */

interface NamedConcept {
  coding: Coding;
  /** the parameter it came from */
  from: string;
}

function firstCoding(params: InputParams, name: string): NamedConcept | undefined {
  const cc = codeableConceptParam(params, name);
  if (!cc) return undefined;
  // tx.fhir.org translates the first coding of a CodeableConcept
  const coding = cc.coding?.[0];
  if (!coding) throw badRequest(MSG.translateEmptyCodeableConcept(name), name);
  return { coding, from: name };
}

/** The source concept: sourceCoding / coding, sourceCodeableConcept / codeableConcept, sourceCode / code + system. */
function sourceConcept(params: InputParams): NamedConcept | undefined {
  for (const name of ['sourceCoding', 'coding']) {
    const coding = codingParam(params, name);
    if (coding) return { coding, from: name };
  }
  const cc = firstCoding(params, 'sourceCodeableConcept') ?? firstCoding(params, 'codeableConcept');
  if (cc) return cc;
  const from = params.has('sourceCode') ? 'sourceCode' : 'code';
  const code = stringParam(params, from);
  if (code === undefined) return undefined;
  const system = stringParam(params, 'sourceSystem') ?? stringParam(params, 'system');
  if (system === undefined) throw badRequest(MSG.translateMissingSystem(), 'system');
  const version = stringParam(params, 'sourceVersion') ?? stringParam(params, 'version');
  return { coding: { system, ...(version ? { version } : {}), code }, from };
}

/** The target concept, for a reverse translation the R5 way: targetCoding, targetCodeableConcept, targetCode + targetSystem. */
function targetConcept(params: InputParams): NamedConcept | undefined {
  const coding = codingParam(params, 'targetCoding');
  if (coding) return { coding, from: 'targetCoding' };
  const cc = firstCoding(params, 'targetCodeableConcept');
  if (cc) return cc;
  // `targetcode` as well, as `targetsystem` is read alongside `targetSystem`
  const from = params.has('targetCode') ? 'targetCode' : 'targetcode';
  const code = stringParam(params, from);
  if (code === undefined) return undefined;
  const system = stringParam(params, 'targetSystem') ?? stringParam(params, 'targetsystem');
  if (system === undefined) throw badRequest(MSG.translateMissingTargetSystem(), 'targetSystem');
  const version = stringParam(params, 'targetVersion');
  return { coding: { system, ...(version ? { version } : {}), code }, from };
}

/** Reads the request into a TranslateInput (without the maps). */
export function parseTranslateInput(params: InputParams): TranslateInput {
  const source = sourceConcept(params);
  const target = source ? undefined : targetConcept(params);
  const named = source ?? target;
  if (!named) throw badRequest(MSG.translateMissingInput(), 'sourceCode');
  if (named.coding.code === undefined || named.coding.code === '') {
    throw badRequest(MSG.codingWithoutCode(named.from), named.from);
  }
  const scopes = {
    ...optional('sourceScope', stringParam(params, 'sourceScope') ?? stringParam(params, 'source')),
    ...optional('targetScope', stringParam(params, 'targetScope') ?? stringParam(params, 'target')),
  };
  const targetSystem = stringParam(params, 'targetSystem') ?? stringParam(params, 'targetsystem');
  const reverse = params.boolean('reverse') === true;
  if (target) {
    if (reverse) throw badRequest(MSG.translateReverseWithTarget(), 'reverse');
    // R5: the source system ("system" in R5, "sourceSystem" as the tx tests send it) says
    // which system the answers come from
    const sourceSystem = stringParam(params, 'sourceSystem') ?? stringParam(params, 'system');
    return { codings: [target.coding], reverse: true, ...scopes, ...optional('sourceSystem', sourceSystem) };
  }
  if (reverse) {
    // R4 reverse: "reverses the meaning of the source and target parameters": the code named is
    // a target code (the scope that holds it is `target`), and targetsystem names the system
    // the answers come from
    return { codings: [named.coding], reverse: true, ...scopes, ...optional('sourceSystem', targetSystem) };
  }
  return { codings: [named.coding], ...scopes, ...optional('targetSystem', targetSystem) };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

export function conceptmapTranslateHandler(req: OperationRequest): OperationResult {
  const { params, ctx } = req;
  const input = parseTranslateInput(params);
  const url = stringParam(params, 'url');
  const supplied = params.resource('conceptMap');
  let maps: ConceptMap[] | undefined;
  if (req.instance?.resourceType === 'ConceptMap') maps = [req.instance as ConceptMap];
  else if (supplied?.resourceType === 'ConceptMap') maps = [supplied];
  else if (supplied)
    throw badRequest(`Parameter 'conceptMap' must hold a ConceptMap, found ${supplied.resourceType}`, 'conceptMap');
  else if (url) maps = conceptMapsByUrl(ctx, url, stringParam(params, 'conceptMapVersion'));
  const result = translateCode(ctx, { ...input, ...(maps ? { conceptMaps: maps } : {}) });
  return { resource: translateResultToParameters(result) };
}

/**
 * R5 relationship -> R4 equivalence for a match whose map states none (an R5 map, an unmapped
 * relationship): as tx.fhir.org converts its answer for R4 clients, not-related-to becomes
 * `unmatched`.
 */
const MATCH_EQUIVALENCE: Readonly<Record<Relationship, string>> = {
  'related-to': 'relatedto',
  equivalent: 'equivalent',
  'source-is-narrower-than-target': 'wider',
  'source-is-broader-than-target': 'narrower',
  'not-related-to': 'unmatched',
};

function matchParts(m: TranslateMatch, reverse: boolean): ParametersParameter[] {
  const part: ParametersParameter[] = [];
  if (m.noMap) part.push({ name: 'noMap', valueBoolean: true });
  if (m.concept) part.push({ name: 'concept', valueCoding: m.concept });
  const equivalence = m.equivalence ?? (m.relationship ? MATCH_EQUIVALENCE[m.relationship] : undefined);
  if (equivalence) part.push({ name: 'equivalence', valueCode: equivalence });
  if (m.sourceComment) part.push({ name: 'sourceComment', valueString: m.sourceComment });
  if (m.targetComment) part.push({ name: 'targetComment', valueString: m.targetComment });
  for (const p of m.product) {
    const product: ParametersParameter[] = [];
    if (p.property) product.push({ name: 'element', valueString: p.property });
    product.push({
      name: 'concept',
      valueCoding: { ...(p.system ? { system: p.system } : {}), ...(p.value ? { code: p.value } : {}) },
    });
    part.push({ name: 'product', part: product });
  }
  // a map given in the request without a url has no canonical to name
  if (m.originMap) part.push({ name: 'originMap', valueCanonical: m.originMap });
  // reverse: the source concept that maps to the code asked about (`source`, as the tx tests
  // expect it); noMap: the source concept that has no map (`sourceConcept`, as tx.fhir.org names it)
  if (m.source) part.push({ name: reverse ? 'source' : 'sourceConcept', valueCoding: m.source });
  return part;
}

/**
 * The $translate output in R4 form: `equivalence` in each match (the tx-ecosystem templates
 * require it on R4 and make `relationship` optional there), the map as `originMap`, the maps an
 * other-map chain went through as `used-conceptmap`.
 */
export function translateResultToParameters(result: TranslateResult): Parameters {
  const out = new OutputParams()
    .add('result', 'valueBoolean', result.result)
    .add('message', 'valueString', result.message);
  for (const m of result.matches) out.addPart('match', matchParts(m, result.reverse));
  for (const used of result.usedConceptMaps) if (used) out.add('used-conceptmap', 'valueUri', used);
  return out.toParameters();
}

export const conceptmapTranslateOperation: OperationDef = {
  code: 'translate',
  definition: 'http://hl7.org/fhir/OperationDefinition/ConceptMap-translate',
  resourceTypes: ['ConceptMap'],
  type: true,
  instance: true,
  get: true,
  parameters: [
    { name: 'url', type: 'uri', max: 1 },
    { name: 'conceptMap', type: 'Resource', resourceTypes: ['ConceptMap'], max: 1 },
    { name: 'conceptMapVersion', type: 'string', max: 1 },
    // R4
    { name: 'code', type: 'code', max: 1 },
    { name: 'system', type: 'uri', max: 1 },
    { name: 'version', type: 'string', max: 1 },
    { name: 'source', type: 'uri', max: 1 },
    { name: 'coding', type: 'Coding', max: 1 },
    { name: 'codeableConcept', type: 'CodeableConcept', max: 1 },
    { name: 'target', type: 'uri', max: 1 },
    { name: 'targetsystem', type: 'uri', max: 1 },
    { name: 'dependency', type: 'part', max: '*' },
    { name: 'reverse', type: 'boolean', max: 1 },
    // R5
    { name: 'sourceCode', type: 'code', max: 1 },
    { name: 'sourceSystem', type: 'uri', max: 1 },
    { name: 'sourceVersion', type: 'string', max: 1 },
    { name: 'sourceScope', type: 'uri', max: 1 },
    { name: 'sourceCoding', type: 'Coding', max: 1 },
    { name: 'sourceCodeableConcept', type: 'CodeableConcept', max: 1 },
    { name: 'targetCode', type: 'code', max: 1 },
    { name: 'targetcode', type: 'code', max: 1 },
    { name: 'targetVersion', type: 'string', max: 1 },
    { name: 'targetCoding', type: 'Coding', max: 1 },
    { name: 'targetCodeableConcept', type: 'CodeableConcept', max: 1 },
    { name: 'targetScope', type: 'uri', max: 1 },
    { name: 'targetSystem', type: 'uri', max: 1 },
  ],
  handler: conceptmapTranslateHandler,
};
