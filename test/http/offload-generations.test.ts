import type { CodeSystem, Parameters } from '@medplum/fhirtypes';
import { afterAll, describe, expect, test } from 'vitest';
import { OffloadPool } from '../../src/http/offload.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import type { ServedTerminologyState, TerminologySource } from '../../src/terminology-sources.ts';
import { expectValidFhir } from '../support/fhir.ts';

/**
 * The offload workers follow the data generations (offload.ts): a new generation sends a worker
 * only the resources it does not hold, and the numbers of those it should drop. Whatever the
 * sequence of additions, replacements and removals, the worker answers from exactly the data
 * served now.
 */

const URL = (n: number) => `http://example.org/fhir/CodeSystem/gen-${n}`;

function codeSystem(n: number, display: string): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: `gen-${n}`,
    url: URL(n),
    version: '1',
    status: 'active',
    content: 'complete',
    concept: [{ code: 'a', display }],
  };
}

/** A source whose data the test replaces, a new generation each time. */
class TestSource implements TerminologySource {
  private state: ServedTerminologyState = { store: new TerminologyStore(), generation: 0, dataSources: [] };
  current(): ServedTerminologyState {
    return this.state;
  }
  serve(resources: CodeSystem[]): void {
    const store = new TerminologyStore();
    for (const r of resources) store.add(r);
    this.state = { store, generation: this.state.generation + 1, dataSources: [] };
  }
}

const source = new TestSource();
const pool = new OffloadPool({ size: 1, source });
afterAll(async () => pool.close());

/** $lookup of code `a` of code system n, run in the worker: its display, or the error text. */
async function lookupInWorker(n: number): Promise<string> {
  const answer = await pool.run({
    operation: 'lookup',
    resourceType: 'CodeSystem',
    instance: false,
    call: { method: 'GET', query: { system: URL(n), code: 'a' }, body: undefined },
    generation: source.current().generation,
    pretty: false,
    deadlineMs: 10_000,
    workLimit: 10_000_000,
  });
  const body = expectValidFhir(
    JSON.parse(typeof answer.body === 'string' ? answer.body : new TextDecoder().decode(answer.body)),
  );
  if (body.resourceType === 'Parameters') {
    return String((body as Parameters).parameter?.find((p) => p.name === 'display')?.valueString);
  }
  return `${answer.status}`;
}

describe('offload workers across data generations', () => {
  test('additions, replacements and removals reach the worker; kept resources are not sent again', async () => {
    const one = codeSystem(1, 'One');
    const two = codeSystem(2, 'Two');
    source.serve([one, two]);
    await pool.start();
    expect(await lookupInWorker(1)).toBe('One');
    expect(await lookupInWorker(2)).toBe('Two');

    // 2 replaced by a new object (new display), 3 added, 1 kept as the same object: 2 sent, not 3
    const sent = pool.stats.resourcesSent;
    source.serve([one, codeSystem(2, 'Two, revised'), codeSystem(3, 'Three')]);
    await pool.refresh();
    expect(pool.stats.resourcesSent - sent).toBe(2);
    expect(await lookupInWorker(1)).toBe('One');
    expect(await lookupInWorker(2)).toBe('Two, revised');
    expect(await lookupInWorker(3)).toBe('Three');

    // 1 removed: the worker no longer knows it
    source.serve([codeSystem(3, 'Three')]);
    await pool.refresh();
    expect(await lookupInWorker(1)).toBe('404');
    expect(await lookupInWorker(3)).toBe('Three');

    // two generations in quick succession, the first not yet sent when the second comes: the
    // worker ends with the second, whole
    source.serve([one, codeSystem(3, 'Three')]);
    const first = pool.refresh();
    source.serve([codeSystem(4, 'Four'), one]);
    await Promise.all([first, pool.refresh()]);
    expect(await lookupInWorker(4)).toBe('Four');
    expect(await lookupInWorker(1)).toBe('One');
    expect(await lookupInWorker(3)).toBe('404');
  });

  test('a job sent with data older than the worker holds is answered from the data served now', async () => {
    source.serve([codeSystem(5, 'Five')]);
    // no refresh: the job itself brings the worker up to date before it runs
    expect(await lookupInWorker(5)).toBe('Five');
  });
});
