import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isUpstreamError } from '../upstream/errors.ts';
import {
  parseApatkombinasjoner,
  parseFagomraader,
  parseNlkkoder,
  parseRefusjonskategorisatser,
  parseTakstkoder,
  SAMHANDLERTYPER,
  type Samhandlertype,
} from '../upstream/helserefusjon.ts';
import type { HelserefusjonData } from './live-fetch.ts';

/**
 * The copy on disk of the last good live retrieval, so a restart while the upstream is down
 * serves it instead of the embedded extract. It holds the upstream rows, not FHIR: each answer in
 * the API's own shape (its wrapper key and field names), keyed by the request that fetched it, and
 * it is read back through the same parsers as a live answer. The FHIR resources are built again
 * from it, so a newer version of the mappings applies to an older snapshot too.
 *
 * Written atomically (a temporary file in the same folder, fsync, rename), so a crash mid-write
 * leaves the previous snapshot in place.
 */

export const SNAPSHOT_FILE = 'helserefusjon-snapshot.json';
export const SNAPSHOT_FORMAT = 1;

/** A snapshot that exists but cannot be used. */
export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

export interface SnapshotDocument {
  format: typeof SNAPSHOT_FORMAT;
  upstream: 'helserefusjon';
  fetchedAt: string;
  /** request path → the answer's body as the API shapes it */
  answers: Record<string, unknown>;
}

const path = (endpoint: string, st?: Samhandlertype) => (st ? `${endpoint}?samhandlertype=${st}` : endpoint);

export function toSnapshotDocument(data: HelserefusjonData): SnapshotDocument {
  const answers: Record<string, unknown> = {
    '/v1/fagomraader': { fagomraader: data.fagomraader },
    '/v1/takstkoder': { takstkoder: data.takstkoder },
    '/v1/nlkkoder': { nlkkoder: data.nlkkoder },
  };
  for (const st of SAMHANDLERTYPER) {
    answers[path('/v1/nlkkoder', st)] = { nlkkoder: data.nlkkoderPerSamhandlertype[st] };
    answers[path('/v1/refusjonskategorisatser', st)] = { refusjonskategorisatser: data.refusjonskategorisatser[st] };
    answers[path('/v1/apatkombinasjoner', st)] = { apatKombinasjoner: data.apatkombinasjoner[st] };
  }
  return { format: SNAPSHOT_FORMAT, upstream: 'helserefusjon', fetchedAt: data.fetchedAt, answers };
}

/** Reads a parsed snapshot document back; throws SnapshotError naming what is wrong. */
export function fromSnapshotDocument(json: unknown): HelserefusjonData {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SnapshotError('not a JSON object');
  const doc = json as Partial<SnapshotDocument>;
  if (doc.format !== SNAPSHOT_FORMAT)
    throw new SnapshotError(`format ${String(doc.format)}, expected ${SNAPSHOT_FORMAT}`);
  if (typeof doc.fetchedAt !== 'string' || Number.isNaN(Date.parse(doc.fetchedAt))) {
    throw new SnapshotError('fetchedAt is not a date-time');
  }
  const answers = doc.answers;
  if (typeof answers !== 'object' || answers === null) throw new SnapshotError('no answers');
  const answer = <T>(key: string, parse: (json: unknown) => T): T => {
    if (!Object.hasOwn(answers, key)) throw new SnapshotError(`no answer for ${key}`);
    try {
      return parse(answers[key]);
    } catch (err) {
      if (isUpstreamError(err)) throw new SnapshotError(`${key}: ${err.reason ?? err.message}`);
      throw err;
    }
  };
  const per = <T>(endpoint: string, parse: (json: unknown) => T[]) =>
    Object.fromEntries(SAMHANDLERTYPER.map((st) => [st, answer(path(endpoint, st), parse)])) as Record<
      Samhandlertype,
      T[]
    >;
  return {
    fetchedAt: doc.fetchedAt,
    fagomraader: answer('/v1/fagomraader', parseFagomraader),
    takstkoder: answer('/v1/takstkoder', (j) => parseTakstkoder(j)),
    nlkkoder: answer('/v1/nlkkoder', parseNlkkoder),
    nlkkoderPerSamhandlertype: per('/v1/nlkkoder', parseNlkkoder),
    refusjonskategorisatser: per('/v1/refusjonskategorisatser', parseRefusjonskategorisatser),
    apatkombinasjoner: per('/v1/apatkombinasjoner', parseApatkombinasjoner),
  };
}

/** Saves `data` as the snapshot in `dir` (created when missing). Resolves with the file's path. */
export async function writeSnapshot(dir: string, data: HelserefusjonData): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, SNAPSHOT_FILE);
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const text = JSON.stringify(toSnapshotDocument(data));
  try {
    const handle = await open(tmp, 'w', 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  return file;
}

/** The snapshot in `dir`, or undefined when there is none; throws SnapshotError when it is unusable. */
export async function readSnapshot(dir: string): Promise<HelserefusjonData | undefined> {
  const file = join(dir, SNAPSHOT_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SnapshotError(`${SNAPSHOT_FILE} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SnapshotError(`${SNAPSHOT_FILE} is not valid JSON`);
  }
  return fromSnapshotDocument(json);
}
