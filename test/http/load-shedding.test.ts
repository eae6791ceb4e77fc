import type { OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OutputParams } from '../../src/http/params.ts';
import { operations } from '../../src/operations/registry.ts';
import type { OperationDef } from '../../src/operations/types.ts';
import { fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

/**
 * The event-loop-lag guard (LOAD_SHED_LAG). The app runs in the test's own process, so an operation
 * that blocks the event loop blocks everything, as a hostile request would.
 */

/** `$block?ms=…`: holds the event loop for that long. */
const block: OperationDef = {
  code: 'block',
  definition: 'http://example.org/OperationDefinition/block',
  resourceTypes: [],
  type: false,
  instance: false,
  system: true,
  get: true,
  parameters: [{ name: 'ms', min: 0, max: 1, type: 'integer' }],
  handler: (req) => {
    const ms = req.params.integer('ms') ?? 0;
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // busy: nothing else runs
    }
    return { resource: new OutputParams().add('blocked', 'valueInteger', ms).toParameters() };
  },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The status of a cheap FHIR request, read without validating the body: validation in this process
 * would itself hold the event loop (and be shed).
 */
async function statusOf(server: TestServer, path = '/$versions'): Promise<number> {
  const res = await fetch(`${server.baseUrl}${path}`);
  await res.arrayBuffer();
  return res.status;
}

let guarded: TestServer;
let unguarded: TestServer;
beforeAll(async () => {
  const ops = [...operations, block];
  guarded = await startTestServer({ operations: ops, config: { loadShedLagMs: 150, responseCacheEntries: 0 } });
  unguarded = await startTestServer({ operations: ops, config: { loadShedLagMs: 0, responseCacheEntries: 0 } });
});
afterAll(async () => {
  await guarded.close();
  await unguarded.close();
});

/**
 * Keeps the event loop of this process (and so of the app) busy `busyMs` out of every `busyMs + 20`
 * ms, as a stream of heavy requests would, until the returned function is called.
 */
function keepLoopBusy(busyMs: number): () => void {
  const timer = setInterval(() => {
    const until = performance.now() + busyMs;
    while (performance.now() < until) {
      // busy
    }
  }, 20);
  return () => clearInterval(timer);
}

describe('load shedding on event-loop lag', () => {
  test('while the loop keeps running late, FHIR requests get 503 throttled with Retry-After; /healthz and /metrics do not', async () => {
    // the monitor starts with the first request; let it take a few samples of a quiet loop
    expect(await statusOf(guarded)).toBe(200);
    await sleep(200);
    expect(await statusOf(guarded)).toBe(200);

    const stop = keepLoopBusy(300);
    await sleep(1500);
    const shed = await fetchFhir<OperationOutcome>(`${guarded.baseUrl}/$versions`);
    const health = await fetch(`${guarded.origin}/healthz`);
    const metrics = await fetch(`${guarded.origin}/metrics`);
    const metricsText = await metrics.text();
    stop();
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('1');
    expect(shed.headers.get('cache-control')).toBe('no-store');
    expect(shed.body.issue[0]).toMatchObject({ severity: 'error', code: 'throttled' });
    expect(shed.body.issue[0].details?.text).toMatch(/overloaded \(event-loop delay \d+ ms\)/);
    expect(health.status).toBe(200);
    expect(metrics.status).toBe(200);
    // the shed request is counted, with its 503
    expect(metricsText).toMatch(/^nofhir_http_requests_total\{operation="other",resource="",code="503"\} [1-9]/m);

    // the loop is on time again: served within a few ticks
    await sleep(500);
    expect(await statusOf(guarded)).toBe(200);
  });

  test('one slow request does not shed the traffic after it', async () => {
    await sleep(300);
    expect(await statusOf(guarded, '/$block?ms=500')).toBe(200);
    await sleep(300);
    expect(await statusOf(guarded)).toBe(200);
  });

  test('requests that queued up behind a long block are shed when they are read', async () => {
    await sleep(300);
    expect(await statusOf(guarded)).toBe(200);
    // both requests are sent before the block starts; the second is read after it ends
    const [first, second] = await Promise.all([
      statusOf(guarded, '/$block?ms=500'),
      sleep(5).then(() => statusOf(guarded)),
    ]);
    expect(first).toBe(200);
    expect(second).toBe(503);
  });

  test('LOAD_SHED_LAG=0 turns shedding off', async () => {
    const stop = keepLoopBusy(300);
    await sleep(1000);
    const status = await statusOf(unguarded);
    stop();
    expect(status).toBe(200);
  });
});
