/**
 * Every resource loaded from a data folder names where it came from and under which terms
 * (loader.ts, `provenance.json`): `meta.source` and the licence extension on `meta`, nothing else
 * changed; the FHIR core terminology names its package and version.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeSystem } from '@medplum/fhirtypes';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { EXT_SOURCE_LICENCE, loadTerminology, TerminologyLoadError } from '../../src/terminology/loader.ts';

const dataDir = loadConfig({}).terminologyDataDir;
const store = loadTerminology(dataDir);
const licence = (r: { meta?: { extension?: { url: string; valueString?: string }[] } }) =>
  r.meta?.extension?.find((e) => e.url === EXT_SOURCE_LICENCE)?.valueString;

describe('provenance of the served terminology', () => {
  test('Volven 9060 names the NHN repository and commit it was copied from; its content is the file', () => {
    const cs = store.versions('CodeSystem', 'http://helsenorge.no/fhir/CodeSystem/no-kodeverk-9060.codesystem')[0];
    expect(cs.meta?.source).toBe(
      'https://github.com/NorskHelsenett/FHIRCodeAndMore/tree/11cda8894292e1331e0a21eeba609b18b9af59c8/ExampleIG/output',
    );
    expect(licence(cs)).toMatch(/Norsk helsenett/);
    const file = JSON.parse(
      readFileSync(join(dataDir, 'nhn-codes-and-more', 'CodeSystem-no-kodeverk-9060.codesystem.json'), 'utf8'),
    ) as CodeSystem;
    const { meta, ...served } = cs;
    const { meta: fileMeta, ...copied } = file;
    expect(served).toEqual(copied);
    expect({ ...meta, source: undefined, extension: undefined }).toEqual({
      ...fileMeta,
      source: undefined,
      extension: undefined,
    });
  });

  test('no-basis names its package and version; the FHIR core terminology names its npm package', () => {
    const vs = store.versions('ValueSet', 'http://hl7.no/fhir/ValueSet/no-basis-marital-status')[0];
    expect(vs.meta?.source).toBe('https://simplifier.net/packages/hl7.fhir.no.basis/2.2.2');
    const core = store.versions('ValueSet', 'http://hl7.org/fhir/ValueSet/administrative-gender')[0];
    expect(core.meta?.source).toMatch(/^https:\/\/www\.npmjs\.com\/package\/@medplum\/definitions\/v\/\d+\.\d+\.\d+$/);
    expect(licence(core)).toMatch(/CC0/);
  });

  describe('a data folder of ones own', () => {
    const dirs: string[] = [];
    afterAll(() => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
    const folder = (files: Record<string, unknown>): string => {
      const dir = mkdtempSync(join(tmpdir(), 'provenance-'));
      dirs.push(dir);
      for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), JSON.stringify(content));
      return dir;
    };
    const cs: CodeSystem = {
      resourceType: 'CodeSystem',
      url: 'http://example.org/cs',
      status: 'active',
      content: 'complete',
      meta: { source: 'http://example.org/original' },
      concept: [{ code: 'a' }],
    };

    test('without provenance.json nothing is added; a meta.source of the resource itself is kept', () => {
      const plain = loadTerminology(folder({ 'cs.json': { ...cs, meta: undefined } }), { core: false });
      expect(plain.versions('CodeSystem', 'http://example.org/cs')[0].meta).toBeUndefined();
      const kept = loadTerminology(
        folder({ 'cs.json': cs, 'provenance.json': { source: 'https://example.org/pkg/1.0', licence: 'CC0' } }),
        { core: false },
      );
      const r = kept.versions('CodeSystem', 'http://example.org/cs')[0];
      expect(r.meta?.source).toBe('http://example.org/original');
      expect(licence(r)).toBe('CC0');
    });

    test('a provenance.json that is not {source: URI, licence: text} stops the load with a message', () => {
      const bad = folder({ 'cs.json': cs, 'provenance.json': { source: 'not a uri', licence: '' } });
      expect(() => loadTerminology(bad, { core: false })).toThrow(TerminologyLoadError);
      expect(() => loadTerminology(bad, { core: false })).toThrow(/provenance\.json must be/);
    });
  });
});
