/**
 * The README's catalogue of Norwegian terminology (src/catalogue.ts) is the data's: the table
 * between the markers is what `npm run catalogue` makes of the data now, and every example call in
 * it answers 200 with valid FHIR through the real app.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CATALOGUE_END,
  CATALOGUE_START,
  catalogueRows,
  defaultCatalogue,
  renderCatalogue,
  withCatalogue,
} from '../../src/catalogue.ts';
import { loadConfig } from '../../src/config.ts';
import { loadServedTerminology } from '../../src/terminology-sources.ts';
import { fetchFhir, startTestServer, type TestServer } from '../support/fhir.ts';

const root = join(import.meta.dirname, '..', '..');
const config = loadConfig({});
const rows = catalogueRows(config.terminologyDataDir, config.helserefusjonDataDir, loadServedTerminology(config).store);

describe('the README catalogue', () => {
  test('is the table the data give now (run `npm run catalogue` after changing the data)', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf(CATALOGUE_START) + CATALOGUE_START.length + 1,
      readme.indexOf(CATALOGUE_END),
    );
    expect(section).toBe(defaultCatalogue());
    expect(withCatalogue(readme, defaultCatalogue())).toBe(readme);
  });

  test('lists NLK with its OID and old URLs, 9060 with its OID, and the takst versions newest first', () => {
    const nlk = rows.find((r) => r.url === 'urn:oid:2.16.578.1.12.4.1.1.7280');
    expect(nlk?.aliases).toEqual(
      expect.arrayContaining([
        'http://helsedir.no/fhir/CodeSystem/no-kodeverk-7280-nlk',
        'http://ehelse.no/fhir/CodeSystem/no-kodeverk-7280-nlk',
      ]),
    );
    expect(rows.find((r) => r.url.endsWith('no-kodeverk-9060.codesystem'))?.aliases).toEqual([
      'urn:oid:2.16.578.1.12.4.1.1.9060',
    ]);
    expect(rows.find((r) => r.url.endsWith('/CodeSystem/takstkoder-le'))?.versions[0]).toBe('2023-07-01');
    expect(rows.every((r) => r.source !== '' && r.example.startsWith('/fhir/'))).toBe(true);
    expect(renderCatalogue(rows).split('\n').length).toBe(rows.length + 3);
  });

  describe('every example call', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer();
    });
    afterAll(async () => {
      await server.close();
    });

    test.each(rows.map((r) => [r.type, r.url, r.example]))('%s %s: GET %s answers 200', async (_type, _url, path) => {
      const res = await fetchFhir(`${server.origin}${path}`);
      expect(res.status).toBe(200);
      if (res.body.resourceType === 'Parameters' && path.includes('$translate')) {
        expect(res.body.parameter?.find((p) => p.name === 'result')?.valueBoolean).toBe(true);
      }
    });
  });
});
