import type { Bundle, BundleLink, Resource } from '@medplum/fhirtypes';

/** One page of a search (FHIR R4 http.html#paging, bundle.html#searchset). */
export interface SearchPage<T extends Resource> {
  /** absolute base of the FHIR endpoint, e.g. https://example.org/fhir */
  baseUrl: string;
  /** the searched resource type, e.g. ValueSet */
  resourceType: string;
  /** every match, in a stable order */
  matches: readonly T[];
  /** index of the first match on this page */
  offset: number;
  /** page size; 0 asks for the count only */
  count: number;
  /** the search parameters to repeat in the links (without `_count` and `_offset`) */
  params: ReadonlyArray<readonly [string, string]>;
  /** applied to each resource on the page (`_summary`, `_elements`) */
  render?: (resource: T) => T;
  /** whether `total` is given (default true; `_total=none` leaves it out) */
  includeTotal?: boolean;
}

/** A `searchset` Bundle with `total`, the page's entries and absolute self/first/previous/next/last links. */
export function searchsetBundle<T extends Resource>(page: SearchPage<T>): Bundle<T> {
  const { baseUrl, resourceType, matches, offset, count, params } = page;
  const total = matches.length;
  const render = page.render ?? ((r: T) => r);
  const link = (relation: string, at: number): BundleLink => {
    const q = new URLSearchParams();
    for (const [k, v] of params) q.append(k, v);
    q.set('_count', String(count));
    q.set('_offset', String(at));
    return { relation, url: `${baseUrl}/${resourceType}?${q.toString()}` };
  };
  const links: BundleLink[] = [link('self', offset)];
  if (count > 0) {
    const last = total === 0 ? 0 : Math.floor((total - 1) / count) * count;
    links.push(link('first', 0));
    if (offset > 0) links.push(link('previous', Math.max(0, Math.min(offset - count, last))));
    if (offset + count < total) links.push(link('next', offset + count));
    links.push(link('last', last));
  }
  const bundle: Bundle<T> =
    page.includeTotal === false
      ? { resourceType: 'Bundle', type: 'searchset', link: links }
      : { resourceType: 'Bundle', type: 'searchset', total, link: links };
  const slice = count > 0 ? matches.slice(offset, offset + count) : [];
  if (slice.length > 0) {
    bundle.entry = slice.map((r) => ({
      fullUrl: `${baseUrl}/${resourceType}/${r.id}`,
      resource: render(r),
      search: { mode: 'match' },
    }));
  }
  return bundle;
}
