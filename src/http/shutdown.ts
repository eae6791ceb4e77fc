import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

/**
 * Graceful shutdown of an HTTP server: stop accepting, let every request in flight finish and its
 * answer reach the client whole, close keep-alive connections as soon as they are idle, and force
 * the rest closed when the grace time is over.
 *
 * Why not `server.close()` alone: since Node 19 it first calls `closeIdleConnections()`, which
 * counts a connection as idle as soon as its response has been *ended*, even while most of a large
 * body is still queued on the socket; destroying those sockets truncates the answer. So the server
 * stops listening through net.Server's own `close` (which only stops accepting), and a connection
 * counts as busy until its response has been handed to the operating system (`finish`).
 */

interface ConnectionState {
  /** responses on this connection that have not finished */
  active: Set<ServerResponse>;
  /** while draining: the wait for a request the client may already have sent (see `LINGER_MS`) */
  linger?: NodeJS.Timeout;
}

/**
 * How long a keep-alive connection stays open after an answer that finished while draining, when
 * that answer went out before the drain (without `Connection: close`): its client may reuse the
 * connection at once for a request that is already on its way. That request is then answered (with
 * `Connection: close`) instead of being lost to a closing connection.
 */
const LINGER_MS = 1000;

export interface DrainResult {
  /** connections that were still open at the end of the grace time and were destroyed */
  forced: number;
  /** how long the drain took, in ms */
  ms: number;
}

export interface GracefulServer {
  /** whether `drain` has been called */
  readonly draining: boolean;
  /** connections open now */
  readonly connections: number;
  /**
   * Stops accepting and waits for the connections to finish, at most `graceMs`; then destroys the
   * rest. Calling it again returns the same drain. `force()` ends the wait early.
   */
  drain(graceMs: number): Promise<DrainResult>;
  /** Destroys every connection now (a second signal); the pending drain resolves as forced. */
  force(): void;
}

/**
 * Starts tracking the connections of `server`; call it before `listen`. The returned handle drains
 * the server on demand.
 */
export function gracefulServer(server: Server): GracefulServer {
  const sockets = new Map<Socket, ConnectionState>();
  let draining = false;
  let pending: Promise<DrainResult> | undefined;
  let forceNow: (() => void) | undefined;

  server.on('connection', (socket: Socket) => {
    sockets.set(socket, { active: new Set() });
    socket.once('close', () => sockets.delete(socket));
    // a connection opened just before the listener closed
    if (draining) closeWhenIdle(socket);
  });

  // before the app's listener: the response is known before the app can answer or set headers
  server.prependListener('request', (req: { socket: Socket }, res: ServerResponse) => {
    const socket = req.socket;
    const state = sockets.get(socket);
    if (!state) return;
    state.active.add(res);
    clearTimeout(state.linger);
    if (draining) lastAnswer(res);
    const finished = () => {
      if (!state.active.delete(res)) return;
      if (!draining || state.active.size > 0) return;
      // an answer sent as the connection's last closes it (Node ends it); otherwise wait a moment
      if (res.getHeader('Connection') === 'close') closeWhenIdle(socket);
      else state.linger = setTimeout(() => closeWhenIdle(socket), LINGER_MS);
    };
    // `close` comes after the whole answer was handed to the OS, or when the connection went away first
    res.once('close', finished);
  });

  /**
   * RFC 9112 §9.6: the answer tells the client that the connection closes after it; Node then ends
   * the connection once the answer is flushed. Too late when the headers are out already: then
   * `closeWhenIdle` ends the connection after the answer.
   */
  function lastAnswer(res: ServerResponse): void {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  }

  /** Ends the connection (FIN after the queued bytes) when it has no request in flight. */
  function closeWhenIdle(socket: Socket): void {
    const state = sockets.get(socket);
    if (!state || state.active.size > 0 || socket.destroyed) return;
    // `end` rather than `destroy`: bytes still queued for the client are sent first
    socket.end();
    // a client that never closes its side is not waited for
    socket.setTimeout(1000, () => socket.destroy());
  }

  return {
    get draining() {
      return draining;
    },
    get connections() {
      return sockets.size;
    },
    drain(graceMs: number): Promise<DrainResult> {
      if (pending) return pending;
      draining = true;
      const started = performance.now();
      pending = new Promise<DrainResult>((resolve) => {
        let settled = false;
        const finish = (forced: number) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ forced, ms: Math.round(performance.now() - started) });
        };
        const forceClose = () => {
          const open = [...sockets.keys()].filter((s) => !s.destroyed);
          for (const s of open) s.destroy();
          finish(open.length);
        };
        forceNow = forceClose;
        const timer = setTimeout(forceClose, graceMs);
        // stop accepting only (see above); the callback runs once every connection has closed
        NetServer.prototype.close.call(server, () => finish(0));
        for (const [socket, state] of sockets) {
          for (const res of state.active) lastAnswer(res);
          closeWhenIdle(socket);
        }
      });
      return pending;
    },
    force(): void {
      forceNow?.();
    },
  };
}
