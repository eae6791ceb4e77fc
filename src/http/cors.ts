import type { NextFunction, Request, RequestHandler, Response } from 'express';

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
const DEFAULT_ALLOWED_HEADERS = 'Accept, Accept-Language, Content-Type, Prefer, X-Request-Id';
const EXPOSED_HEADERS = 'Location, Content-Location, X-Request-Id';

/**
 * CORS for a public, read-only, credential-free API: any origin, no cookies. Every OPTIONS request
 * is answered here with 204 (a preflight, or a plain OPTIONS probe); the FHIR routes never see it.
 * https://fetch.spec.whatwg.org/#http-cors-protocol
 */
export function cors(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    if (req.method !== 'OPTIONS') {
      next();
      return;
    }
    res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    const requested = req.get('access-control-request-headers');
    res.setHeader('Access-Control-Allow-Headers', requested?.trim() ? requested : DEFAULT_ALLOWED_HEADERS);
    res.vary('Access-Control-Request-Headers');
    res.setHeader('Access-Control-Max-Age', '86400');
    res.setHeader('Allow', ALLOWED_METHODS);
    res.status(204).end();
  };
}
