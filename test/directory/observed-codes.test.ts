import type { CodeSystem, OperationOutcome, Parameters, Practitioner, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { facadeCodeSystems } from '../../mappings/facade-codesystems.ts';
import { directoryOrigin, type ObservedOrigin, observedCodeSystem } from '../../mappings/observed-codesystem.ts';
import {
  MAX_OBSERVED_SYSTEMS,
  ObservedCodes,
  volvenSeeds,
  withObservedCodes,
} from '../../src/directory/observed-codes.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';
import { fixedSource } from '../../src/terminology-sources.ts';
import { expectValidFhir, fetchFhir, startTestServer, type TestServer, testStore } from '../support/fhir.ts';

// The Volven code systems built from what the directory's upstreams return (issue 10, item 3).

const V7426 = 'urn:oid:2.16.578.1.12.4.1.1.7426';
const V7704 = 'urn:oid:2.16.578.1.12.4.1.1.7704';
const V9060 = 'urn:oid:2.16.578.1.12.4.1.1.9060';

const HPR: ObservedOrigin = directoryOrigin(
  'hpr',
  'Helsepersonellregisteret (HPR)',
  {
    source: 'https://api.offentlig.hpr.nhn.no/v1/personer',
    tag: [{ system: 'https://no-fhir-facade.example/fhir/CodeSystem/datakilde', code: 'hpr', display: 'HPR' }],
    licence: 'NLOD 2.0',
  },
  false,
);
const DEMO: ObservedOrigin = { ...HPR, name: 'synthetic-hpr', label: 'syntetiske HPR-data', synthetic: true };

function practitioner(codings: { system: string; code: string; display?: string }[]): Practitioner {
  return {
    resourceType: 'Practitioner',
    qualification: codings.map((c) => ({ code: { coding: [c] } })),
  };
}

describe('ObservedCodes', () => {
  test('notes Volven codings only, with their texts; the version moves only on something new', () => {
    const o = new ObservedCodes();
    o.record(
      [
        practitioner([
          { system: V7426, code: '1', display: 'Allmennmedisin' },
          { system: 'http://snomed.info/sct', code: '73761001', display: 'Colonoscopy' },
          { system: 'urn:oid:2.16.578.1.12.4.1.4.4', code: '9' },
        ]),
      ],
      HPR,
    );
    const v = o.version;
    expect(v).toBeGreaterThan(0);
    o.record([practitioner([{ system: V7426, code: '1', display: 'Allmennmedisin' }])], HPR);
    expect(o.version).toBe(v);
    expect(o.status()).toEqual({ systems: { [V7426]: 1 } });
    o.record([practitioner([{ system: V7426, code: '1', display: 'Allmennmedisin (ny tekst)' }])], HPR);
    expect(o.version).toBeGreaterThan(v);
    const [cs] = o.codeSystems();
    expect(cs.concept).toEqual([
      { code: '1', display: 'Allmennmedisin', designation: [{ value: 'Allmennmedisin (ny tekst)' }] },
    ]);
    // the same objects until something changes
    expect(o.codeSystems()[0]).toBe(cs);
  });

  test('a system the terminology holds whole is not observed', () => {
    const o = new ObservedCodes();
    o.setHeld((s) => s === V9060);
    o.record([practitioner([{ system: V9060, code: 'LE', display: 'Lege' }])], HPR);
    expect(o.codeSystems()).toEqual([]);
  });

  test('bounded: systems beyond the limit are counted, not kept', () => {
    const o = new ObservedCodes();
    const many = Array.from({ length: MAX_OBSERVED_SYSTEMS + 3 }, (_, i) => ({
      system: `urn:oid:2.16.578.1.12.4.1.1.${10000 + i}`,
      code: 'x',
    }));
    o.record([practitioner(many)], HPR);
    expect(o.codeSystems()).toHaveLength(MAX_OBSERVED_SYSTEMS);
    expect(o.status().leftOut).toEqual({ systems: 3, codes: 0 });
  });
});

describe('observedCodeSystem', () => {
  test('a fragment that names its source and licence, valid R4, without count or version', () => {
    const cs = expectValidFhir<CodeSystem>(
      observedCodeSystem({ system: V7704, concepts: [{ code: '1', displays: ['Autorisasjon'] }], origins: [HPR] }),
    );
    expect(cs).toMatchObject({
      url: V7704,
      content: 'fragment',
      status: 'active',
      experimental: false,
      title: 'Godkjenningstype HPR (utdrag: kodene Helsepersonellregisteret (HPR) har gitt)',
      meta: { source: HPR.source, extension: [{ valueString: 'NLOD 2.0' }], tag: HPR.tags },
      concept: [{ code: '1', display: 'Autorisasjon' }],
    });
    expect(cs.count).toBeUndefined();
    expect(cs.version).toBeUndefined();
    expect(cs.description).toContain('ikke hele kodeverket');
  });

  test('built from synthetic data: HTEST, experimental, said in the description, no licence', () => {
    const { licence: _none, ...demo } = DEMO;
    const cs = expectValidFhir<CodeSystem>(
      observedCodeSystem({ system: V7426, concepts: [{ code: '1', displays: [] }], origins: [demo] }),
    );
    expect(cs.meta?.tag?.[0]).toMatchObject({ code: 'HTEST' });
    expect(cs.meta?.extension).toBeUndefined();
    expect(cs.experimental).toBe(true);
    expect(cs.description).toContain('syntetiske testdata');
  });

  test('the service’s own code systems are valid R4 and complete', () => {
    for (const cs of facadeCodeSystems()) {
      expectValidFhir(cs);
      expect(cs.content).toBe('complete');
      expect(cs.count).toBe(cs.concept?.length);
    }
  });
});

describe('served with the terminology', () => {
  const observed = new ObservedCodes();
  const seeds = volvenSeeds();
  let server: TestServer;
  const inner = fixedSource(testStore());
  const source = withObservedCodes(inner, observed);

  beforeAll(async () => {
    observed.record(seeds.resources, seeds.origin);
    server = await startTestServer({ terminology: source });
  });
  afterAll(async () => server.close());

  const validate = async (system: string, code: string, display?: string) => {
    const q = new URLSearchParams({ url: system, code, ...(display ? { display } : {}) });
    const res = await fetchFhir<Parameters>(`${server.baseUrl}/CodeSystem/$validate-code?${q}`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const result = (p: Parameters) => p.parameter?.find((x) => x.name === 'result')?.valueBoolean;

  test('served from the start with the codes of the no-basis examples', async () => {
    expect(result(await validate(V7704, '1', 'Autorisasjon'))).toBe(true);
    expect(result(await validate(V7426, '152', 'Ortopedisk kirurgi'))).toBe(true);
    expect(result(await validate('urn:oid:2.16.578.1.12.4.1.1.8655', 'S0208', 'Ortopedisk kirurgi'))).toBe(true);
    const cs = source.current().store.versions('CodeSystem', V7426)[0];
    expect(cs.meta?.source).toBe('https://simplifier.net/packages/hl7.fhir.no.basis/2.2.2');
    // 9060 is held whole: no fragment of it
    expect(source.current().store.versions('CodeSystem', V9060)).toEqual([]);
  });

  test('a code the upstream gives joins the fragment, with its display; the generation moves', async () => {
    const before = source.current().generation;
    observed.record([practitioner([{ system: V7704, code: '2', display: 'Lisens' }])], HPR);
    expect(source.current().generation).toBeGreaterThan(before);
    expect(source.current()).toBe(source.current());
    expect(result(await validate(V7704, '2', 'Lisens'))).toBe(true);
    expect(result(await validate(V7704, '2', 'Noe annet'))).toBe(false);
    // one code system for the url: the fragment grown from the seeds, not a second one
    const versions = source.current().store.versions('CodeSystem', V7704);
    expect(versions).toHaveLength(1);
    expect(versions[0].concept?.map((c) => c.code)).toEqual(['1', '2']);
  });

  test('a code the fragment lacks is not declared invalid: it may be valid in another fragment', async () => {
    const answer = await validate(V7704, '99');
    expect(result(answer)).toBe(true);
    const issues = answer.parameter?.find((x) => x.name === 'issues')?.resource as OperationOutcome;
    expect(issues.issue.map((i) => [i.severity, i.details?.text])).toEqual([
      [
        'warning',
        `Unknown Code '99' in the CodeSystem '${V7704}' version '' - note that the code system is labeled as a fragment, so the code may be valid in some other fragment`,
      ],
    ]);
  });

  test('every fragment reads as valid R4, a seed-only one included (no empty meta.tag)', async () => {
    for (const id of ['volven-7426-utdrag', 'volven-8655-utdrag', 'volven-9040-utdrag']) {
      const read = await fetchFhir<CodeSystem>(`${server.baseUrl}/CodeSystem/${id}`);
      expect(read.status).toBe(200);
      expect(read.body.content).toBe('fragment');
    }
  });

  test('the fragment is found by search and read, like any code system', async () => {
    const found = await fetchFhir(`${server.baseUrl}/CodeSystem?url=${encodeURIComponent(V7704)}`);
    const entry = (found.body as { entry?: { resource: Resource }[] }).entry ?? [];
    expect(entry.map((e) => (e.resource as CodeSystem).content)).toEqual(['fragment']);
    const read = await fetchFhir<CodeSystem>(`${server.baseUrl}/CodeSystem/volven-7704-utdrag`);
    expect(read.status).toBe(200);
  });

  test('a change of the underlying data keeps the fragments', () => {
    const store = new TerminologyStore();
    const own = withObservedCodes(fixedSource(store), observed);
    expect(own.current().store.versions('CodeSystem', V7704)).toHaveLength(1);
    expect(own.current().store.versions('CodeSystem', V7426)).toHaveLength(1);
    store.add({ resourceType: 'CodeSystem', url: 'http://example.org/cs', status: 'active', content: 'complete' });
    const after = own.current();
    expect(after.store.versions('CodeSystem', 'http://example.org/cs')).toHaveLength(1);
    expect(after.store.versions('CodeSystem', V7704)).toHaveLength(1);
  });

  test('/readyz lists the observed systems', async () => {
    const ready = await fetch(`${server.origin}/readyz`);
    const body = (await ready.json()) as Record<string, unknown>;
    expect(JSON.stringify(body)).toContain(V7704);
  });
});
