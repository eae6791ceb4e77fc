import type { CodeSystem, OperationOutcome, Parameters, ValueSet } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OffloadPool } from '../../src/http/offload.ts';
import { fixedSource } from '../../src/terminology-sources.ts';
import {
  expectValidFhir,
  fetchFhir,
  fetchFhirXml,
  postJson,
  postXml,
  startTestServer,
  type TestServer,
  testStore,
} from '../support/fhir.ts';

/**
 * Heavy operations leave the event loop (issue 9): an operation over its short time slice on the
 * event loop runs again in a worker thread (offload.ts) with the full budget; a large request
 * body goes to the worker unparsed; over the full budget the answer is 422 too-costly.
 */

const BIG = 'http://example.org/fhir/CodeSystem/big';

function bigCodeSystem(n: number): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    url: BIG,
    version: '1',
    status: 'active',
    content: 'complete',
    concept: Array.from({ length: n }, (_, i) => ({ code: `c${i}`, display: `Concept ${i}` })),
  };
}

function expandBig(n: number, count = 3): Parameters {
  const vs: ValueSet = {
    resourceType: 'ValueSet',
    url: 'http://example.org/fhir/ValueSet/big',
    status: 'active',
    compose: { include: [{ system: BIG }] },
  };
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'valueSet', resource: vs },
      { name: 'count', valueInteger: count },
      { name: 'tx-resource', resource: bigCodeSystem(n) },
    ],
  };
}

describe('operations in a worker thread', () => {
  let pool: OffloadPool;
  let withPool: TestServer;
  let inlineOnly: TestServer;

  beforeAll(async () => {
    pool = new OffloadPool({ size: 1, source: fixedSource(testStore()) });
    await pool.start();
    // a 1 ms slice on the event loop: nearly every operation moves to the worker
    withPool = await startTestServer({ offload: pool, config: { operationInlineMs: 1, responseCacheEntries: 0 } });
    inlineOnly = await startTestServer({ config: { responseCacheEntries: 0 } });
  }, 60_000);

  afterAll(async () => {
    await withPool?.close();
    await inlineOnly?.close();
    await pool?.close();
  });

  test('an operation answered in the worker is the answer the event loop gives', async () => {
    // the NLK value set (11,000 codes): more than a 1 ms slice on the event loop
    const nlk = testStore()
      .all('CodeSystem')
      .find((c) => c.url === 'urn:oid:2.16.578.1.12.4.1.1.7280');
    const path = `/ValueSet/$expand?url=${encodeURIComponent(nlk?.valueSet ?? '')}&count=3000&filter=kalium`;
    const a = await fetchFhir(`${withPool.baseUrl}${path}`);
    const b = await fetchFhir(`${inlineOnly.baseUrl}${path}`);
    expect(a.status).toBe(200);
    const strip = (v: ValueSet) => ({ ...v, expansion: { ...v.expansion, identifier: '', timestamp: '' } });
    expect(strip(expectValidFhir<ValueSet>(a.body))).toEqual(strip(expectValidFhir<ValueSet>(b.body)));
    expect(pool.stats.run).toBeGreaterThan(0);
  });

  test('a large answer leaves the worker as UTF-8 bytes and arrives whole, with its length', async () => {
    const nlk = testStore()
      .all('CodeSystem')
      .find((c) => c.url === 'urn:oid:2.16.578.1.12.4.1.1.7280');
    // thousands of NLK displays (Norwegian letters: more bytes than characters), well over 64 KiB
    const path = `/ValueSet/$expand?url=${encodeURIComponent(nlk?.valueSet ?? '')}&count=3000`;
    const before = pool.stats.run;
    // identity: the bytes as the worker made them (fetch would otherwise ask for, and undo, br)
    const res = await fetch(`${withPool.baseUrl}${path}`, {
      headers: { accept: 'application/fhir+json', 'accept-encoding': 'identity' },
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(pool.stats.run).toBeGreaterThan(before);
    expect(Number(res.headers.get('content-length'))).toBe(bytes.byteLength);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    expect(text.length).toBeGreaterThan(64 * 1024);
    expect(text.length).toBeLessThan(bytes.byteLength);
    const vs = expectValidFhir<ValueSet>(JSON.parse(text));
    expect(vs.expansion?.contains).toHaveLength(3000);
    const inline = await fetchFhir(`${inlineOnly.baseUrl}${path}`);
    const strip = (v: ValueSet) => ({ ...v, expansion: { ...v.expansion, identifier: '', timestamp: '' } });
    expect(strip(vs)).toEqual(strip(expectValidFhir<ValueSet>(inline.body)));
  });

  test('a large body is parsed in the worker; bad JSON there is still a 400 OperationOutcome', async () => {
    const ok = await fetchFhir<ValueSet>(`${withPool.baseUrl}/ValueSet/$expand`, postJson(expandBig(20_000)));
    expect(ok.status).toBe(200);
    expect(expectValidFhir<ValueSet>(ok.body).expansion?.contains?.map((c) => c.code)).toEqual(['c0', 'c1', 'c2']);
    const broken = `${JSON.stringify(expandBig(20_000)).slice(0, -5)}`;
    const bad = await fetchFhir<OperationOutcome>(`${withPool.baseUrl}/ValueSet/$expand`, postJson(broken));
    expect(bad.status).toBe(400);
    expect(expectValidFhir<OperationOutcome>(bad.body).issue?.[0]?.details?.text).toBe(
      'Request body is not valid JSON',
    );
  });

  test('a large FHIR XML body is read in the worker, which answers in FHIR XML; bad XML there is a 400', async () => {
    const xml = postXml(expandBig(20_000));
    expect(String(xml.body).length).toBeGreaterThan(256 * 1024);
    const before = pool.stats.run;
    const ok = await fetchFhirXml<ValueSet>(`${withPool.baseUrl}/ValueSet/$expand`, xml);
    expect(ok.status).toBe(200);
    expect(pool.stats.run).toBeGreaterThan(before);
    const json = await fetchFhir<ValueSet>(`${inlineOnly.baseUrl}/ValueSet/$expand`, postJson(expandBig(20_000)));
    const strip = (v: ValueSet) => ({ ...v, expansion: { ...v.expansion, identifier: '', timestamp: '' } });
    expect(strip(ok.body)).toEqual(strip(json.body));
    const broken = { ...xml, body: String(xml.body).slice(0, -20) };
    const bad = await fetchFhirXml<OperationOutcome>(`${withPool.baseUrl}/ValueSet/$expand`, broken);
    expect(bad.status).toBe(400);
    expect(bad.body.issue?.[0]?.details?.text).toMatch(/^Request body is not well-formed XML: /);
  });

  test('the event loop answers /healthz while the worker is busy', async () => {
    const order: string[] = [];
    const heavy = fetchFhir(`${withPool.baseUrl}/ValueSet/$expand`, postJson(expandBig(150_000))).then((r) => {
      order.push(`heavy ${r.status}`);
    });
    await new Promise((r) => setTimeout(r, 50));
    const health = await fetch(`${withPool.origin}/healthz`);
    order.push(`healthz ${health.status}`);
    await heavy;
    expect(order).toEqual(['healthz 200', 'heavy 200']);
  });
});

describe('over the budget', () => {
  let pool: OffloadPool;
  let server: TestServer;

  beforeAll(async () => {
    pool = new OffloadPool({ size: 1, source: fixedSource(testStore()) });
    await pool.start();
    server = await startTestServer({
      offload: pool,
      config: { operationInlineMs: 1, operationWorkLimit: 5000, responseCacheEntries: 0 },
    });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await pool?.close();
  });

  test('an operation that needs more work than allowed is a 422 too-costly OperationOutcome', async () => {
    const res = await fetchFhir<OperationOutcome>(`${server.baseUrl}/ValueSet/$expand`, postJson(expandBig(20_000)));
    expect(res.status).toBe(422);
    const oo = expectValidFhir<OperationOutcome>(res.body);
    expect(oo.issue?.[0]?.code).toBe('too-costly');
    expect(oo.issue?.[0]?.details?.coding?.[0]?.code).toBe('too-costly');
  });

  test('without workers the same limit applies on the event loop', async () => {
    const plain = await startTestServer({ config: { operationWorkLimit: 5000, responseCacheEntries: 0 } });
    try {
      const res = await fetchFhir<OperationOutcome>(`${plain.baseUrl}/ValueSet/$expand`, postJson(expandBig(20_000)));
      expect(res.status).toBe(422);
      expect(expectValidFhir<OperationOutcome>(res.body).issue?.[0]?.code).toBe('too-costly');
    } finally {
      await plain.close();
    }
  });
});
