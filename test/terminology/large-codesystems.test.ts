import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CodeSystem, CodeSystemConcept, OperationOutcome, ValueSet } from '@medplum/fhirtypes';
import { afterAll, describe, expect, test } from 'vitest';
import { compactDataOf } from '../../src/terminology/compact-codesystem.ts';
import { LargeCodeSystemLoader } from '../../src/terminology/large-codesystems.ts';
import { type LargeFile, loadTerminology } from '../../src/terminology/loader.ts';
import { fetchFhir, startTestServer } from '../support/fhir.ts';

/**
 * Large terminology files (large-codesystems.ts): left out of the synchronous load, parsed and
 * indexed in a process of its own (large-codesystem-reader.ts) while the server answers, served once
 * indexed; /readyz says not ready until then.
 */

const dir = mkdtempSync(join(tmpdir(), 'large-cs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const URL = 'http://example.org/fhir/CodeSystem/synthetic-large-test';
const SIZE = 60_000;

/** A SYNTHETIC code system (made-up codes and words), two levels deep. */
function synthetic(): CodeSystem {
  const top: CodeSystemConcept[] = [];
  for (let i = 0; i < SIZE; i += 100) {
    const children: CodeSystemConcept[] = [];
    for (let k = i + 1; k < Math.min(SIZE, i + 100); k++)
      children.push({ code: `S${k}`, display: `syntetisk ord${k % 997}` });
    top.push({ code: `S${i}`, display: `gruppe ${i}`, concept: children });
  }
  return {
    resourceType: 'CodeSystem',
    url: URL,
    version: '1',
    status: 'draft',
    content: 'complete',
    caseSensitive: true,
    concept: top,
  };
}

writeFileSync(
  join(dir, 'small.json'),
  JSON.stringify({
    resourceType: 'CodeSystem',
    url: 'http://example.org/small',
    status: 'active',
    content: 'complete',
    concept: [{ code: 'a' }],
  }),
);
writeFileSync(join(dir, 'SYNTHETIC-large.json'), JSON.stringify(synthetic()));

describe('large terminology files', () => {
  test('are left out of the synchronous load and listed', () => {
    const large: LargeFile[] = [];
    const store = loadTerminology(dir, { core: false, deferLarge: { minBytes: 100_000, into: large } });
    expect(store.versions('CodeSystem', 'http://example.org/small')).toHaveLength(1);
    expect(store.versions('CodeSystem', URL)).toHaveLength(0);
    expect(large.map((f) => f.name)).toEqual(['SYNTHETIC-large.json']);
  });

  test('/readyz says not ready while a large file is indexed, ready after; the event loop keeps answering', async () => {
    const large: LargeFile[] = [];
    const store = loadTerminology(dir, { core: false, deferLarge: { minBytes: 100_000, into: large } });
    const loader = new LargeCodeSystemLoader(large, {
      add: (resources) => {
        for (const r of resources) store.add(r);
      },
    });
    const server = await startTestServer({ store, readiness: () => loader.status() });
    try {
      const before = await fetch(`${server.origin}/readyz`);
      expect(before.status).toBe(503);
      expect(before.headers.get('retry-after')).toBe('5');
      const outcome = (await before.json()) as OperationOutcome;
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue?.[0]?.details?.text).toContain('SYNTHETIC-large.json');

      // the parse and the index are another process's: the event loop is never held long. The bound
      // is generous (1 s, against some 50 ms seen) because the test machines are shared and slow at
      // times: it fails only when the load runs on the event loop (several hundred ms for this file)
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      let healthz = 0;
      const loading = loader.start();
      const polling = (async () => {
        while (!loader.ready && loader.status().failed.length === 0) {
          const r = await fetch(`${server.origin}/healthz`);
          if (r.status === 200) healthz++;
          await new Promise((res) => setTimeout(res, 5));
        }
      })();
      await Promise.all([loading, polling]);
      delay.disable();
      expect(loader.status().failed).toEqual([]);
      expect(healthz).toBeGreaterThan(0);
      expect(delay.max / 1e6).toBeLessThan(1000);

      const after = await fetch(`${server.origin}/readyz`);
      expect(after.status).toBe(200);
      const [cs] = store.versions('CodeSystem', URL);
      expect(compactDataOf(cs)?.count).toBe(SIZE);

      const lookup = await fetchFhir(`${server.baseUrl}/CodeSystem/$lookup?system=${URL}&code=S4242`);
      expect(lookup.status).toBe(200);
      const expanded = await fetchFhir<ValueSet>(
        `${server.baseUrl}/ValueSet/$expand?url=${encodeURIComponent(`${URL}?fhir_vs`)}&filter=ord42&count=5`,
      );
      expect(expanded.status).toBe(200);
      expect(expanded.body.expansion?.total).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  test('a large Bundle (not one CodeSystem) arrives as its resources, every one served', async () => {
    const bundleDir = mkdtempSync(join(dir, 'bundle-'));
    const cs = synthetic();
    const concept = (cs.concept ?? []).slice(0, 200);
    const vs: ValueSet = {
      resourceType: 'ValueSet',
      url: 'http://example.org/fhir/ValueSet/synthetic-large-bundle',
      status: 'draft',
      compose: { include: [{ system: URL, concept: [{ code: 'S100' }] }] },
    };
    writeFileSync(
      join(bundleDir, 'bundle.json'),
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: { ...cs, concept } }, { resource: vs }],
      }),
    );
    const large: LargeFile[] = [];
    const store = loadTerminology(bundleDir, { core: false, deferLarge: { minBytes: 1000, into: large } });
    const loader = new LargeCodeSystemLoader(large, {
      add: (resources) => {
        for (const r of resources) store.add(r);
      },
    });
    await loader.start();
    expect(loader.status().failed).toEqual([]);
    expect(loader.ready).toBe(true);
    const [served] = store.versions('CodeSystem', URL);
    // a Bundle's code system keeps the object layout, with its concepts as written
    expect(compactDataOf(served)).toBeUndefined();
    expect((served as CodeSystem).concept).toHaveLength(200);
    expect(store.versions('ValueSet', vs.url as string)).toHaveLength(1);
  });

  test("a file that is not terminology fails with the reader's message, naming the file only", async () => {
    const other = mkdtempSync(join(dir, 'other-'));
    writeFileSync(join(other, 'patient.json'), JSON.stringify({ resourceType: 'Patient', id: 'x'.repeat(500) }));
    const large: LargeFile[] = [];
    loadTerminology(other, { core: false, deferLarge: { minBytes: 100, into: large } });
    const loader = new LargeCodeSystemLoader(large, { add: () => undefined });
    await loader.start();
    const [failed] = loader.status().failed;
    expect(failed.name).toBe('patient.json');
    expect(failed.reason).toContain('resourceType Patient is not a CodeSystem');
    expect(failed.reason).not.toContain(other);
  });

  test('a file that cannot be read keeps /readyz not ready and says why', async () => {
    const bad = mkdtempSync(join(dir, 'bad-'));
    writeFileSync(join(bad, 'broken.json'), `{"resourceType": "CodeSystem", ${' '.repeat(200)}`);
    const large: LargeFile[] = [];
    loadTerminology(bad, { core: false, deferLarge: { minBytes: 100, into: large } });
    const loader = new LargeCodeSystemLoader(large, { add: () => undefined });
    await loader.start();
    expect(loader.ready).toBe(false);
    expect(loader.status().failed).toEqual([{ name: 'broken.json', reason: expect.stringMatching(/not valid JSON/) }]);
  });
});
