/**
 * `npm ci --omit=dev && npm start` works (issue 11, item 7): everything the service, the demo and
 * the fake upstreams import at run time is a production dependency, the Node runtime among them,
 * and every `npm run` command the README gives exists. (CI's `.ci/run` also installs with
 * `--omit=dev` on a fresh copy and starts the server with the system's Node on the PATH.)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { NODE_FLAGS } from '../../src/node-flags.ts';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or undefined for a relative or built-in one. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? undefined : name;
}

/** Packages imported for their values (type-only imports are erased when Node strips the types). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const statement = /^\s*(import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms;
  for (const m of text.matchAll(statement)) {
    // `import { type A, type B } from` is erased too; a default, namespace or value name is not
    const clause = m[0]
      .replace(/^\s*(import|export)\s+/, '')
      .replace(/\s*from\s+'[^']+'$/, '')
      .trim();
    const braces = /^\{([^}]*)\}$/s.exec(clause);
    const names = braces?.[1]
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    const allTypes = names?.every((n) => n.startsWith('type ')) === true;
    const pkgName = packageOf(m[2]);
    if (pkgName && !allTypes) out.push(pkgName);
  }
  for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) {
    const pkgName = packageOf(m[1]);
    if (pkgName) out.push(pkgName);
  }
  return out;
}

describe('a production install (npm ci --omit=dev) runs the service', () => {
  test('the Node runtime is a production dependency, so npm start does not need the system Node', () => {
    expect(pkg.dependencies.node).toBeDefined();
    expect(pkg.devDependencies.node).toBeUndefined();
    expect(pkg.scripts.start).toBe(`node ${NODE_FLAGS.join(' ')} src/main.ts`);
  });

  test('CI starts the server as npm start does, with the Node flags of src/node-flags.ts', () => {
    const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
    expect(ci).toContain(`"\${NODE}" ${NODE_FLAGS.join(' ')} src/main.ts`);
  });

  test('every package imported at run time is a production dependency', () => {
    const files = ['src', 'mappings', 'demo', join('test', 'fakes')].flatMap((d) => tsFiles(join(root, d)));
    expect(files.length).toBeGreaterThan(50);
    const wrong: string[] = [];
    for (const file of files) {
      for (const name of runtimeImports(file)) {
        if (pkg.dependencies[name] === undefined) wrong.push(`${relative(root, file)}: ${name}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test('every `npm run` command in the README exists', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const named = [...readme.matchAll(/npm run ([a-z][\w:-]*)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((n) => pkg.scripts[n] === undefined)).toEqual([]);
    // the fakes are started through npm (whose PATH has the project's Node), not with a bare `node`
    expect(readme).not.toMatch(/`node test\//);
  });
});
