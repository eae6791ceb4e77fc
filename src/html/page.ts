import { type Labels, type Lang, labels } from './i18n.ts';

/**
 * The frame of every page of the HTML view: plain server-rendered HTML5, one small inline style
 * sheet (the only thing the pages' Content-Security-Policy allows besides forms to this server), no
 * script. Every text that comes from data or from the request is escaped.
 */

export interface PageContext {
  lang: Lang;
  /** the absolute FHIR base the request reached (links are built on it) */
  base: string;
  /** the request path below the FHIR base, e.g. `/CodeSystem/abc` (empty for the home page) */
  path: string;
  /** the request's query, without `_format` */
  query: URLSearchParams;
}

/** The Content-Security-Policy of HTML pages: inline style only, forms to this server, no framing. */
export const HTML_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function esc(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A link to a path below the FHIR base, with query parameters. */
export function href(ctx: PageContext, path: string, params: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const qs = q.toString();
  return `${ctx.base}${path}${qs ? `?${qs}` : ''}`;
}

/** This page in another format (`_format=json` or `xml`). */
export function formatLink(ctx: PageContext, format: 'json' | 'xml'): string {
  const q = new URLSearchParams(ctx.query);
  q.set('_format', format);
  return `${ctx.base}${ctx.path}?${q.toString()}`;
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#fafbfc}
header{background:#00366f;color:#fff;padding:.6em 1.2em}
header a{color:#fff;margin-right:1.2em;text-decoration:none}
header a:hover{text-decoration:underline}
main{padding:1em 1.2em;max-width:80em}
h1{font-size:1.5em;margin:.3em 0 .6em}
h2{font-size:1.2em;margin:1.4em 0 .5em}
table{border-collapse:collapse;margin:.4em 0 1em;background:#fff}
th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#eef2f6}
td.code,code{font-family:ui-monospace,Menlo,Consolas,monospace}
form{background:#fff;border:1px solid #d0d7de;padding:.6em .8em;margin:.5em 0 1em;display:inline-block}
label{display:inline-block;margin:.2em .8em .2em 0}
input{font:inherit;padding:.15em .3em}
.formats{float:right;font-size:.9em}
.formats a{margin-left:1em}
.muted{color:#57606a}
.ok{color:#116329;font-weight:bold}
.bad{color:#b3261e;font-weight:bold}
pre{background:#fff;border:1px solid #d0d7de;padding:.6em;overflow:auto}
`;

/** A whole page: header with navigation, the format links, the body. */
export function page(
  ctx: PageContext,
  title: string,
  body: string,
  formats: readonly ('json' | 'xml')[] = ['json', 'xml'],
): string {
  const l: Labels = labels(ctx.lang);
  const nav = [
    [href(ctx, ''), l.home],
    [href(ctx, '/CodeSystem', { _count: '100' }), l.codeSystems],
    [href(ctx, '/ValueSet', { _count: '100' }), l.valueSets],
    [href(ctx, '/ConceptMap', { _count: '100' }), l.conceptMaps],
    [`${ctx.base.replace(/\/fhir$/, '')}/openapi.json`, 'API (OpenAPI)'],
  ]
    .map(([url, text]) => `<a href="${esc(url)}">${esc(text)}</a>`)
    .join('');
  return (
    `<!DOCTYPE html>\n<html lang="${ctx.lang}"><head><meta charset="utf-8">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${esc(title)}</title><style>${STYLE}</style></head><body>` +
    `<header><nav>${nav}</nav></header><main>` +
    `<div class="formats">${formats
      .map((f) => `<a href="${esc(formatLink(ctx, f))}">${esc(f === 'json' ? l.asJson : l.asXml)}</a>`)
      .join('')}</div>` +
    `<h1>${esc(title)}</h1>${body}</main></body></html>`
  );
}

/** A table: header cells and rows of already rendered (escaped) cells. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A two-column table of labelled values; rows without a value are left out. */
export function facts(rows: readonly (readonly [string, string | undefined])[]): string {
  const shown = rows.filter((r): r is readonly [string, string] => r[1] !== undefined && r[1] !== '');
  if (shown.length === 0) return '';
  return `<table><tbody>${shown.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;
}

/** A GET form to an operation; `fields` are [name, label, value, size]. */
export function form(
  ctx: PageContext,
  action: string,
  title: string,
  fields: readonly (readonly [string, string, string?, number?])[],
): string {
  const l = labels(ctx.lang);
  const inputs = fields
    .map(
      ([name, label, value, size]) =>
        `<label>${esc(label)} <input name="${esc(name)}" value="${esc(value ?? '')}" size="${size ?? 30}"></label>`,
    )
    .join('');
  return `<form method="get" action="${esc(`${ctx.base}${action}`)}"><strong>${esc(title)}</strong><br>${inputs}<button type="submit">${esc(l.submit)}</button></form>`;
}
