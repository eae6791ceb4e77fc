import type { CodeableConcept, Coding, ConceptMap, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { badRequest } from '../http/outcome.ts';
import type { InputParams } from '../http/params.ts';
import { OutputParams } from '../http/params.ts';
import { MSG } from '../terminology/operation-messages.ts';
import type { TranslateInput, TranslateResult } from '../terminology/translate.ts';
import { conceptMapsByUrl, translateCode } from '../terminology/translate.ts';
import { codeableConceptParam, codingParam, stringParam } from './coding-params.ts';
import type { OperationDef, OperationRequest, OperationResult } from './types.ts';

/**
 * ConceptMap/$translate, type and instance level, with both the R4 parameter names
 * (http://hl7.org/fhir/R4/conceptmap-operation-translate.html: code, system, version, coding,
 * codeableConcept, source, target, targetsystem, reverse) and the R5 ones
 * (https://hl7.org/fhir/R5/conceptmap-operation-translate.html: sourceCode, sourceCoding,
 * sourceCodeableConcept, targetCode, targetCoding, targetCodeableConcept, sourceScope,
 * targetScope, targetSystem; and `sourceSystem`, as the tx-ecosystem tests send it).
 * `dependency` is accepted and not used.
 */

function withDefaults(coding: Coding, system: string | undefined, version: string | undefined): Coding {
  return {
    ...coding,
    ...(coding.system === undefined && system !== undefined ? { system } : {}),
    ...(coding.version === undefined && version !== undefined ? { version } : {}),
  };
}

function codingsOf(cc: CodeableConcept, system: string | undefined): Coding[] {
  return (cc.coding ?? []).map((c) => withDefaults(c, system, undefined));
}

interface CodeInput {
  codings: Coding[];
  /** the parameter the codings came from, for messages */
  from: string;
}

/** The codes given on the source side (sourceCode/code + system, sourceCoding/coding, sourceCodeableConcept/codeableConcept). */
function sourceSide(params: InputParams): CodeInput | undefined {
  const system = stringParam(params, 'sourceSystem') ?? stringParam(params, 'system');
  const version = stringParam(params, 'sourceVersion') ?? stringParam(params, 'version');
  for (const name of ['sourceCoding', 'coding']) {
    const c = codingParam(params, name);
    if (c) return { codings: [withDefaults(c, system, version)], from: name };
  }
  for (const name of ['sourceCodeableConcept', 'codeableConcept']) {
    const cc = codeableConceptParam(params, name);
    if (cc) return { codings: codingsOf(cc, system), from: name };
  }
  for (const name of ['sourceCode', 'code']) {
    const code = stringParam(params, name);
    if (code !== undefined) return { codings: [{ system, version, code }], from: name };
  }
  return undefined;
}

/** The codes given on the target side (R5 reverse translation). */
function targetSide(params: InputParams): CodeInput | undefined {
  const system = stringParam(params, 'targetSystem') ?? stringParam(params, 'system');
  const version = stringParam(params, 'targetVersion');
  const c = codingParam(params, 'targetCoding');
  if (c) return { codings: [withDefaults(c, system, version)], from: 'targetCoding' };
  const cc = codeableConceptParam(params, 'targetCodeableConcept');
  if (cc) return { codings: codingsOf(cc, system), from: 'targetCodeableConcept' };
  const code = stringParam(params, 'targetCode');
  if (code !== undefined) return { codings: [{ system, version, code }], from: 'targetCode' };
  return undefined;
}

/** Reads the request into a TranslateInput (without the maps). */
export function parseTranslateInput(params: InputParams): TranslateInput {
  const source = sourceSide(params);
  const r4Source = stringParam(params, 'source');
  const r4Target = stringParam(params, 'target');
  const targetSystem = stringParam(params, 'targetSystem') ?? stringParam(params, 'targetsystem');
  let input: TranslateInput;
  let given: CodeInput;
  if (source) {
    given = source;
    if (params.boolean('reverse') === true) {
      // R4: "reverses the meaning of the source and target parameters"
      input = {
        codings: source.codings,
        reverse: true,
        sourceScope: stringParam(params, 'sourceScope') ?? r4Target,
        targetScope: stringParam(params, 'targetScope') ?? r4Source,
        sourceSystem: targetSystem,
      };
    } else {
      input = {
        codings: source.codings,
        sourceScope: stringParam(params, 'sourceScope') ?? r4Source,
        targetScope: stringParam(params, 'targetScope') ?? r4Target,
        targetSystem,
      };
    }
  } else {
    const target = targetSide(params);
    if (!target) throw badRequest(MSG.translateMissingInput(), 'sourceCode');
    given = target;
    input = {
      codings: target.codings,
      reverse: true,
      sourceScope: stringParam(params, 'sourceScope') ?? r4Source,
      targetScope: stringParam(params, 'targetScope') ?? r4Target,
      sourceSystem: stringParam(params, 'sourceSystem'),
    };
  }
  if (!input.codings.some((c) => c.system && c.code)) {
    const coded = input.codings.some((c) => c.code);
    throw badRequest(coded ? MSG.missingSystem('$translate') : MSG.codingWithoutCode(given.from), given.from);
  }
  return input;
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
 * The $translate output in R4 form: `equivalence` in each match (the tx-ecosystem templates
 * take it on R4, with `relationship` optional), the map as `originMap` (as tx.fhir.org gives it
 * on R4 too) and, for a reverse translation, the source concept as `source`.
 */
export function translateResultToParameters(result: TranslateResult): Parameters {
  const out = new OutputParams()
    .add('result', 'valueBoolean', result.result)
    .add('message', 'valueString', result.message);
  for (const m of result.matches) {
    const part: ParametersParameter[] = [
      { name: 'concept', valueCoding: m.concept },
      { name: 'equivalence', valueCode: m.equivalence },
    ];
    if (m.comment) part.push({ name: 'message', valueString: m.comment });
    part.push({ name: 'originMap', valueCanonical: m.originMap });
    for (const p of m.product) {
      const pp: ParametersParameter[] = [];
      if (p.property) pp.push({ name: 'element', valueUri: p.property });
      pp.push({
        name: 'concept',
        valueCoding: {
          ...(p.system ? { system: p.system } : {}),
          ...(p.value ? { code: p.value } : {}),
          ...(p.display ? { display: p.display } : {}),
        },
      });
      part.push({ name: 'product', part: pp });
    }
    if (m.source) part.push({ name: 'source', valueCoding: m.source });
    out.addPart('match', part);
  }
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
    { name: 'targetCoding', type: 'Coding', max: 1 },
    { name: 'targetCodeableConcept', type: 'CodeableConcept', max: 1 },
    { name: 'targetScope', type: 'uri', max: 1 },
    { name: 'targetSystem', type: 'uri', max: 1 },
  ],
  handler: conceptmapTranslateHandler,
};
