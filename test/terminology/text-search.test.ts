import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { evaluateCompose } from '../../src/terminology/compose.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { hasWordIndex, matchesTextFilter, searchEntries, words } from '../../src/terminology/text-search.ts';
import { propertyRuns } from '../support/property.ts';

/**
 * The $expand text search: a compose result searched repeatedly gets a word index, built in the
 * background; answers through the index are the answers of a scan, for any filter.
 */

const VOCAB = [
  'blod',
  'serum',
  'plasma',
  'urin',
  'kalium',
  'kalsium',
  'natrium',
  'B12',
  'Æble',
  'øye',
  'ca125',
  'anti',
  // beyond Latin-1, and longer than the index's numeric key (three code units)
  'β2-mikroglobulin',
  '中文',
];
const SYSTEM = 'http://example.org/fhir/CodeSystem/search';

function codeSystem(seed: number, size: number): CodeSystem {
  // a deterministic spread of words (seeded linear congruential generator)
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x;
  };
  const concept = Array.from({ length: size }, (_, i) => {
    const n = 1 + (next() % 3);
    const display = Array.from({ length: n }, () => VOCAB[next() % VOCAB.length]).join(next() % 2 ? ' ' : '-');
    const designation = next() % 4 === 0 ? [{ language: 'en', value: VOCAB[next() % VOCAB.length] }] : undefined;
    return { code: `C${i}`, display, ...(designation ? { designation } : {}) };
  });
  return {
    resourceType: 'CodeSystem',
    url: SYSTEM,
    version: '1',
    status: 'active',
    content: 'complete',
    concept,
  };
}

const valueSet: ValueSet = {
  resourceType: 'ValueSet',
  url: 'http://example.org/fhir/ValueSet/search',
  status: 'active',
  compose: { include: [{ system: SYSTEM }] },
};

async function indexReady(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
}

describe('text search', () => {
  test('the index is built in the background after the second search, and answers as a scan does', async () => {
    const store = new TerminologyStore();
    store.add(codeSystem(7, 5000));
    store.add(valueSet);
    const ctx = new TxContext(store);
    const composed = evaluateCompose(ctx, valueSet);
    expect(composed.entries).toHaveLength(5000);
    const reference = (filter: string) =>
      composed.entries.filter((e) => matchesTextFilter(e, [...new Set(words(filter))])).map((e) => e.code);

    // first and second searches scan; the second starts the index, which is not built synchronously
    expect(searchEntries(composed, ['kal']).map((e) => e.code)).toEqual(reference('kal'));
    expect(searchEntries(composed, ['kal']).map((e) => e.code)).toEqual(reference('kal'));
    expect(hasWordIndex(composed)).toBe(false);
    await indexReady(() => hasWordIndex(composed));
    expect(hasWordIndex(composed)).toBe(true);

    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom(...VOCAB.map((w) => w.toLowerCase())),
            // every prefix of a word: shorter than, as long as and longer than the index's key
            fc
              .constantFrom(...VOCAB.flatMap(words))
              .chain((w) => fc.integer({ min: 1, max: w.length }).map((n) => w.slice(0, n))),
            fc.stringMatching(/^[a-zæøåβ中0-9]{1,7}$/),
          ),
          { minLength: 1, maxLength: 3 },
        ),
        (filter) => {
          const text = filter.join(' ');
          const got = searchEntries(composed, [...new Set(words(text))]).map((e) => e.code);
          expect(got).toEqual(reference(text));
        },
      ),
      propertyRuns(300),
    );
  });

  test('a small compose result is scanned and never indexed', async () => {
    const store = new TerminologyStore();
    store.add(codeSystem(3, 50));
    store.add(valueSet);
    const composed = evaluateCompose(new TxContext(store), valueSet);
    for (let i = 0; i < 3; i++) searchEntries(composed, ['blod']);
    await new Promise((r) => setTimeout(r, 20));
    expect(hasWordIndex(composed)).toBe(false);
    expect(searchEntries(composed, ['blod']).map((e) => e.code)).toEqual(
      composed.entries.filter((e) => matchesTextFilter(e, ['blod'])).map((e) => e.code),
    );
  });
});
