// Conformance runner for the HL7 terminology ecosystem tests (tx-ecosystem, general mode), run
// against this server's FHIR R4 endpoint exactly as /work/shared/tx-ecosystem/README.md says.
//
//   npm run conformance -- --server http://localhost:8080/fhir [--tests DIR] [--suite NAME]...
//     [--test SUBSTRING] [--mode MODE]... [--concurrency 4] [--verbose] [--out DIR]
//     [--json FILE] [--min-pass-rate 0.95] [--no-validate]
//
// Prints one line per failing test, in test order, then the skipped count and, last,
// `passed N of M` (M = tests run). Exit 0 when every test run passed (or the pass ratio reaches
// --min-pass-rate), 1 otherwise, 2 on usage errors or when the tests folder is missing.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runPool, runTest, type TestResult } from './runner/execute.ts';
import { isArray, isObject, type Json, truncate } from './runner/json.ts';
import { fileLoader, loadTestCases, selectTests, testsPresent } from './runner/load.ts';
import { DEFAULT_TIMEOUT_MS } from './runner/send.ts';

/** The FHIR version of the run: an R4 server (README: `$version$` is `4.0.1`). */
const FHIR_VERSION = '4.0.1';
const REPO_ROOT = resolve(import.meta.dirname, '..');
const DEFAULT_TESTS = resolve(REPO_ROOT, '..', 'shared', 'tx-ecosystem');

const USAGE = `usage: npm run conformance -- --server URL [options]
  --server URL          FHIR base URL, e.g. http://localhost:8080/fhir (required)
  --tests DIR           tx-ecosystem tests folder (default ${DEFAULT_TESTS})
  --suite NAME          only these suites (repeatable, or a comma list)
  --test TEXT           only tests whose name contains TEXT
  --mode MODE           switch a mode on (repeatable, or a comma list; 'general' is always on)
  --concurrency N       requests in flight (default 4)
  --timeout SECONDS     per request (default ${DEFAULT_TIMEOUT_MS / 1000})
  --verbose             print request, expected and actual of each failure
  --out DIR             write each request and response there
  --json FILE           write a machine-readable summary
  --min-pass-rate R     exit 0 when passed/run >= R (0..1)
  --no-validate         do not check responses against FHIR R4 (checked by default)`;

function list(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_');
}

function writeOut(outDir: string, r: TestResult): void {
  const dir = join(outDir, safeName(r.suite));
  mkdirSync(dir, { recursive: true });
  const base = join(dir, safeName(r.name));
  if (r.request?.body !== undefined)
    writeFileSync(`${base}.request.json`, `${JSON.stringify(r.request.body, null, 2)}\n`);
  if (r.responseText !== undefined) {
    let text = r.responseText;
    try {
      text = `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
    } catch {
      // not JSON: keep it as received
    }
    writeFileSync(`${base}.response.json`, text);
  }
  if (r.actual !== undefined) writeFileSync(`${base}.actual.json`, `${JSON.stringify(r.actual, null, 2)}\n`);
}

function printFailure(r: TestResult, verbose: boolean): void {
  const reason = r.reason ?? 'failed';
  const line = `FAIL ${r.suite}/${r.name}: ${reason}`;
  console.log(verbose ? line : truncate(line, 400));
  if (!verbose) return;
  for (const d of r.differences) console.log(`    ${d.path}: ${d.message}`);
  for (const w of r.warnings) console.log(`    warning: ${w}`);
  if (r.request) {
    console.log(`    request: ${r.request.method} ${r.request.url}`);
    for (const [k, v] of Object.entries(r.request.headers)) console.log(`      ${k}: ${v}`);
    if (r.request.body !== undefined)
      console.log(indent(JSON.stringify(abbreviateTxResources(r.request.body), null, 2), 6));
  }
  if (r.expectedFile) console.log(`    expected (${r.expectedFile}):`);
  if (r.expected !== undefined) console.log(indent(JSON.stringify(r.expected, null, 2), 6));
  console.log(`    actual (HTTP ${r.httpStatus ?? '-'}, R5, scrubbed and sorted):`);
  if (r.actual !== undefined) console.log(indent(JSON.stringify(r.actual, null, 2), 6));
  else if (r.responseText !== undefined) console.log(indent(r.responseText, 6));
}

/** The request with each tx-resource shown as `CodeSystem url|version` (--out has it whole). */
function abbreviateTxResources(body: Json): Json {
  if (!isObject(body) || !isArray(body.parameter)) return body;
  return {
    ...body,
    parameter: body.parameter.map((p) => {
      if (!isObject(p) || p.name !== 'tx-resource' || !isObject(p.resource)) return p;
      const r = p.resource;
      const version = typeof r.version === 'string' ? `|${r.version}` : '';
      return { name: 'tx-resource', resource: `${String(r.resourceType)} ${String(r.url)}${version}` };
    }),
  };
}

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (e) {
    usageError(e instanceof Error ? e.message : String(e));
  }
  const v = args.values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  if (!v.server) usageError('--server is required');
  const concurrency = Number(v.concurrency ?? '4');
  if (!Number.isInteger(concurrency) || concurrency < 1) usageError('--concurrency must be a positive integer');
  const timeoutMs = v.timeout === undefined ? DEFAULT_TIMEOUT_MS : Number(v.timeout) * 1000;
  if (!(timeoutMs > 0)) usageError('--timeout must be a positive number of seconds');
  let minPassRate: number | undefined;
  if (v['min-pass-rate'] !== undefined) {
    minPassRate = Number(v['min-pass-rate']);
    if (!(minPassRate >= 0 && minPassRate <= 1)) usageError('--min-pass-rate must be between 0 and 1');
  }

  const testsDir = resolve(v.tests ?? DEFAULT_TESTS);
  if (!testsPresent(testsDir)) {
    console.error(`tx-ecosystem tests not found at ${testsDir}`);
    return 2;
  }
  // `general` is always on: it is the mode of every suite in the folder (README title).
  const modes = new Set(['general', ...list(v.mode)]);
  const suites = list(v.suite);
  const doc = loadTestCases(testsDir);
  const selection = selectTests(doc, {
    modes,
    fhirVersion: FHIR_VERSION,
    suites,
    testFilter: v.test,
  });
  const known = new Set(isArray(doc.suites) ? doc.suites.map((s) => (isObject(s) ? s.name : undefined)) : []);
  for (const s of suites) if (!known.has(s)) console.log(`note: no suite named ${s}`);

  console.log(
    `tx-ecosystem: ${selection.run.length} tests against ${v.server} (FHIR ${FHIR_VERSION}, modes ${[...modes].join('+')}, tests ${testsDir})`,
  );
  const ctx = {
    base: v.server,
    load: fileLoader(testsDir),
    modes,
    fhirVersion: FHIR_VERSION,
    timeoutMs,
    validateR4: !v['no-validate'],
  };
  const started = Date.now();
  const results = await runPool(
    selection.run,
    concurrency,
    (t) => runTest(t, ctx),
    (r) => {
      if (v.out) writeOut(v.out, r);
      if (!r.passed) printFailure(r, v.verbose ?? false);
      else if (v.verbose) {
        console.log(`ok   ${r.suite}/${r.name}`);
        for (const w of r.warnings) console.log(`    warning: ${w}`);
      }
    },
  );

  const passed = results.filter((r) => r.passed).length;
  const run = results.length;
  const warnings = results.reduce((n, r) => n + r.warnings.length, 0);

  if (v.json) {
    const summary = {
      server: v.server,
      tests: testsDir,
      fhirVersion: FHIR_VERSION,
      modes: [...modes],
      date: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      run,
      passed,
      failed: run - passed,
      skipped: selection.skipped.length,
      filteredOut: selection.filteredOut,
      results: [
        ...results.map((r) => ({
          suite: r.suite,
          test: r.name,
          operation: r.operation,
          status: r.passed ? 'pass' : 'fail',
          reason: r.reason,
          differences: r.differences,
          warnings: r.warnings,
          httpStatus: r.httpStatus,
          durationMs: r.durationMs,
        })),
        ...selection.skipped.map((s) => ({ suite: s.suite, test: s.name, status: 'skipped', reason: s.reason })),
      ],
    };
    mkdirSync(dirname(resolve(v.json)), { recursive: true });
    writeFileSync(v.json, `${JSON.stringify(summary, null, 2)}\n`);
  }

  const reasons = new Map<string, number>();
  for (const s of selection.skipped) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
  const detail = [...reasons].map(([reason, n]) => `${n} ${reason}`).join(', ');
  console.log(`skipped ${selection.skipped.length}${detail ? ` (${detail})` : ''}`);
  if (warnings > 0)
    console.log(`warnings ${warnings} (missing content marked $optional$ "warning:..."; --verbose lists them)`);
  console.log(`passed ${passed} of ${run}`);

  if (passed === run) return 0;
  if (minPassRate !== undefined && run > 0 && passed / run >= minPassRate) return 0;
  return 1;
}

function parse() {
  return parseArgs({
    options: {
      server: { type: 'string' },
      tests: { type: 'string' },
      suite: { type: 'string', multiple: true },
      test: { type: 'string' },
      mode: { type: 'string', multiple: true },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      verbose: { type: 'boolean' },
      out: { type: 'string' },
      json: { type: 'string' },
      'min-pass-rate': { type: 'string' },
      'no-validate': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exitCode = 2;
  },
);
