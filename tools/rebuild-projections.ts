// The read models against the event store, with the settings of the environment it runs in:
//   npm run rebuild-projections -- verify [--only <container>] [--show 20]
//   npm run rebuild-projections -- repair [--only …]   (also with no command)
// Summary documents (catalog-summaries) are recounted from the container they summarise,
// after it; `--only products` includes the summaries of products.
// verify writes nothing: exit 0 when every container matches a replay, 4 when some differ.
// repair rewrites in place only the documents that differ, each conditionally on its etag,
// while the app keeps serving and projecting.
import { parseArgs } from 'node:util';
import { findLocalReadStore } from '../shared/adapters/cosmos/local-server';
import { compose } from '../shared/kernel/composition';
import { repairReadModels, repairSummaries, verifyReadModels, verifySummaries, type ProjectionReport } from '../shared/kernel/rebuild';
import { loadSettings } from '../shared/kernel/settings';
import { READ_CONTAINERS, READ_PROJECTIONS, READ_SUMMARIES } from '../shared/platform/app';
import { runWhenMain } from './cli';

const USAGE = 'usage: rebuild-projections [verify|repair] [--only <container>] [--show N]';
export const DIFFERENCES_FOUND = 4;

function describe(report: ProjectionReport, show: number, print: (line: string) => void) {
  const counts = ['missing', 'extra', 'different'].map((kind) => `${report.differences.filter((d) => d.kind === kind).length} ${kind}`).join(', ');
  const basis = report.countedFrom ? `a recount of ${report.countedFrom}` : 'the events';
  print(`${report.container}: ${report.expected} expected from ${basis}, ${report.actual} in the store; ${report.differences.length} difference(s) (${counts})`);
  for (const difference of report.differences.slice(0, show)) {
    const versions = `expected v${difference.expectedVersion ?? '-'}, stored v${difference.actualVersion ?? '-'}`;
    print(`  ${difference.kind} ${difference.id} (${versions})`);
  }
  if (report.differences.length > show) print(`  … and ${report.differences.length - show} more (--show N)`);
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, print: (line: string) => void = console.log): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { only: { type: 'string' }, show: { type: 'string', default: '20' } } });
  const command = positionals[0] ?? 'repair';
  const show = Number(values.show);
  if (positionals.length > 1 || !['verify', 'repair'].includes(command) || !Number.isInteger(show) || show < 0) {
    print(USAGE);
    return 2;
  }
  const projections = READ_PROJECTIONS.filter((projection) => !values.only || projection.container.name === values.only);
  // A summary goes with the container it counts: repairing that one calls for a recount.
  const summaries = READ_SUMMARIES.filter((summary) => !values.only || [summary.container.name, summary.source.name].includes(values.only));
  if (projections.length === 0 && summaries.length === 0) {
    print(`no read model ${values.only}: one of ${[...READ_PROJECTIONS, ...READ_SUMMARIES].map((p) => p.container.name).join(', ')}`);
    return 2;
  }
  const settings = loadSettings(env);
  if (!settings.cosmos.endpoint) {
    // Locally the read store lives inside the running host: verify that one, never an empty one of our own.
    const running = findLocalReadStore(settings.dataDir);
    if (!running) {
      print(`no read store to check: start the platform on DATA_DIR ${settings.dataDir} (npm start), or set COSMOS_ENDPOINT`);
      return 2;
    }
    settings.cosmos = { ...settings.cosmos, ...running };
  }
  const services = await compose({ ...settings, seedDemoData: false }, READ_CONTAINERS);
  try {
    if (command === 'verify') {
      const reports = [...(await verifyReadModels(services, projections)), ...(await verifySummaries(services, summaries))];
      for (const report of reports) describe(report, show, print);
      return reports.some((report) => report.differences.length > 0) ? DIFFERENCES_FOUND : 0;
    }
    // The summaries after the containers they count, so that they count the repaired ones.
    const repairs = await repairReadModels(services, projections);
    for (const report of [...repairs, ...(await repairSummaries(services, summaries))]) {
      describe(report, show, print);
      print(`  repaired ${report.repaired} document(s)`);
    }
    return 0;
  } finally {
    await services.close();
  }
}

runWhenMain(module, (argv) => main(argv), USAGE);
