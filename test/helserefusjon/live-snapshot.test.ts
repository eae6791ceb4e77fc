import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchHelserefusjonData, type HelserefusjonData } from '../../src/helserefusjon/live-fetch.ts';
import {
  fromSnapshotDocument,
  readSnapshot,
  SNAPSHOT_FILE,
  SnapshotError,
  toSnapshotDocument,
  writeSnapshot,
} from '../../src/helserefusjon/snapshot.ts';
import { createHelserefusjonClient } from '../../src/upstream/helserefusjon.ts';
import { startFakeHelserefusjon } from '../fakes/helserefusjon-server.ts';

// The snapshot of the last good retrieval: the upstream rows in the API's shape, written atomically.

let data: HelserefusjonData;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'helfo-snap-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  const fake = await startFakeHelserefusjon();
  const agent = new Agent();
  try {
    data = await fetchHelserefusjonData(createHelserefusjonClient({ dispatcher: agent, baseUrl: fake.url }), {
      now: () => new Date('2026-11-22T08:15:00.000Z'),
    });
  } finally {
    await agent.close();
    await fake.close();
  }
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('snapshot', () => {
  test('written and read back, it gives the same rows', async () => {
    const dir = join(tmp(), 'nested', 'helserefusjon');
    const file = await writeSnapshot(dir, data);
    expect(file).toBe(join(dir, SNAPSHOT_FILE));
    expect(readdirSync(dir)).toEqual([SNAPSHOT_FILE]);
    expect(await readSnapshot(dir)).toEqual(data);
  });

  test('holds the upstream answers in the API shape, not FHIR', () => {
    const doc = toSnapshotDocument(data);
    expect(doc).toMatchObject({ format: 1, upstream: 'helserefusjon', fetchedAt: '2026-11-22T08:15:00.000Z' });
    expect(Object.keys(doc.answers)).toEqual([
      '/v1/fagomraader',
      '/v1/takstkoder',
      '/v1/nlkkoder',
      '/v1/nlkkoder?samhandlertype=PO',
      '/v1/refusjonskategorisatser?samhandlertype=PO',
      '/v1/apatkombinasjoner?samhandlertype=PO',
      '/v1/nlkkoder?samhandlertype=LR',
      '/v1/refusjonskategorisatser?samhandlertype=LR',
      '/v1/apatkombinasjoner?samhandlertype=LR',
    ]);
    expect(doc.answers['/v1/apatkombinasjoner?samhandlertype=PO']).toHaveProperty('apatKombinasjoner');
    expect(JSON.stringify(doc)).not.toContain('resourceType');
  });

  test('a new snapshot replaces the old one', async () => {
    const dir = tmp();
    await writeSnapshot(dir, { ...data, fetchedAt: '2026-11-21T00:00:00.000Z' });
    await writeSnapshot(dir, data);
    expect(readdirSync(dir)).toEqual([SNAPSHOT_FILE]);
    expect((await readSnapshot(dir))?.fetchedAt).toBe(data.fetchedAt);
  });

  test('no snapshot: undefined', async () => {
    expect(await readSnapshot(tmp())).toBeUndefined();
    expect(await readSnapshot('/nonexistent/helfo')).toBeUndefined();
  });

  test('an unwritable folder fails the write and leaves no temporary file', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'blocker'), 'a file, not a folder');
    await expect(writeSnapshot(join(dir, 'blocker'), data)).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['blocker']);
  });

  test.each<[string, (doc: Record<string, unknown>) => unknown, RegExp]>([
    ['not JSON', () => '{"format": 1,', /is not valid JSON/],
    ['another format', (doc) => ({ ...doc, format: 2 }), /format 2, expected 1/],
    ['no fetchedAt', (doc) => ({ ...doc, fetchedAt: 'i går' }), /fetchedAt is not a date-time/],
    [
      'an answer missing',
      (doc) => ({ ...doc, answers: { ...(doc.answers as object), '/v1/takstkoder': undefined } }),
      /no answer for \/v1\/takstkoder|\/v1\/takstkoder: /,
    ],
    [
      'a malformed row',
      (doc) => ({
        ...doc,
        answers: { ...(doc.answers as object), '/v1/takstkoder': { takstkoder: [{ takstkode: '2ad' }] } },
      }),
      /\/v1\/takstkoder: takstkoder\[0\]\.fagomraade: missing/,
    ],
  ])('an unusable snapshot (%s) is a SnapshotError', async (_name, spoil, message) => {
    const dir = tmp();
    await writeSnapshot(dir, data);
    const doc = JSON.parse(readFileSync(join(dir, SNAPSHOT_FILE), 'utf8'));
    const spoilt = spoil(doc);
    writeFileSync(join(dir, SNAPSHOT_FILE), typeof spoilt === 'string' ? spoilt : JSON.stringify(spoilt));
    const err = await readSnapshot(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as Error).message).toMatch(message);
  });

  test('fromSnapshotDocument refuses what is not an object', () => {
    expect(() => fromSnapshotDocument([])).toThrow('not a JSON object');
  });
});
