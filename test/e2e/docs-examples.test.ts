import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { projectRoot } from '../../shared/kernel/project-root';
import { declaredModules } from '../../shared/platform/app';
import { childEnv } from '../support/child-env';
import { suiteNeeding } from '../support/suite';
import { freePort } from '../support/free-port';

const GUIDE = join(projectRoot(), 'docs/apis.md');

/**
 * The routes of docs/apis.md's tables, each with the query parameters its row names:
 * `POST /api/pharmacies/{id}/closure`, `/reopening` is two routes (a bare path replaces the
 * last segment of the one before it); `sort=price\|distance` escapes the table's pipe.
 */
function documentedRoutes(): Map<string, string[]> {
  const routes = new Map<string, string[]>();
  for (const line of readFileSync(GUIDE, 'utf8').split('\n')) {
    const cell = line.match(/^\| (`(?:GET|POST|PUT|PATCH|DELETE) \/api\/(?:[^|]|\\\|)*?) \|/)?.[1];
    if (!cell) continue;
    let previous: { method: string; path: string } | undefined;
    for (const [, method, path, query = ''] of cell.replaceAll('\\|', '|').matchAll(/`(?:(GET|POST|PUT|PATCH|DELETE) )?(\/[^`?]*)(?:\?([^`]*))?`/g)) {
      const route = method ? { method, path } : previous && { method: previous.method, path: previous.path.replace(/\/[^/]+$/, '') + path };
      if (!route) continue;
      routes.set(`${route.method} ${route.path}`, [...query.matchAll(/([A-Za-z]+)=/g)].map((match) => match[1]).sort());
      previous = route;
    }
  }
  return routes;
}

/** The query parameters of every operation of the OpenAPI documents, as `GET /api/products`. */
async function openApiQueryParameters(): Promise<Map<string, string[]>> {
  const parameters = new Map<string, string[]>();
  for (const context of ['pharmacies', 'catalog', 'offers', 'identity', 'platform']) {
    const document = (await SwaggerParser.dereference(join(projectRoot(), `shared/${context}/openapi.yaml`))) as unknown as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
    };
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const query = (operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name);
        parameters.set(`${method.toUpperCase()} /api${path}`, query.sort());
      }
    }
  }
  return parameters;
}

describe('docs/apis.md, its route tables', () => {
  it('name every route the modules declare, and no other', () => {
    const declared = declaredModules().flatMap((module) => module.routes.flatMap((route) => route.methods.map((method) => `${method} /api/${route.route}`)));
    assert.deepEqual([...documentedRoutes().keys()].sort(), declared.sort());
  });

  it("name each route's query parameters as its OpenAPI operation has them", async () => {
    const openApi = await openApiQueryParameters();
    for (const [route, query] of documentedRoutes()) assert.deepEqual(query, openApi.get(route), route);
  });
});

/** GitHub's anchor of each heading of a Markdown file. */
function anchors(file: string): Set<string> {
  const headings = [...readFileSync(file, 'utf8').matchAll(/^#+ (.*)$/gm)].map((match) => match[1]);
  return new Set(headings.map((heading) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-')));
}

describe('the documentation, its links', () => {
  it('lead to files that exist and headings they have', () => {
    const pages = ['README.md', 'infra/README.md', ...readdirSync(join(projectRoot(), 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
    const broken: string[] = [];
    for (const page of pages) {
      const file = join(projectRoot(), page);
      for (const [, target, anchor] of readFileSync(file, 'utf8').matchAll(/\]\(([^)#\s]*)(?:#([^)\s]*))?\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const linked = target ? join(dirname(file), target) : file;
        if (!existsSync(linked)) broken.push(`${page}: ${target}`);
        else if (anchor && linked.endsWith('.md') && !anchors(linked).has(anchor)) broken.push(`${page}: ${target}#${anchor}`);
      }
    }
    assert.deepEqual(broken, []);
  });
});

/**
 * The walk-through in docs/apis.md ("Trying them locally"), pasted as a newcomer would,
 * against the platform as `npm start` runs it (demo data included): every request must
 * succeed (curl --fail-with-body), and a second run must answer as the guide says a rerun
 * does, so the examples cannot drift from the APIs.
 */
function examples(): string {
  const text = readFileSync(GUIDE, 'utf8');
  const section = text.slice(text.indexOf('## Trying them locally'), text.indexOf('\n## ', text.indexOf('## Trying them locally') + 5));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]).join('\n');
}

function runScript(script: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const bash = spawn('bash', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let stdout = '';
    let stderr = '';
    bash.stdout.on('data', (chunk) => (stdout += chunk));
    bash.stderr.on('data', (chunk) => (stderr += chunk));
    bash.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function toolsMissing(): string | false {
  if (process.env.CI === 'true') return false;
  const missing = ['bash', 'curl'].filter((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0);
  return missing.length ? `needs ${missing.join(' and ')} to run the documentation's shell examples (required under CI=true)` : false;
}


suiteNeeding('docs/apis.md, pasted into a shell', toolsMissing(), () => {
  it('names every id through a variable, never a placeholder to edit', () => {
    const script = examples();
    assert.ok(script.split('\n').length > 40, 'the walk-through is there');
    assert.doesNotMatch(script, /<[a-z-]+>/i, 'a <placeholder> a newcomer would have to replace');
  });

  it('sends X-Min-Version with a token, without which the read does not wait', () => {
    const reads = examples().split('\n').filter((line) => /x-min-version/i.test(line));
    assert.ok(reads.length, 'the walk-through reads its own write');
    for (const read of reads) assert.match(read, /"\$AUTH"|authorization: Bearer/i, read);
  });

  it('runs from top to bottom against a freshly seeded platform, every request answered 2xx', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-docs-'));
    const port = await freePort();
    const env = childEnv({ DATA_DIR: dataDir, LOCAL_HOST_PORT: String(port), REQUEST_LOG: 'false' });
    const platform = spawn(process.execPath, [join(projectRoot(), 'dist/local/main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    platform.stdout.on('data', (chunk) => (output += chunk));
    platform.stderr.on('data', (chunk) => (output += chunk));
    try {
      const deadline = Date.now() + 90_000;
      while (!output.includes('Farmácias platform on')) {
        assert.ok(Date.now() < deadline && platform.exitCode === null, `the platform did not start: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      // A failing request stops the script with its answer, instead of printing it and going on.
      const script = `set -euo pipefail\ncurl() { command curl --fail-with-body --max-time 20 "$@"; }\n${examples()}`;
      // Not spawnSync: the platform's output must keep flowing (a full pipe would stall it) while the script runs.
      const run = await runScript(script, { ...env, API: `http://127.0.0.1:${port}/api` });
      assert.equal(run.status, 0, `the walk-through stopped:\n${run.stderr}\n${run.stdout.slice(-2000)}`);
      assert.match(run.stdout, /"results":\[\{"index":0,"status":201/, 'the partner feed published its good line');
      assert.match(run.stdout, /"index":1,"status":400/, 'and refused its bad one on its own');

      // "Run again on the same .data/": the keyed requests replay, the If-Match: "1" is a 412, Ana registers afresh.
      // Each answer's headers go to stderr through a file of its own (curl -D /dev/stderr crashes some curl builds on a pipe).
      const headersToStderr = 'curl() { local headers; headers=$(mktemp); command curl -D "$headers" --max-time 20 "$@"; cat "$headers" >&2; rm -f "$headers"; }';
      const again = await runScript(`set -euo pipefail\n${headersToStderr}\n${examples()}`, {
        ...env,
        API: `http://127.0.0.1:${port}/api`,
      });
      assert.equal(again.status, 0, `the second walk-through stopped:\n${again.stderr}`);
      const statuses = [...again.stderr.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((match) => Number(match[1]));
      assert.deepEqual(statuses.filter((status) => status >= 300), [412], 'only the stale If-Match is refused');
      assert.equal(again.stderr.match(/^idempotent-replayed: true/gim)?.length, 2, 'the pharmacy and the product, by their keys');
    } finally {
      platform.kill('SIGTERM');
      await new Promise((resolve) => platform.once('exit', resolve));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
