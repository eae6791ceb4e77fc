import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { subsumes } from '../../src/terminology/subsumes.ts';
import { FLAT_URL, flatCodeSystem, SIMPLE_URL, simpleCodeSystem } from './lookup-translate-fixtures.ts';
import { MULTI_URL, multiParentCodeSystem } from './related-fixtures.ts';

const TX = 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type';

function context(): TxContext {
  const store = new TerminologyStore();
  store.add(simpleCodeSystem());
  store.add(flatCodeSystem());
  return new TxContext(store);
}

function errorOf(fn: () => unknown): OperationOutcomeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err;
    throw err;
  }
  throw new Error('expected an OperationOutcomeError');
}

describe('subsumes', () => {
  test.each([
    { system: SIMPLE_URL, codeA: 'code2', codeB: 'code2', outcome: 'equivalent' },
    { system: SIMPLE_URL, codeA: 'code2', codeB: 'code2a', outcome: 'subsumes' },
    { system: SIMPLE_URL, codeA: 'code2', codeB: 'code2aII', outcome: 'subsumes' },
    { system: SIMPLE_URL, codeA: 'code2aI', codeB: 'code2', outcome: 'subsumed-by' },
    { system: SIMPLE_URL, codeA: 'code2aI', codeB: 'code2b', outcome: 'not-subsumed' },
    { system: SIMPLE_URL, codeA: 'code1', codeB: 'code3', outcome: 'not-subsumed' },
    // hierarchy by `parent` property; case-insensitive system
    { system: FLAT_URL, codeA: 'animal', codeB: 'dog', outcome: 'subsumes' },
    { system: FLAT_URL, codeA: 'Dog', codeB: 'MAMMAL', outcome: 'subsumed-by' },
    { system: FLAT_URL, codeA: 'dog', codeB: 'DOG', outcome: 'equivalent' },
    { system: FLAT_URL, codeA: 'bird', codeB: 'dog', outcome: 'not-subsumed' },
  ])('$codeA vs $codeB in $system: $outcome', ({ system, codeA, codeB, outcome }) => {
    expect(subsumes(context(), { system, codeA, codeB }).outcome).toBe(outcome);
  });

  test('reports the code system version used', () => {
    expect(subsumes(context(), { system: SIMPLE_URL, codeA: 'code1', codeB: 'code1' })).toEqual({
      outcome: 'equivalent',
      system: SIMPLE_URL,
      version: '0.1.0',
    });
  });

  test('instance-level: the given resource', () => {
    const r = subsumes(new TxContext(new TerminologyStore()), {
      codeSystem: simpleCodeSystem('7'),
      codeA: 'code2',
      codeB: 'code2b',
    });
    expect(r).toEqual({ outcome: 'subsumes', system: SIMPLE_URL, version: '7' });
  });

  test.each([
    { name: 'nesting', system: SIMPLE_URL, codeA: 'code2', codeB: 'code2aI', outcome: 'subsumes' },
    { name: 'subsumedBy: two parents, first', system: MULTI_URL, codeA: 'left', codeB: 'both', outcome: 'subsumes' },
    { name: 'subsumedBy: two parents, second', system: MULTI_URL, codeA: 'right', codeB: 'both', outcome: 'subsumes' },
    { name: 'subsumedBy: transitive', system: MULTI_URL, codeA: 'both', codeB: 'root', outcome: 'subsumed-by' },
    { name: 'subsumedBy: the two parents', system: MULTI_URL, codeA: 'left', codeB: 'right', outcome: 'not-subsumed' },
    { name: 'subsumedBy: siblings', system: MULTI_URL, codeA: 'both', codeB: 'leftOnly', outcome: 'not-subsumed' },
  ])('hierarchy by $name: $outcome', ({ system, codeA, codeB, outcome }) => {
    const ctx = context();
    ctx.store.add(multiParentCodeSystem());
    expect(subsumes(ctx, { system, codeA, codeB }).outcome).toBe(outcome);
  });

  test('hierarchy without is-a meaning cannot determine subsumption', () => {
    const store = new TerminologyStore();
    store.add(flatCodeSystem('part-of'));
    const ctx = new TxContext(store);
    expect(subsumes(ctx, { system: FLAT_URL, codeA: 'dog', codeB: 'dog' }).outcome).toBe('equivalent');
    const err = errorOf(() => subsumes(ctx, { system: FLAT_URL, codeA: 'animal', codeB: 'dog' }));
    expect(err.status).toBe(422);
    expect(err.outcome.issue![0]).toMatchObject({
      code: 'not-supported',
      details: {
        coding: [{ system: TX, code: 'cannot-determine' }],
        text: `The CodeSystem '${FLAT_URL}|1.0.0' has hierarchyMeaning = part-of, so its hierarchy does not describe subsumption, and subsumption cannot be tested`,
      },
    });
  });

  test.each([
    { content: 'fragment', codeA: 'animal', codeB: 'dog', outcome: 'subsumes' },
    { content: 'fragment', codeA: 'dog', codeB: 'dog', outcome: 'equivalent' },
    { content: 'example', codeA: 'mammal', codeB: 'animal', outcome: 'subsumed-by' },
  ] as const)('a $content answers what it shows: $codeA vs $codeB', ({ content, codeA, codeB, outcome }) => {
    const store = new TerminologyStore();
    store.add({ ...flatCodeSystem(), content });
    expect(subsumes(new TxContext(store), { system: FLAT_URL, codeA, codeB }).outcome).toBe(outcome);
  });

  test.each(['fragment', 'example', 'not-present'] as const)('a %s cannot say "not subsumed"', (content) => {
    const store = new TerminologyStore();
    store.add({ ...flatCodeSystem(), content });
    const err = errorOf(() => subsumes(new TxContext(store), { system: FLAT_URL, codeA: 'bird', codeB: 'dog' }));
    expect(err.status).toBe(422);
    expect(err.outcome.issue![0].details).toEqual({
      coding: [{ system: TX, code: 'cannot-determine' }],
      text: `The CodeSystem '${FLAT_URL}|1.0.0' has content = ${content}, so subsumption cannot be tested (subsumption can only be tested against a code system with content = complete)`,
    });
  });

  test('an unknown code in a fragment says so', () => {
    const store = new TerminologyStore();
    store.add({ ...flatCodeSystem(), content: 'fragment' });
    const err = errorOf(() => subsumes(new TxContext(store), { system: FLAT_URL, codeA: 'cat', codeB: 'dog' }));
    expect(err.status).toBe(404);
    expect(err.outcome.issue![0].details?.text).toBe(
      `Unknown Code 'cat' in the CodeSystem '${FLAT_URL}' version '1.0.0' - note that the code system is labeled as a fragment, so the code may be valid in some other fragment`,
    );
  });

  test.each([
    {
      name: 'unknown codeA',
      input: { system: SIMPLE_URL, codeA: 'nope', codeB: 'code1' },
      status: 404,
      issue: ['code-invalid', 'invalid-code', `Unknown code 'nope' in the CodeSystem '${SIMPLE_URL}' version '0.1.0'`],
      expression: ['codeA'],
    },
    {
      name: 'unknown codingB',
      input: { system: SIMPLE_URL, codeA: 'code1', codeB: 'nope', paths: { a: 'codingA', b: 'codingB' } },
      status: 404,
      issue: ['code-invalid', 'invalid-code', `Unknown code 'nope' in the CodeSystem '${SIMPLE_URL}' version '0.1.0'`],
      expression: ['codingB'],
    },
    {
      name: 'unknown system',
      input: { system: 'http://example.org/none', codeA: 'a', codeB: 'b' },
      status: 404,
      issue: [
        'not-found',
        'not-found',
        "A definition for the CodeSystem 'http://example.org/none' could not be found, so subsumption cannot be tested",
      ],
      expression: undefined,
    },
    {
      name: 'unknown version',
      input: { system: SIMPLE_URL, version: '2', codeA: 'code1', codeB: 'code1' },
      status: 404,
      issue: [
        'not-found',
        'not-found',
        `A definition for the CodeSystem '${SIMPLE_URL}' version '2' could not be found, so subsumption cannot be tested`,
      ],
      expression: undefined,
    },
    {
      name: 'no system',
      input: { codeA: 'a', codeB: 'b' },
      status: 400,
      issue: ['invalid', 'invalid-data', 'No code system is provided for codeA, so subsumption cannot be tested'],
      expression: ['codeA'],
    },
  ])('$name', ({ input, status, issue, expression }) => {
    const err = errorOf(() => subsumes(context(), input));
    expect(err.status).toBe(status);
    const [code, tx, text] = issue;
    expect(err.outcome.issue![0]).toMatchObject({ code, details: { coding: [{ system: TX, code: tx }], text } });
    expect(err.outcome.issue![0].expression).toEqual(expression);
  });
});
