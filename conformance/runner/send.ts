// HTTP for the conformance runner: one request, a timeout, the raw answer. Nothing here knows
// about FHIR; execute.ts interprets the result.
//
// node:http rather than fetch: fetch adds `Accept-Language: *` to every request that has none,
// and the language tests depend on whether that header is sent at all (README: display language
// priority ... > HTTP Accept-Language > ValueSet.language). Here only the test's headers go out.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { BuiltRequest } from './load.ts';

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface HttpResult {
  status: number;
  contentType: string;
  text: string;
  durationMs: number;
}

export function send(req: BuiltRequest, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HttpResult> {
  const started = performance.now();
  const url = new URL(req.url);
  const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body), 'utf8');
  const headers: Record<string, string | number> = { ...req.headers };
  if (body) headers['Content-Length'] = body.length;
  const doRequest = url.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise<HttpResult>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, result?: HttpResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else if (result) resolve(result);
    };
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => finish(new Error(`${req.method} ${req.url} failed: ${e.message}`)));
      res.on('end', () =>
        finish(undefined, {
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          text: Buffer.concat(chunks).toString('utf8'),
          durationMs: Math.round(performance.now() - started),
        }),
      );
    };
    const r = doRequest(url, { method: req.method, headers }, onResponse);
    const timer = setTimeout(() => {
      finish(new Error(`no response within ${Math.round(timeoutMs / 1000)} s (${req.method} ${req.url})`));
      r.destroy();
    }, timeoutMs);
    r.on('error', (e) => finish(new Error(`${req.method} ${req.url} failed: ${e.message}`)));
    if (body) r.write(body);
    r.end();
  });
}
