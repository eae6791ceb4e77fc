import type { CodeSystem, Parameters } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { pickLang } from '../../src/html/i18n.ts';
import type { PageContext } from '../../src/html/page.ts';
import { CONCEPTS_PER_PAGE, renderHome, renderHtml } from '../../src/html/render.ts';
import { TerminologyStore } from '../../src/terminology/store.ts';

// The pages of the HTML view (issue 11, item 2), rendered without a server.

const ctx = (query = '', lang: 'nb' | 'en' = 'nb', path = '/CodeSystem/x'): PageContext => ({
  lang,
  base: 'https://tx.example/fhir',
  path,
  query: new URLSearchParams(query),
});

describe('language', () => {
  test.each([
    [undefined, 'nb'],
    ['en', 'en'],
    ['en-GB,en;q=0.9', 'en'],
    ['nb-NO,nb;q=0.9,en;q=0.8', 'nb'],
    ['nn', 'nb'],
    ['de, en;q=0.5', 'en'],
    ['fr', 'nb'],
    ['en;q=0.3, no;q=0.7', 'nb'],
  ])('Accept-Language %s -> %s', (header, lang) => {
    expect(pickLang(header)).toBe(lang);
  });
});

describe('pages', () => {
  const many: CodeSystem = {
    resourceType: 'CodeSystem',
    id: 'x',
    url: 'http://example.org/x',
    title: 'Tittel <script>alert(1)</script>',
    status: 'active',
    content: 'complete',
    concept: Array.from({ length: CONCEPTS_PER_PAGE + 5 }, (_, i) => ({ code: `c${i}`, display: `Kode & ${i}` })),
  };

  test('data are escaped, never markup', () => {
    const html = renderHtml(ctx(), many);
    expect(html).not.toContain('<script>');
    expect(html).toContain('Tittel &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Kode &amp; 0');
  });

  test('codes are paged; each links to its look-up; the page links to its JSON and XML forms', () => {
    const first = renderHtml(ctx(), many);
    expect(first).toContain('Side 1 av 2');
    expect(first).toContain('>c99<');
    expect(first).not.toContain('>c100<');
    expect(first).toContain(
      'href="https://tx.example/fhir/CodeSystem/$lookup?system=http%3A%2F%2Fexample.org%2Fx&amp;code=c0"',
    );
    expect(first).toContain('href="https://tx.example/fhir/CodeSystem/x?_format=json"');
    expect(first).toContain('href="https://tx.example/fhir/CodeSystem/x?_format=xml"');
    const second = renderHtml(ctx('page=2', 'en'), many);
    expect(second).toContain('Page 2 of 2');
    expect(second).toContain('>c104<');
    expect(second).toContain('lang="en"');
  });

  test('an operation answer: the result first, properties on one line', () => {
    const p: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'result', valueBoolean: true },
        { name: 'display', valueString: 'P-Kalium' },
        {
          name: 'property',
          part: [
            { name: 'code', valueCode: 'enhet' },
            { name: 'value', valueString: 'mmol/L' },
          ],
        },
      ],
    };
    const html = renderHtml(ctx('', 'nb', '/CodeSystem/$lookup'), p);
    expect(html).toContain('<p class="ok">Resultat: true — P-Kalium</p>');
    expect(html).toContain('<code>enhet</code>: mmol/L');
  });

  test('the home page lists what is searched for, by title, URL or OID', () => {
    const store = new TerminologyStore();
    store.add({
      ...many,
      id: 'a',
      title: 'Alfa',
      identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.3' }],
    });
    store.add({ ...many, id: 'b', url: 'http://example.org/b', title: 'Beta' });
    const home = (q: string) => renderHome(ctx(`q=${encodeURIComponent(q)}`, 'nb', ''), store);
    expect(home('1.2.3')).toContain('>Alfa<');
    const found = home('1.2.3');
    expect(found).not.toContain('>Beta<');
    expect(home('beta')).toContain('>Beta<');
    expect(home('')).toContain('Slå opp en kode');
  });
});
