import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/fhir.ts';

/**
 * The browsable HTML view in a real browser (issue 11, item 2): Debian's headless Chromium
 * (`/usr/bin/chromium`, installed by `.ci/run` when missing; CHROMIUM_PATH overrides) opens the
 * home page, submits the look-up form and reads the answer as a person would. Screenshots go to
 * test/screenshots/ (git-ignored).
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '..', 'screenshots');

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
  mkdirSync(SHOTS, { recursive: true });
  server = await startTestServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('in Chromium', () => {
  test('the home page lists the Norwegian terminology; the look-up form answers P-Kalium for NPU03230', async () => {
    const context = await browser.newContext({ locale: 'nb-NO' });
    const page = await context.newPage();
    const home = await page.goto(`${server.baseUrl}`);
    expect(home?.status()).toBe(200);
    expect(home?.headers()['content-type']).toMatch(/^text\/html/);
    expect(await page.textContent('h1')).toContain('norske helsedata');
    expect(await page.textContent('body')).toContain('Norsk laboratoriekodeverk');
    await page.screenshot({ path: join(SHOTS, 'home.png'), fullPage: true });

    const lookup = page.locator('form[action$="/CodeSystem/$lookup"]').first();
    await lookup.locator('input[name="system"]').fill('urn:oid:2.16.578.1.12.4.1.1.7280');
    await lookup.locator('input[name="code"]').fill('NPU03230');
    await Promise.all([page.waitForLoadState('load'), lookup.locator('button[type="submit"]').click()]);
    await page.waitForURL(/\$lookup/);
    expect(await page.textContent('body')).toContain('P-Kalium');
    await page.screenshot({ path: join(SHOTS, 'lookup-NPU03230.png'), fullPage: true });

    // the same answer as FHIR JSON, one click away
    const json = page.locator('a', { hasText: 'Som FHIR JSON' });
    expect(await json.getAttribute('href')).toContain('_format=json');
    await context.close();
  });

  test('a code system page in English: metadata, licence and paged codes; $validate-code from its form', async () => {
    const context = await browser.newContext({ locale: 'en-GB', extraHTTPHeaders: { 'Accept-Language': 'en' } });
    const page = await context.newPage();
    await page.goto(`${server.baseUrl}/CodeSystem?url=urn:oid:2.16.578.1.12.4.1.1.7280`);
    await page.locator('table a').first().click();
    await page.waitForLoadState('load');
    const text = (await page.textContent('body')) ?? '';
    expect(text).toContain('Codes (');
    expect(text).toContain('Page 1 of');
    await page.screenshot({ path: join(SHOTS, 'nlk.png') });
    const validate = page.locator('form[action$="/CodeSystem/$validate-code"]');
    await validate.locator('input[name="code"]').fill('NPU03230');
    await Promise.all([page.waitForLoadState('load'), validate.locator('button[type="submit"]').click()]);
    await page.waitForURL(/\$validate-code/);
    expect(await page.textContent('.ok')).toContain('true');
    await context.close();
  });
});
