import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../shared/kernel/project-root';

/**
 * The external validators the infrastructure tests run: the Bicep compiler, Microsoft's
 * T-SQL parser (tools/validators, .NET) and shellcheck. Each is found synchronously, since
 * node:test decides a skip when a suite is declared.
 */

const root = projectRoot();
/** Where `dotnet build tools/validators` puts the parser and the Bicep compiler's path. */
export const validatorsOutput = join(root, '.validators');

export interface Run {
  status: number;
  output: string;
}

export function run(command: string, args: string[], options: { input?: string; cwd?: string } = {}): Run {
  const result = spawnSync(command, args, { cwd: options.cwd ?? root, input: options.input, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status ?? -1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function onPath(command: string): boolean {
  return run('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** Builds tools/validators once (restoring the T-SQL parser and the Bicep compiler from NuGet). */
function buildValidators(): boolean {
  if (existsSync(join(validatorsOutput, 'Validators.dll')) && existsSync(join(validatorsOutput, 'bicep-path.txt'))) return true;
  if (!onPath('dotnet')) return false;
  try {
    execFileSync('dotnet', ['build', 'tools/validators', '-c', 'Release', '-o', validatorsOutput, '--nologo', '-v', 'quiet'], { cwd: root, stdio: 'pipe', timeout: 300_000 });
    return true;
  } catch (error) {
    if (process.env.CI === 'true') throw error;
    return false;
  }
}

/** The Bicep compiler: `bicep` on PATH, else `az bicep`, else the NuGet copy. */
export function bicep(): { command: string; prefix: string[] } | undefined {
  if (onPath('bicep')) return { command: 'bicep', prefix: [] };
  if (onPath('az') && run('az', ['bicep', 'version']).status === 0) return { command: 'az', prefix: ['bicep'] };
  if (!buildValidators()) return undefined;
  const path = readFileSync(join(validatorsOutput, 'bicep-path.txt'), 'utf8').trim();
  return existsSync(path) ? { command: path, prefix: [] } : undefined;
}

/** Microsoft's T-SQL parser (ScriptDom) as `dotnet .validators/Validators.dll tsql <files>`. */
export function tsqlParser(): { command: string; prefix: string[] } | undefined {
  return buildValidators() ? { command: 'dotnet', prefix: [join(validatorsOutput, 'Validators.dll'), 'tsql'] } : undefined;
}

export function shellcheck(): { command: string; prefix: string[] } | undefined {
  return onPath('shellcheck') ? { command: 'shellcheck', prefix: [] } : undefined;
}

/** Skip with a message where a validator is absent; under CI=true it must be there. */
export function skipUnlessPresent(found: unknown, what: string, howToGet: string): string | false {
  if (found || process.env.CI === 'true') return false;
  return `${what} is not available here: ${howToGet} (required under CI=true)`;
}
