import { createServer } from 'node:http';
import { Agent } from 'undici';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createDirectory } from './directory/directory.ts';
import { fnspDirectoryEndpoints } from './directory/directory-routes.ts';
import { ObservedCodes, volvenSeeds, withObservedCodes } from './directory/observed-codes.ts';
import { practitionerEndpoint } from './directory/practitioner-endpoint.ts';
import { EmbeddedDataError } from './helserefusjon/embedded.ts';
import { baseUrlResolver } from './http/base-url.ts';
import { answerClientErrors } from './http/client-error.ts';
import { createLogger, errorFields } from './http/log.ts';
import { ServiceMetrics } from './http/metrics.ts';
import { OffloadPool } from './http/offload.ts';
import { gracefulServer } from './http/shutdown.ts';
import { missingNodeFlags } from './node-flags.ts';
import { SharedState } from './shared/redis.ts';
import { SharedRefresh } from './shared/shared-refresh.ts';
import { warmIndexes } from './terminology/codesystem-index.ts';
import { TerminologyLoadError, terminologyCounts } from './terminology/loader.ts';
import { type OpenedTerminology, openServedTerminology } from './terminology-sources.ts';

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
  // made first: the upstream clients count their calls in them
  const metrics = new ServiceMetrics({ processMetrics: true });
  const missingFlags = missingNodeFlags();
  if (missingFlags.length > 0) {
    logger.info(
      'started without the recommended Node flags (npm start passes them): the memory of ended worker threads returns to the system later',
      {
        flags: missingFlags,
      },
    );
  }

  // REDIS_URL: the replicas share HPR's budget, the person cache and the refreshes (README, "Several
  // replicas on Redis"); nothing waits for Redis beyond one connection attempt, and nothing fails without it
  let shared: SharedState | undefined;
  let sharedRefresh: SharedRefresh | undefined;
  if (config.shared.redisUrl) {
    shared = new SharedState({
      url: config.shared.redisUrl,
      commandTimeoutMs: config.shared.commandTimeoutMs,
      keyPrefix: config.shared.keyPrefix,
      logger,
    });
    await shared.connect();
    sharedRefresh = new SharedRefresh({ shared, logger });
    const link = shared;
    metrics.watchSharedState(() => {
      const s = link.status();
      return { up: s.state === 'up', outages: s.outages, failures: s.failures };
    });
  }

  // In live mode this waits for the Helserefusjon API (at most twice HELSEREFUSJON_TIMEOUT), then
  // falls back on the snapshot or the embedded data; listening starts with data in place.
  let served: OpenedTerminology;
  try {
    served = await openServedTerminology(config, {
      logger,
      onUpstreamCall: metrics.upstreamCall,
      ...(sharedRefresh ? { shared: sharedRefresh } : {}),
    });
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
  // the Volven code systems the directory emits without a complete source are built from the codes
  // its upstreams return (content: fragment) and served with the rest of the terminology
  const observed = new ObservedCodes({ logger });
  const terminology = withObservedCodes(served.source, observed);
  const seeds = volvenSeeds();
  observed.record(seeds.resources, seeds.origin);
  const practitioners = practitionerEndpoint(config, {
    dispatcher: hprAgent,
    logger,
    observed,
    metrics,
    ...(shared ? { shared } : {}),
  });
  // FNSP (HealthcareService, Organization, Location) and bandagists: downloaded whole, indexed,
  // refreshed in the background; loading starts now, requests never wait on an upstream per call
  const directoryAgent = new Agent();
  const fnsp = createDirectory(config.directory, {
    dispatcher: directoryAgent,
    logger,
    observed,
    onUpstreamCall: metrics.upstreamCall,
    ...(sharedRefresh ? { shared: sharedRefresh } : {}),
  });
  fnsp.start();

  // no request pays for an index: the code systems served are indexed before listening
  warmIndexes(served.source.current().store);
  // worker threads for operations too heavy for the event loop (offload.ts); they copy the data now
  let offload: OffloadPool | undefined;
  if (config.workerThreads > 0) {
    offload = new OffloadPool({ size: config.workerThreads, source: terminology, queueLimit: config.operationQueue });
    await offload.start();
  }
  const large = served.large;
  const app = createApp(config, {
    ...(offload ? { offload } : {}),
    readiness: () => large.status(),
    terminology,
    logger,
    metrics,
    startedAt,
    directory: [
      practitioners.endpoint,
      ...fnspDirectoryEndpoints({ directory: fnsp, baseUrl: baseUrlResolver(config) }),
    ],
    directoryStatus: () => ({ practitioner: practitioners.service.status, ...fnsp.status() }),
    ...(shared ? { sharedStatus: sharedStatusOf(shared, sharedRefresh, practitioners.service) } : {}),
  });
  const server = createServer(app);
  // Node's own parser errors (a URL over 16 KiB, bad chunking, an unknown method) as OperationOutcomes
  answerClientErrors(server, logger);
  const graceful = gracefulServer(server);
  server.on('error', (err) => {
    logger.error('server error', errorFields(err));
    // the process ends: say why even when logging is off (LOG_LEVEL=silent)
    if (logger.level === 'silent') process.stderr.write(`Server error: ${JSON.stringify(errorFields(err).error)}\n`);
    process.exit(1);
  });
  server.listen(config.port, config.host, () => {
    const address = server.address();
    logger.info('listening', {
      pid: process.pid,
      host: config.host,
      port: typeof address === 'object' && address !== null ? address.port : config.port,
      baseUrl: config.publicBaseUrl,
      ...terminologyCounts(store),
      helserefusjon: dataSources.find((d) => d.name === 'helserefusjon')?.mode,
      loadMs,
      startupMs: Math.round(performance.now() - started),
      ...(large.ready ? {} : { indexing: large.status().indexing }),
    });
    // large terminology files are parsed and indexed in a process of their own while the server listens
    // (/healthz answers, /readyz says not ready until they are in); a file that cannot be loaded
    // stops the service, as any data file does at start-up
    void large
      .start(async () => offload?.refresh())
      .then(() => {
        const { failed, loaded } = large.status();
        if (failed.length > 0) {
          process.exitCode = 1;
          void shutdown('a large terminology file cannot be loaded');
          return;
        }
        if (loaded.length > 0) logger.info('ready', { loaded, readyMs: Math.round(performance.now() - started) });
      });
  });

  // SIGTERM/SIGINT: stop accepting, let the requests in flight finish (their answers reach the
  // client whole), close idle keep-alive connections, then stop the background work and exit: 0 when
  // everything finished, 1 when SHUTDOWN_GRACE ran out and connections were cut. A second signal
  // cuts them at once.
  const shutdown = async (signal: string) => {
    if (graceful.draining) {
      logger.warn('second signal: closing the remaining connections now', { signal });
      graceful.force();
      return;
    }
    logger.info('shutting down', { signal, connections: graceful.connections, graceMs: config.shutdownGraceMs });
    // refreshes stop now; the upstream connection pools stay until the answers in flight are done
    fnsp.stop();
    const { forced, ms } = await graceful.drain(config.shutdownGraceMs);
    // upstream calls still running (a refresh download) are given a moment, not the grace time again
    await Promise.race([
      Promise.allSettled([served.close(), hprAgent.close(), directoryAgent.close(), offload?.close(), shared?.close()]),
      new Promise((resolve) => setTimeout(resolve, 1000).unref()),
    ]);
    if (forced > 0) logger.warn('stopped: grace time over, connections closed', { forced, ms });
    else logger.info('stopped', { ms });
    process.exit(forced > 0 ? 1 : Number(process.exitCode ?? 0));
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // Under `npm start`, npm is the parent and may exit on SIGTERM without passing it on (npm 11 does),
  // which would leave this process serving as an orphan: losing the parent counts as the signal.
  // Production runs node directly (README, "Run it"); this is the safety net.
  if (config.stopWhenOrphaned) {
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      void shutdown('parent exited');
    }, 500).unref();
  }
}

/** What /readyz says of the state shared with the other replicas. */
function sharedStatusOf(
  shared: SharedState,
  refresh: SharedRefresh | undefined,
  practitioners: { stats(): { sharedHits?: number; sharedTakes?: number; localTakes?: number } },
) {
  return () => {
    const { sharedHits, sharedTakes, localTakes } = practitioners.stats();
    return {
      redis: shared.status(),
      hpr: { personsFromRedis: sharedHits, bucketTakesShared: sharedTakes, bucketTakesAlone: localTakes },
      ...(refresh ? { refreshes: { ...refresh.counts } } : {}),
    };
  };
}

await main();
