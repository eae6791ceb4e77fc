import { createServer } from 'node:http';
import { Agent } from 'undici';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createDirectory } from './directory/directory.ts';
import { fnspDirectoryEndpoints } from './directory/directory-routes.ts';
import { practitionerEndpoint } from './directory/practitioner-endpoint.ts';
import { EmbeddedDataError } from './helserefusjon/embedded.ts';
import { createLogger, errorFields } from './http/log.ts';
import { TerminologyLoadError, terminologyCounts } from './terminology/loader.ts';
import { type OpenedTerminology, openServedTerminology } from './terminology-sources.ts';

/** How long in-flight requests get to finish after SIGTERM/SIGINT before their sockets are closed. */
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const started = performance.now();
  const startedAt = new Date();
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Invalid configuration: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);

  // In live mode this waits for the Helserefusjon API (at most twice HELSEREFUSJON_TIMEOUT), then
  // falls back on the snapshot or the embedded data; listening starts with data in place.
  let served: OpenedTerminology;
  try {
    served = await openServedTerminology(config, { logger });
  } catch (err) {
    if (err instanceof TerminologyLoadError || err instanceof EmbeddedDataError) {
      logger.error('cannot load terminology', { reason: err.message });
      process.exit(1);
    }
    throw err;
  }
  const loadMs = Math.round(performance.now() - started);
  const { store, dataSources } = served.source.current();

  // one connection pool for Maskinporten and HPR, closed on shutdown
  const hprAgent = new Agent();
  if (config.hpr.status === 'unconfigured' && config.hpr.partial) {
    logger.warn('HPR is not configured: some Maskinporten settings are missing', { missing: config.hpr.missing });
  }
  const practitioners = practitionerEndpoint(config, { dispatcher: hprAgent, logger });
  // FNSP (HealthcareService, Organization, Location) and bandagists: downloaded whole, indexed,
  // refreshed in the background; loading starts now, requests never wait on an upstream per call
  const directoryAgent = new Agent();
  const fnsp = createDirectory(config.directory, { dispatcher: directoryAgent, logger });
  fnsp.start();

  const app = createApp(config, {
    terminology: served.source,
    logger,
    startedAt,
    directory: [practitioners.endpoint, ...fnspDirectoryEndpoints({ directory: fnsp, baseUrl: config.publicBaseUrl })],
    directoryStatus: () => ({ practitioner: practitioners.service.status, ...fnsp.status() }),
  });
  const server = createServer(app);
  server.on('error', (err) => {
    logger.error('server error', errorFields(err));
    process.exit(1);
  });
  server.listen(config.port, config.host, () => {
    const address = server.address();
    logger.info('listening', {
      host: config.host,
      port: typeof address === 'object' && address !== null ? address.port : config.port,
      baseUrl: config.publicBaseUrl,
      ...terminologyCounts(store),
      helserefusjon: dataSources.find((d) => d.name === 'helserefusjon')?.mode,
      loadMs,
      startupMs: Math.round(performance.now() - started),
    });
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    void served.close();
    void hprAgent.close();
    fnsp.stop();
    void directoryAgent.close();
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, SHUTDOWN_GRACE_MS).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

await main();
