import { request } from 'node:http';

/** An answer as it came over the wire: status, headers and the body's bytes (not decoded, not decompressed). */
export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * A request with exactly these headers (and the body, if any: node:http adds its Content-Length unless
 * the headers name one), through node:http (fetch adds headers of its own, such as Accept-Encoding,
 * and decompresses).
 */
export function rawRequest(
  url: string,
  headers: Record<string, string>,
  method = 'GET',
  body?: string | Buffer,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}
