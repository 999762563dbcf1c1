import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../shared/kernel/project-root';

const root = projectRoot();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every import of a file: [specifier, type-only?]. */
function importsOf(file: string): { specifier: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const found = [...text.matchAll(/^\s*import\s+(type\s+)?[^'"]*?['"]([^'"]+)['"]/gm)].map((m) => ({
    specifier: m[2],
    typeOnly: Boolean(m[1]),
  }));
  const dynamic = [...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => ({ specifier: m[1], typeOnly: false }));
  return [...found, ...dynamic];
}

const fromRoot = (file: string, specifier: string) => relative(root, resolve(dirname(file), specifier));
const contexts = readdirSync(join(root, 'shared')).filter((name) => !['kernel', 'adapters', 'platform'].includes(name));

describe('import direction', () => {
  it('has at least one bounded context to check', () => assert.ok(contexts.includes('pharmacies')));

  it('the domain imports nothing but itself, the kernel’s errors and decider, and the shared Brazilian values', () => {
    for (const context of contexts) {
      for (const file of sourceFiles(join(root, 'shared', context, 'domain'))) {
        for (const { specifier } of importsOf(file)) {
          const target = specifier.startsWith('.') ? fromRoot(file, specifier) : specifier;
          const allowed =
            target.startsWith(`shared/${context}/domain/`) ||
            ['shared/kernel/errors', 'shared/kernel/decider', 'shared/kernel/brazil'].includes(target);
          assert.ok(allowed, `${relative(root, file)} imports ${specifier}`);
        }
      }
    }
  });

  it('a context reaches into another only through its published module, never its containers, cache keys or documents', () => {
    const reached: string[] = [];
    for (const context of contexts) {
      for (const file of sourceFiles(join(root, 'shared', context))) {
        for (const { specifier } of importsOf(file)) {
          const target = specifier.startsWith('.') ? fromRoot(file, specifier) : specifier;
          const other = contexts.find((c) => c !== context && target.startsWith(`shared/${c}/`));
          if (!other) continue;
          reached.push(target);
          assert.equal(target, `shared/${other}/published`, `${relative(root, file)} imports ${specifier} from ${other}`);
        }
      }
    }
    assert.ok(reached.length > 0, 'Offers reads Catalog and Pharmacies: the check saw no import across contexts');
  });

  it('contexts and the kernel reach adapters only through the composition module', () => {
    const files = [...contexts.map((c) => join(root, 'shared', c)), join(root, 'shared', 'kernel')].flatMap(sourceFiles);
    const sdks = ['better-sqlite3', '@azure/cosmos', '@vercel/cosmosdb-server', '@azure/service-bus', 'mssql', 'redis', 'amqplib', 'croner'];
    for (const file of files) {
      if (relative(root, file) === 'shared/kernel/composition.ts') continue;
      for (const { specifier, typeOnly } of importsOf(file)) {
        const target = specifier.startsWith('.') ? fromRoot(file, specifier) : specifier;
        assert.ok(!target.startsWith('shared/adapters'), `${relative(root, file)} imports the adapter ${specifier}`);
        assert.ok(!sdks.includes(specifier), `${relative(root, file)} imports the SDK ${specifier}`);
        if (specifier === '@azure/functions') assert.ok(typeOnly, `${relative(root, file)} imports @azure/functions at run time`);
      }
    }
  });

  it('functions/ only registers: it imports the Functions library and the app’s declarations', () => {
    for (const file of sourceFiles(join(root, 'functions'))) {
      const text = readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /\b(async|await|function)\b|=>/, `${relative(root, file)} holds logic`);
    }
  });
});
