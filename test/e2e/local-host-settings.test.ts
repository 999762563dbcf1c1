import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../shared/kernel/project-root';
import { childEnv } from '../support/child-env';

/**
 * The local platform (`npm run serve`) started by an operator with settings it cannot run
 * with: it either serves the configuration error on the port the operator chose, or stops
 * with one line naming the setting at fault (never a raw Node error or a stack).
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const RAW_ERROR = /\n\s+at |EADDRINUSE|options\.port|ERR_/;

function serve(env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-local-settings-'));
  let output = '';
  const child = spawn(process.execPath, ['dist/local/main.js'], {
    cwd: projectRoot(),
    env: childEnv({ DATA_DIR: dataDir, SEED_DEMO_DATA: 'false', REQUEST_LOG: 'false', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { exited, output: () => output, stop };
}

/** The exit code, or the output so far when the platform is still running after `ms`. */
async function exitCode(run: ReturnType<typeof serve>, ms = 20_000) {
  return Promise.race([run.exited, sleep(ms).then(() => `still running: ${run.output()}`)]);
}

/** The address of the host that serves the configuration error, once it says it listens. */
async function misconfiguredHost(run: ReturnType<typeof serve>): Promise<string> {
  const deadline = Date.now() + 20_000;
  let url: string | undefined;
  while (!(url = /Routes on (http:\/\/\S+\/api)/.exec(run.output())?.[1])) {
    assert.ok(Date.now() < deadline, `no host: ${run.output()}`);
    await sleep(100);
  }
  return url;
}

async function settingsNamedByReadiness(url: string): Promise<string[]> {
  const ready = await fetch(`${url}/health/ready`);
  assert.equal(ready.status, 503);
  return ((await ready.json()) as { checks: { configuration: { settings: string[] } } }).checks.configuration.settings;
}

describe('the local platform with settings it cannot run with', () => {
  it('LOCAL_HOST_PORT=0 with another setting invalid: the configuration error is served on a free port, not on 7071', async () => {
    const run = serve({ LOCAL_HOST_PORT: '0', CACHE_FRESH_SECONDS: 'soon' });
    try {
      const url = await misconfiguredHost(run);
      assert.notEqual(new URL(url).port, '7071', 'LOCAL_HOST_PORT=0 means any free port');
      assert.deepEqual(await settingsNamedByReadiness(url), ['CACHE_FRESH_SECONDS']);
    } finally {
      await run.stop();
    }
  });

  it('a first administrator’s password the registration rules refuse is served as a configuration error, like any other', async () => {
    const run = serve({ LOCAL_HOST_PORT: '0', BOOTSTRAP_ADMIN_EMAIL: 'root@farmacias.example', BOOTSTRAP_ADMIN_PASSWORD: 'aaaaaaaaaa' });
    try {
      const url = await misconfiguredHost(run);
      assert.deepEqual(await settingsNamedByReadiness(url), ['BOOTSTRAP_ADMIN_PASSWORD']);
      assert.doesNotMatch(run.output(), /aaaaaaaaaa|the body is not valid/);
    } finally {
      await run.stop();
    }
  });

  for (const port of ['99999', '70x1', '-1']) {
    it(`LOCAL_HOST_PORT=${port}: stops with one line naming the setting`, async () => {
      const run = serve({ LOCAL_HOST_PORT: port });
      try {
        assert.equal(await exitCode(run), 1, run.output());
        assert.equal(run.output().trim(), 'invalid settings: LOCAL_HOST_PORT');
      } finally {
        await run.stop();
      }
    });
  }

  it('a taken port while serving a configuration error is named, with the setting that moves it', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const run = serve({ LOCAL_HOST_PORT: String(port), CACHE_FRESH_SECONDS: 'soon' });
    try {
      assert.equal(await exitCode(run), 1, run.output());
      assert.match(run.output(), new RegExp(`port ${port} is taken: stop what listens there, or set LOCAL_HOST_PORT to another port`));
      assert.doesNotMatch(run.output(), RAW_ERROR, 'no raw error or stack');
    } finally {
      await run.stop();
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
