import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../shared/kernel/project-root';
import { childEnv } from '../support/child-env';
import { freePort } from '../support/free-port';

/**
 * `npm start` as a supervisor runs it (issue 13): the signal goes to npm's PID, which must
 * stop the server, free the port and let go of the SQLite files. The build step is left
 * out here (`npm run serve` is what `npm start` execs after building): a test must not
 * rewrite dist/ under the suites that run beside it.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false));
  });

/** Whether the port answers an HTTP request at all (any status). */
const answersHttp = (port: number) =>
  fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(2_000) }).then(
    () => true,
    () => false,
  );

function serve(env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-npm-start-'));
  let output = '';
  const child: ChildProcess = spawn('npm', ['run', '--silent', 'serve'], {
    cwd: projectRoot(),
    env: childEnv({ DATA_DIR: dataDir, SEED_DEMO_DATA: 'false', REQUEST_LOG: 'false', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, dataDir, output: () => output, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

describe('npm start under a supervisor', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to npm's PID stops the server and frees the port`, async () => {
      const port = await freePort();
      const run = serve({ LOCAL_HOST_PORT: String(port) });
      try {
        await until('the platform listens', () => run.output().includes('Farmácias platform on'));
        assert.ok(await listening(port));
        run.child.kill(signal);
        const code = await Promise.race([run.exited, sleep(10_000).then(() => 'still running')]);
        assert.equal(code, 0, `npm ${code === 'still running' ? 'did not stop' : `exited ${code}`}: ${run.output()}`);
        assert.equal(await listening(port), false, 'nothing holds the port');
        assert.throws(() => readFileSync(join(run.dataDir, 'read-store.json')), 'the read store address is withdrawn');
      } finally {
        run.child.kill('SIGKILL');
        run.cleanup();
      }
    });
  }

  it('a second start on the same DATA_DIR stops before it touches the bus, and leaves the running one as it was', async () => {
    const first = serve({ LOCAL_HOST_PORT: String(await freePort()) });
    try {
      await until('the first platform listens', () => first.output().includes('Farmácias platform on'));
      const published = readFileSync(join(first.dataDir, 'read-store.json'), 'utf8');
      const second = spawn('npm', ['run', '--silent', 'serve'], {
        cwd: projectRoot(),
        env: childEnv({ DATA_DIR: first.dataDir, LOCAL_HOST_PORT: String(await freePort()), SEED_DEMO_DATA: 'false', REQUEST_LOG: 'false' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      second.stdout!.on('data', (chunk) => (output += chunk));
      second.stderr!.on('data', (chunk) => (output += chunk));
      const code = await new Promise<number | null>((resolve) => second.on('exit', resolve));
      assert.equal(code, 1, output);
      assert.match(output, /the platform already runs on DATA_DIR .*: stop it, or set DATA_DIR to another folder/);
      assert.doesNotMatch(output, /read models rebuilt/, 'it stopped before composing anything');
      assert.equal(readFileSync(join(first.dataDir, 'read-store.json'), 'utf8'), published, 'the running host still publishes its store');
    } finally {
      // SIGTERM, which npm passes on: a SIGKILL would leave the server it exec'd running.
      first.child.kill('SIGTERM');
      await Promise.race([first.exited, sleep(10_000)]);
      first.cleanup();
    }
  });

  it('a taken port is named, with the setting that moves it', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const run = serve({ LOCAL_HOST_PORT: String(port) });
    try {
      const code = await Promise.race([run.exited, sleep(30_000).then(() => 'still running')]);
      assert.equal(code, 1, run.output());
      assert.match(run.output(), new RegExp(`port ${port} is taken: stop what listens there, or set LOCAL_HOST_PORT`));
      assert.doesNotMatch(run.output(), /EADDRINUSE|\n\s+at /, 'no raw error or stack');
    } finally {
      run.child.kill('SIGTERM');
      await Promise.race([run.exited, sleep(10_000)]);
      run.cleanup();
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('opens the port only once the demo data is in', async () => {
    const port = await freePort();
    const run = serve({ LOCAL_HOST_PORT: String(port), SEED_DEMO_DATA: 'true' });
    try {
      let listeningBeforeSeeded = false;
      await until(
        'the platform listens',
        async () => {
          // An HTTP answer, not a bare accept: before seeding, the start-up checks that the port
          // is free by listening on it for an instant, with no one answering.
          if (!run.output().includes('seeded ') && (await answersHttp(port))) {
            // The seed's line is written before the port opens; give the pipe a moment to bring it here.
            await sleep(1_000);
            if (!run.output().includes('seeded ')) listeningBeforeSeeded = true;
          }
          return run.output().includes('Farmácias platform on');
        },
        90_000,
      );
      assert.equal(listeningBeforeSeeded, false, 'the port answered before the seed was done');
      const products = (await (await fetch(`http://127.0.0.1:${port}/api/products?limit=1`)).json()) as { items: unknown[] };
      assert.equal(products.items.length, 1, 'the first answer already has the demo data');
      // Every read model holds exactly what the seed's events make (each event projected once, none lost).
      const verify = spawnSync(process.execPath, [join(projectRoot(), 'dist/tools/rebuild-projections.js'), 'verify'], { env: childEnv({ DATA_DIR: run.dataDir, REQUEST_LOG: 'false' }) });
      assert.equal(verify.status, 0, verify.stdout.toString() + verify.stderr.toString());
      assert.match(verify.stdout.toString(), /offers: 360 expected from the events, 360 in the store; 0 difference/);
      run.child.kill('SIGTERM');
      await run.exited;
    } finally {
      run.child.kill('SIGTERM');
      await Promise.race([run.exited, sleep(10_000)]);
      run.cleanup();
    }
  });
});
