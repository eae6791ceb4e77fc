/**
 * The benchmark's baseline: a minimal Express handler answering a constant Parameters body.
 * Everything the real server costs is measured as a ratio against this, in the same run,
 * because the machines are shared and absolute figures are noisy.
 */
import express from 'express';

const body = JSON.stringify({
  resourceType: 'Parameters',
  parameter: [
    { name: 'result', valueBoolean: true },
    { name: 'system', valueUri: 'http://example.org/cs' },
    { name: 'code', valueCode: 'a' },
    { name: 'display', valueString: 'A' },
  ],
});

const app = express();
app.get('/fhir/CodeSystem/\\$validate-code', (_req, res) => {
  res.type('application/fhir+json').send(body);
});
const port = Number(process.env.PORT ?? 0);
const server = app.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  if (addr && typeof addr === 'object') process.stdout.write(`listening ${addr.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
