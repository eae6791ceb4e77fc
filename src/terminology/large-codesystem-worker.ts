import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { CodeSystem } from '@medplum/fhirtypes';
import { compactCodeSystem, shellOf } from './compact-codesystem.ts';
import { terminologyResources } from './loader.ts';

/**
 * Reads one large terminology file in a thread of its own (large-codesystems.ts), so that neither
 * the parse nor the index holds the event loop. A file holding one CodeSystem comes back as its
 * resource without concepts plus the compact layout on shared memory (compact-codesystem.ts):
 * nothing of the parsed JSON crosses to the event loop. Anything else (a Bundle, a ValueSet) comes
 * back as resources, copied.
 *
 * The text is dropped once parsed, and the parsed JSON once the compact arrays are built: the
 * thread ends after one file, and its memory with it.
 */
const { path, name } = workerData as { path: string; name: string };

function load(): unknown {
  let text: string | undefined = readFileSync(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`Terminology file ${name} is not valid JSON: ${(err as Error).message}`);
  }
  text = undefined;
  const resources = terminologyResources(json, name);
  json = undefined;
  if (resources.length === 1 && resources[0].resourceType === 'CodeSystem') {
    const cs = resources[0] as CodeSystem;
    const data = compactCodeSystem(cs);
    return { kind: 'compact', shell: shellOf(cs), data };
  }
  return { kind: 'resources', resources };
}

try {
  parentPort?.postMessage(load());
} catch (err) {
  parentPort?.postMessage({ kind: 'error', message: (err as Error).message });
}
