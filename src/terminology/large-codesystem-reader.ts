import { readFileSync } from 'node:fs';
import type { CodeSystem } from '@medplum/fhirtypes';
import { type CompactData, compactCodeSystem, shellOf } from './compact-codesystem.ts';
import { TerminologyLoadError, terminologyResources } from './loader.ts';

/**
 * Reads one large terminology file in a process of its own (large-codesystems.ts starts it with the
 * file's path and name), so that neither the parse nor the index holds the server's event loop, and
 * so that everything the reading needed (the text, the parsed JSON, the temporaries of the index,
 * the allocator's arenas) goes back to the system when this process ends, whatever the runtime and
 * allocator keep of a thread's memory.
 *
 * It writes its answer to stdout: 4 bytes (big-endian) giving the length of a JSON header, the
 * header, then, for a code system in the compact layout, the bytes of its arrays (compact-codesystem.ts,
 * all views on one buffer), which the server copies into shared memory as they arrive.
 *
 * Header kinds: `compact` (one CodeSystem: its resource without concepts, the concept count and
 * where each array lies in the bytes), `resources` (anything else: a Bundle, ValueSets), `error`
 * (a message that names the file, never a path or a stack).
 */
export type ReaderHeader =
  | { kind: 'compact'; shell: CodeSystem; count: number; bytes: number; parts: ReaderPart[] }
  | { kind: 'resources'; resources: unknown[] }
  | { kind: 'error'; message: string };

/** An array of the compact layout: its name in CompactData, type, byte offset and length (elements). */
export type ReaderPart = [name: string, type: 'u8' | 'i32', offset: number, length: number];

function read(path: string, name: string): { header: ReaderHeader; body?: Uint8Array } {
  let text: string | undefined = readFileSync(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return {
      header: { kind: 'error', message: `Terminology file ${name} is not valid JSON: ${(err as Error).message}` },
    };
  }
  text = undefined;
  const resources = terminologyResources(json, name);
  json = undefined;
  if (resources.length === 1 && resources[0].resourceType === 'CodeSystem') {
    const cs = resources[0] as CodeSystem;
    const data = compactCodeSystem(cs);
    return { header: compactHeader(shellOf(cs), data), body: new Uint8Array(data.text.buffer) };
  }
  return { header: { kind: 'resources', resources } };
}

function compactHeader(shell: CodeSystem, data: CompactData): ReaderHeader {
  const parts: ReaderPart[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (value instanceof Uint8Array) parts.push([key, 'u8', value.byteOffset, value.length]);
    else if (value instanceof Int32Array) parts.push([key, 'i32', value.byteOffset, value.length]);
  }
  return { kind: 'compact', shell, count: data.count, bytes: data.text.buffer.byteLength, parts };
}

function write(header: ReaderHeader, body?: Uint8Array): void {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  process.stdout.write(length);
  process.stdout.write(json);
  if (body) process.stdout.write(body);
}

const [path, name] = process.argv.slice(2);
let answer: { header: ReaderHeader; body?: Uint8Array };
try {
  answer = read(path, name);
} catch (err) {
  // a TerminologyLoadError is written for the operator and names the file; anything else (a file
  // that cannot be opened, memory) is said without its message, which may hold a path
  const code = (err as NodeJS.ErrnoException).code;
  const message =
    err instanceof TerminologyLoadError
      ? err.message
      : `Terminology file ${name} could not be read${code ? ` (${code})` : ''}`;
  answer = { header: { kind: 'error', message } };
}
write(answer.header, answer.body);
