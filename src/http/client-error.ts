import { maxHeaderSize as defaultMaxHeaderSize, type Server, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { FHIR_JSON_CONTENT_TYPE } from './content.ts';
import type { Logger } from './log.ts';
import { makeIssue, outcome } from './outcome.ts';
import { SECURITY_HEADERS } from './security-headers.ts';

/**
 * Requests that Node's HTTP parser refuses before Express sees them (a request line or headers over
 * `maxHeaderSize`, broken chunked framing, an unknown method, ...). Node answers those with an empty
 * 400 or 431; this answers with a FHIR OperationOutcome and the status that names the problem, then
 * closes the connection (its framing can no longer be trusted).
 * https://nodejs.org/api/http.html#event-clienterror
 */

export interface ParserErrorAnswer {
  status: number;
  code: 'invalid' | 'too-long' | 'not-supported' | 'timeout';
  text: string;
}

/** A request line: method, target, version (RFC 9112 §3). */
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(\d)\.(\d)\r?\n/;
/** The start of a request line whose end has not arrived (the URL alone fills the header buffer). */
const REQUEST_LINE_START = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^\s]/;

/**
 * The answer to a parser error, from its llhttp code and the bytes that were being parsed. The text
 * never repeats the request.
 */
export function parserErrorAnswer(
  code: string | undefined,
  raw: Buffer | undefined,
  maxHeaderSize: number,
): ParserErrorAnswer {
  const head = raw ? raw.subarray(0, Math.min(raw.length, maxHeaderSize + 64)).toString('latin1') : '';
  switch (code) {
    case 'HPE_HEADER_OVERFLOW': {
      // RFC 9112 §3: a request line longer than the server reads is 414, too much header is 431
      const eol = head.indexOf('\n');
      const lineTooLong = eol < 0 ? REQUEST_LINE_START.test(head) : eol > maxHeaderSize / 2;
      return lineTooLong
        ? { status: 414, code: 'too-long', text: `The request URL is too long (at most about ${maxHeaderSize} bytes)` }
        : {
            status: 431,
            code: 'too-long',
            text: `The request headers are too large (at most ${maxHeaderSize} bytes in all)`,
          };
    }
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'too-long', text: 'The chunk extensions of the request body are too large' };
    case 'HPE_INVALID_METHOD':
      // RFC 9110 §9.1: a well-formed request with a method the server does not know is 501
      return REQUEST_LINE.test(head)
        ? { status: 501, code: 'not-supported', text: 'The request method is not supported by this server' }
        : { status: 400, code: 'invalid', text: 'The request line is not valid HTTP/1.1' };
    case 'HPE_INVALID_VERSION':
      return { status: 505, code: 'not-supported', text: 'The HTTP version is not supported: use HTTP/1.1' };
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_STRICT':
    case 'HPE_INVALID_EOF_STATE':
      return { status: 400, code: 'invalid', text: 'The request body is not valid chunked transfer coding' };
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
      return {
        status: 400,
        code: 'invalid',
        text: 'The request framing (Content-Length, Transfer-Encoding) is not valid',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'timeout', text: 'The request did not arrive in time' };
    default:
      return { status: 400, code: 'invalid', text: 'The request is not valid HTTP/1.1' };
  }
}

/** The whole HTTP/1.1 response for `answer`, as bytes for the socket. */
export function rawOutcomeResponse(answer: ParserErrorAnswer): string {
  const body = JSON.stringify(outcome([makeIssue({ code: answer.code, text: answer.text })]));
  const headers: Record<string, string> = {
    'Content-Type': FHIR_JSON_CONTENT_TYPE,
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    'Cache-Control': 'no-store',
    'Access-Control-Allow-Origin': '*',
    ...SECURITY_HEADERS,
  };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\n${lines.join('')}\r\n${body}`;
}

/** Answers Node's parser errors on `server` with OperationOutcomes (see above). */
export function answerClientErrors(server: Server, logger: Logger): void {
  // the server's own `maxHeaderSize` option, else the process-wide one (--max-http-header-size)
  const maxHeaderSize = (server as Server & { maxHeaderSize?: number }).maxHeaderSize ?? defaultMaxHeaderSize;
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    // a connection reset by the client has no one to answer
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // Node's own rule (lib/_http_server.js socketOnError): answer only when no response on this
    // connection has begun, or its bytes would be mixed into that response
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const answer = parserErrorAnswer(err.code, err.rawPacket, maxHeaderSize);
    logger.debug('client error', { status: answer.status, code: err.code });
    socket.end(rawOutcomeResponse(answer));
    // the client may never close its side; it has had its answer
    socket.setTimeout(1000, () => socket.destroy());
  });
}
