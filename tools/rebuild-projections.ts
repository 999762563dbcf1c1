// Replays the event store into the read models (after a projection change, or into an
// emptied container), with the settings of the environment it runs in:
//   npm run rebuild-projections [-- --only pharmacies|products|offers]
// Documents are upserted: empty a container first to drop documents no event makes.
import { parseArgs } from 'node:util';
import { compose } from '../shared/kernel/composition';
import { rebuildAll } from '../shared/kernel/projection';
import { loadSettings } from '../shared/kernel/settings';
import { READ_CONTAINERS, READ_PROJECTIONS } from '../shared/platform/app';
import { runWhenMain } from './cli';

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, print: (line: string) => void = console.log): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { only: { type: 'string' } } });
  const projections = READ_PROJECTIONS.filter((projection) => !values.only || projection.container.name === values.only);
  if (projections.length === 0) {
    print(`no read model ${values.only}: one of ${READ_PROJECTIONS.map((p) => p.container.name).join(', ')}`);
    return 2;
  }
  const services = await compose({ ...loadSettings(env), seedDemoData: false }, READ_CONTAINERS);
  try {
    const replayed = await rebuildAll(services, projections);
    print(`rebuilt ${projections.map((p) => p.container.name).join(', ')} from ${replayed} event(s)`);
    return 0;
  } finally {
    await services.close();
  }
}

runWhenMain(module, (argv) => main(argv));
