/**
 * `npm run demo`: the whole service on synthetic directory data, with no credentials and no
 * network. It starts the fake Maskinporten + HPR of the tests (synthetic persons) on 127.0.0.1,
 * then the real service (src/main.ts) pointed at it, with FNSP in demo mode (synthetic trusts and
 * procedures). The terminology is the embedded real data. Every synthetic resource is tagged as
 * such in meta.tag; nothing synthetic is presented as real.
 *
 * PORT (default 8080) is the service's port; the fake HPR takes a free port.
 */
import { spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../src/node-flags.ts';
import { HPR_BASIC_SCOPE } from '../src/upstream/hpr.ts';
import { startFakeHpr } from '../test/fakes/hpr-server.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// a throw-away Maskinporten client key, known only to the fake
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dir = mkdtempSync(join(tmpdir(), 'no-fhir-facade-demo-'));
const keyFile = join(dir, 'demo-client-key.pem');
writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
const fake = await startFakeHpr({
  clients: [
    { clientId: 'demo-client', kid: 'demo-key', publicKey: createPublicKey(privateKey), scopes: [HPR_BASIC_SCOPE] },
  ],
});

const port = process.env.PORT ?? '8080';
const service = spawn(process.execPath, [...NODE_FLAGS, join(root, 'src', 'main.ts')], {
  stdio: 'inherit',
  env: {
    ...process.env,
    PORT: port,
    MASKINPORTEN_ISSUER: fake.issuer,
    MASKINPORTEN_CLIENT_ID: 'demo-client',
    MASKINPORTEN_KID: 'demo-key',
    MASKINPORTEN_PRIVATE_KEY_FILE: keyFile,
    HPR_BASE_URL: fake.hprBaseUrl,
    HPR_SYNTHETIC_DATA: 'true',
    FNSP_DEMO: 'true',
  },
});
process.stdout.write(
  `demo: FHIR at http://localhost:${port}/fhir — synthetic data only in the directory:\n` +
    `  Practitioner/${[...fake.persons.keys()][0]} (HPR numbers ${[...fake.persons.keys()].join(', ')})\n` +
    '  HealthcareService, Organization, Location (FNSP demo dataset)\n',
);

let stopping = false;
const stop = (code: number) => {
  if (stopping) return;
  stopping = true;
  service.kill('SIGTERM');
  void fake.close().then(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  });
};
service.on('exit', (code) => stop(code ?? 0));
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
