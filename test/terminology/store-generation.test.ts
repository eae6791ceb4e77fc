/**
 * What the store's generation promises the caches built on it: every change that can change an
 * answer (a resource added, an alias declared) starts a new generation, so a resolution or answer
 * kept for the old one is not served again (code-systems.ts keeps resolutions per generation,
 * response-cache.ts answers).
 */
import type { CodeSystem } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { isCodeSystemProblem, resolveSystem } from '../../src/terminology/code-systems.ts';
import { TxContext } from '../../src/terminology/context.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { NO_VERSION_RULES } from '../../src/terminology/version-rules.ts';

const URL = 'http://example.org/fhir/CodeSystem/generations';

function version(v: string, codes: string[]): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url: URL,
    version: v,
    status: 'active',
    content: 'complete',
    concept: codes.map((code) => ({ code, display: `Code ${code}` })),
  };
}

describe('store generation', () => {
  test('an alias starts a new generation; declaring the same alias again does not', () => {
    const store = new TerminologyStore();
    store.add(version('1', ['a']));
    const before = store.generation;
    store.addAlias('CodeSystem', 'urn:oid:1.2.3', URL);
    expect(store.generation).toBeGreaterThan(before);
    const after = store.generation;
    store.addAlias('CodeSystem', 'urn:oid:1.2.3', URL);
    expect(store.generation).toBe(after);
  });

  test('a system known only by an alias declared after a first look-up resolves once the alias is there', () => {
    const store = new TerminologyStore();
    store.add(version('1', ['a']));
    const first = resolveSystem(new TxContext(store), NO_VERSION_RULES, 'urn:oid:1.2.3', undefined);
    expect(isCodeSystemProblem(first) && first.kind).toBe('unknown-system');
    store.addAlias('CodeSystem', 'urn:oid:1.2.3', URL);
    const second = resolveSystem(new TxContext(store), NO_VERSION_RULES, 'urn:oid:1.2.3', undefined);
    expect(isCodeSystemProblem(second)).toBe(false);
    if (!isCodeSystemProblem(second)) expect(second.url).toBe(URL);
  });

  test('a newer version added after a look-up is the one a versionless look-up finds next', () => {
    const store = new TerminologyStore();
    store.add(version('1', ['a']));
    const first = resolveSystem(new TxContext(store), NO_VERSION_RULES, URL, undefined);
    expect(!isCodeSystemProblem(first) && first.version).toBe('1');
    store.add(version('2', ['a', 'b']));
    const second = resolveSystem(new TxContext(store), NO_VERSION_RULES, URL, undefined);
    expect(!isCodeSystemProblem(second) && second.version).toBe('2');
    expect(!isCodeSystemProblem(second) && second.index.get('b')?.display).toBe('Code b');
  });

  test('a look-up on a date is not answered from a look-up without one (or on another day)', () => {
    const store = new TerminologyStore();
    const dated = (v: string, start: string, end: string): CodeSystem => ({
      ...version(v, ['a']),
      extension: [
        {
          url: 'http://hl7.org/fhir/StructureDefinition/resource-effectivePeriod',
          valuePeriod: { start, end },
        },
      ],
    });
    store.add(dated('2022', '2022-01-01', '2022-12-31'));
    store.add(dated('2023', '2023-01-01', '2023-12-31'));
    const on = (date: string | undefined) => {
      const r = resolveSystem(
        new TxContext(store, [], date === undefined ? {} : { date }),
        NO_VERSION_RULES,
        URL,
        undefined,
      );
      return isCodeSystemProblem(r) ? r.kind : r.version;
    };
    expect(on(undefined)).toBe('2023');
    expect(on('2022-06-01')).toBe('2022');
    expect(on('2023-06-01')).toBe('2023');
    expect(on('2021-06-01')).toBe('no-version-on-date');
  });
});
