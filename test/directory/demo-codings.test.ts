import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Bundle, CodeSystem, Coding, Parameters, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type FakeHelserefusjon, startFakeHelserefusjon } from '../fakes/helserefusjon-server.ts';
import { SYNTHETIC_PERSONS } from '../fakes/hpr-persons.ts';
import { type FakeHprServer, fakeHprEnv, startFakeHpr, testClientKey } from '../fakes/hpr-server.ts';
import { fetchFhir } from '../support/fhir.ts';

/**
 * Every coding the directory emits validates against the service itself (issue 10, item 3).
 *
 * The real server process (src/main.ts) runs as `npm run demo` runs it, against the fake
 * Maskinporten + HPR (synthetic persons) and FNSP in demo mode, plus the fake Helserefusjon API (so
 * bandagists are served too). The test reads every Practitioner of the fake, pages through every
 * Organization, Location and HealthcareService, collects each coding anywhere in them (meta tags
 * included) and asks the same server `CodeSystem/$validate-code` for it, display included.
 *
 * SNOMED CT is the one system the service does not serve (README, "Code systems we emit"): a
 * licensed international terminology with servers of its own; for it the answer must be the honest
 * "unknown code system", never a validation.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = resolve(ROOT, 'node_modules/.bin/node');
const SNOMED_CT = 'http://snomed.info/sct';

let hpr: FakeHprServer;
let helserefusjon: FakeHelserefusjon;
let child: ChildProcess;
let base = '';
let snapshotDir = '';

async function waitForListening(c: ChildProcess): Promise<number> {
  return new Promise((resolvePort, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${out.slice(-500)}`)), 60_000);
    c.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"listening"'));
      if (line) {
        clearTimeout(timer);
        resolvePort((JSON.parse(line) as { port: number }).port);
      }
    });
    c.on('exit', (code) => reject(new Error(`the server exited (${code}): ${out.slice(-500)}`)));
  });
}

beforeAll(async () => {
  const key = testClientKey();
  hpr = await startFakeHpr({ clients: [key.client] });
  helserefusjon = await startFakeHelserefusjon();
  snapshotDir = mkdtempSync(join(tmpdir(), 'demo-codings-'));
  child = spawn(NODE, ['src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...fakeHprEnv(hpr, key),
      HPR_SYNTHETIC_DATA: 'true',
      FNSP_DEMO: 'true',
      HELSEREFUSJON_BASE_URL: helserefusjon.url,
      HELSEREFUSJON_SNAPSHOT_DIR: snapshotDir,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  base = `http://127.0.0.1:${await waitForListening(child)}/fhir`;
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await hpr?.close();
  await helserefusjon?.close();
  if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
});

/** Every coding in a resource, wherever it sits (an object with a string system and code). */
function codingsOf(value: unknown, out: Coding[] = []): Coding[] {
  if (Array.isArray(value)) for (const v of value) codingsOf(v, out);
  else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.system === 'string' && typeof o.code === 'string') out.push(o as Coding);
    for (const v of Object.values(o)) codingsOf(v, out);
  }
  return out;
}

async function searchAll(type: string): Promise<Resource[]> {
  const found: Resource[] = [];
  let next: string | undefined = `${base}/${type}?_count=100`;
  while (next) {
    const page: { status: number; body: Bundle } = await fetchFhir<Bundle>(next);
    expect(page.status).toBe(200);
    for (const e of page.body.entry ?? []) if (e.resource) found.push(e.resource);
    next = page.body.link?.find((l) => l.relation === 'next')?.url;
  }
  return found;
}

async function validate(c: Coding): Promise<Parameters> {
  const q = new URLSearchParams({ url: c.system ?? '', code: c.code ?? '' });
  if (c.version) q.set('version', c.version);
  if (c.display) q.set('display', c.display);
  const res = await fetchFhir<Parameters>(`${base}/CodeSystem/$validate-code?${q}`);
  expect(res.status).toBe(200);
  return res.body;
}

const param = (p: Parameters, name: string) => p.parameter?.find((x) => x.name === name);

describe('every coding the demo serves validates against the service', () => {
  const resources: Resource[] = [];

  beforeAll(async () => {
    for (const p of SYNTHETIC_PERSONS) {
      const read = await fetchFhir(`${base}/Practitioner/${p.hprNummer}`);
      expect(read.status).toBe(200);
      resources.push(read.body);
    }
    for (const type of ['Organization', 'Location', 'HealthcareService']) resources.push(...(await searchAll(type)));
  }, 60_000);

  test('the demo serves each kind of resource', () => {
    const types = new Set(resources.map((r) => r.resourceType));
    expect([...types].sort()).toEqual(['HealthcareService', 'Location', 'Organization', 'Practitioner']);
  });

  test('each coding (system, code, display) is valid', async () => {
    const seen = new Map<string, Coding>();
    for (const r of resources) {
      for (const c of codingsOf(r)) seen.set(`${c.system}|${c.version ?? ''}|${c.code}|${c.display ?? ''}`, c);
    }
    expect(seen.size).toBeGreaterThan(10);
    const failures: string[] = [];
    for (const c of seen.values()) {
      if (c.system === SNOMED_CT) continue;
      const answer = await validate(c);
      if (param(answer, 'result')?.valueBoolean !== true) {
        failures.push(`${c.system}#${c.code} "${c.display ?? ''}": ${param(answer, 'message')?.valueString}`);
      }
    }
    expect(failures).toEqual([]);
  });

  test('SNOMED CT codings are answered as an unknown code system, not validated', async () => {
    const snomed = resources.flatMap((r) => codingsOf(r)).filter((c) => c.system === SNOMED_CT);
    expect(snomed.length).toBeGreaterThan(0);
    const answer = await validate(snomed[0]);
    expect(param(answer, 'result')?.valueBoolean).toBe(false);
    expect(param(answer, 'x-caused-by-unknown-system')?.valueCanonical).toBe(SNOMED_CT);
  });

  test('the code systems built from the directory are fragments that say where their codes came from', async () => {
    const qualification = 'urn:oid:2.16.578.1.12.4.1.1.7426';
    const bundle = await fetchFhir<Bundle<CodeSystem>>(`${base}/CodeSystem?url=${encodeURIComponent(qualification)}`);
    const cs = bundle.body.entry?.[0]?.resource;
    expect(cs?.content).toBe('fragment');
    expect(cs?.meta?.tag?.map((t) => t.code)).toContain('HTEST');
    expect(cs?.concept?.map((c) => c.code)).toContain('1');
  });
});
