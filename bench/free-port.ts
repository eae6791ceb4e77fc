import { createServer } from 'node:net';

/**
 * A loopback port free now: the system picks one for a listener that is closed at once. The bench
 * and the soak test start the server on it (a random port may be taken by another process).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no free port')),
      );
    });
  });
}
