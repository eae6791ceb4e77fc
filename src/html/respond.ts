import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { Request, Response } from 'express';
import { endMaybeCompressed } from '../http/compression.ts';
import type { TerminologyStore } from '../terminology/store.ts';
import { pickLang } from './i18n.ts';
import { HTML_CSP, type PageContext } from './page.ts';
import { renderHome, renderHtml, renderOpenApi } from './render.ts';

/**
 * Sends the HTML view of an answer (content.ts chose `html` for a browser). The answer is made as
 * for JSON (the same operation, the same response cache entry) and rendered here, so the page shows
 * exactly what the JSON answer holds. `res.locals` carries what the page needs beyond the answer:
 * `fhirBase` (the base the request reached) and `terminologyStore` (for the versions of a resource
 * and the home page), set by the FHIR router for HTML requests only.
 */

const FHIR_MOUNT = '/fhir';

/** What the app gives the pages (`app.locals.htmlView`): the base a request reached, the store served. */
export interface HtmlView {
  baseUrlOf: (req: Request) => string;
  store: () => TerminologyStore;
}

function viewOf(req: Request): HtmlView | undefined {
  return req.app?.locals?.htmlView as HtmlView | undefined;
}

/** The page context of a request: its language, base, path below the base and query (without `_format`). */
export function pageContext(req: Request): PageContext {
  const url = new URL(req.originalUrl ?? req.url, 'http://page.invalid');
  const query = url.searchParams;
  query.delete('_format');
  const path = url.pathname.startsWith(FHIR_MOUNT) ? url.pathname.slice(FHIR_MOUNT.length) : url.pathname;
  const view = viewOf(req);
  const base = view ? view.baseUrlOf(req) : `${req.protocol}://${req.get('host') ?? 'localhost'}${FHIR_MOUNT}`;
  return { lang: pickLang(req.get('accept-language')), base, path: path === '/' ? '' : path, query };
}

function write(res: Response, html: string, status: number): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  // a page has its own policy: an inline style sheet and forms to this server, nothing else
  res.setHeader('Content-Security-Policy', HTML_CSP);
  endMaybeCompressed(res, html);
}

/** Sends the page of an answer already serialised as FHIR JSON (text, or UTF-8 bytes from a worker). */
export function sendHtmlPage(res: Response, body: string | Uint8Array, status: number): void {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  let resource: Resource;
  try {
    resource = JSON.parse(text) as Resource;
  } catch {
    const oo: OperationOutcome = {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'exception', details: { text: 'The answer cannot be shown as a page' } }],
    };
    resource = oo;
    status = 500;
  }
  const req = res.req as Request;
  const store = viewOf(req)?.store();
  write(res, renderHtml(pageContext(req), resource, store), status);
}

/** Sends the OpenAPI document as a page (its JSON is one link away, `_format=json`). */
export function sendOpenApiPage(req: Request, res: Response, doc: Parameters<typeof renderOpenApi>[1]): void {
  const ctx = pageContext(req);
  const origin = ctx.base.endsWith(FHIR_MOUNT) ? ctx.base.slice(0, -FHIR_MOUNT.length) : ctx.base;
  write(res, renderOpenApi({ ...ctx, base: origin }, doc), 200);
}

/** Sends the home page: the terminology served, searchable, and the operation forms. */
export function sendHomePage(req: Request, res: Response, store: TerminologyStore): void {
  write(res, renderHome(pageContext(req), store), 200);
}
