import { describe, expect, test } from 'vitest';
import { OperationOutcomeError } from '../../src/http/outcome.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { subsumes } from '../../src/terminology/subsumes.ts';
import { FLAT_URL, flatCodeSystem, SIMPLE_URL, simpleCodeSystem } from './lookup-translate-fixtures.ts';

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

  test('hierarchy without is-a meaning is not subsumption', () => {
    const store = new TerminologyStore();
    store.add(flatCodeSystem('part-of'));
    const ctx = new TxContext(store);
    expect(subsumes(ctx, { system: FLAT_URL, codeA: 'dog', codeB: 'dog' }).outcome).toBe('equivalent');
    const err = errorOf(() => subsumes(ctx, { system: FLAT_URL, codeA: 'animal', codeB: 'dog' }));
    expect(err.status).toBe(422);
    expect(err.outcome.issue![0].details!.text).toBe(
      `Subsumption cannot be tested in the CodeSystem '${FLAT_URL}': its hierarchy means 'part-of', not 'is-a'`,
    );
  });

  test.each([
    {
      name: 'unknown codeA',
      input: { system: SIMPLE_URL, codeA: 'nope', codeB: 'code1' },
      status: 404,
      text: `Unknown code 'nope' in the CodeSystem '${SIMPLE_URL}' version '0.1.0'`,
      expression: ['codeA'],
    },
    {
      name: 'unknown codeB',
      input: { system: SIMPLE_URL, codeA: 'code1', codeB: 'nope' },
      status: 404,
      text: `Unknown code 'nope' in the CodeSystem '${SIMPLE_URL}' version '0.1.0'`,
      expression: ['codeB'],
    },
    {
      name: 'unknown system',
      input: { system: 'http://example.org/none', codeA: 'a', codeB: 'b' },
      status: 404,
      text: "A definition for CodeSystem 'http://example.org/none' could not be found",
      expression: undefined,
    },
    {
      name: 'unknown version',
      input: { system: SIMPLE_URL, version: '2', codeA: 'code1', codeB: 'code1' },
      status: 404,
      text: `A definition for CodeSystem '${SIMPLE_URL}' version '2' could not be found. Valid versions: 0.1.0`,
      expression: undefined,
    },
    {
      name: 'no system',
      input: { codeA: 'a', codeB: 'b' },
      status: 400,
      text: 'Unable to perform $subsumes: no system given',
      expression: ['system'],
    },
  ])('$name', ({ input, status, text, expression }) => {
    const err = errorOf(() => subsumes(context(), input));
    expect(err.status).toBe(status);
    expect(err.outcome.issue![0].details!.text).toBe(text);
    expect(err.outcome.issue![0].expression).toEqual(expression);
  });
});
