// Operator command: list and replay dead-lettered deliveries, on Service Bus or RabbitMQ
// alike (whichever the settings configure).
//   npm run dlq -- subscriptions
//   npm run dlq -- list <subscription> [--limit 20]
//   npm run dlq -- replay <subscription> [--id <event id>]... [--limit 100]
import { InvocationContext } from '@azure/functions';
import { parseArgs } from 'node:util';
import { compose, openDeadLetters } from '../shared/kernel/composition';
import type { StoredEvent } from '../shared/kernel/ports';
import type { EventHandlerDeclaration } from '../shared/kernel/routes';
import type { Services } from '../shared/kernel/services';
import { loadSettings } from '../shared/kernel/settings';
import { appModules, declaredModules, READ_CONTAINERS } from '../shared/platform/app';
import { runWhenMain } from './cli';

const USAGE = 'usage: npm run dlq -- subscriptions | list <subscription> [--limit N] | replay <subscription> [--id <event id>]... [--limit N]';

function declarations(): EventHandlerDeclaration[] {
  // Declarations only: their services are asked for when a handler runs.
  return declaredModules().flatMap((module) => module.eventHandlers);
}

export async function main(argv: string[], print: (line: string) => void = console.log): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { limit: { type: 'string' }, id: { type: 'string', multiple: true } },
  });
  const [command, subscription] = positionals;
  const limit = Number(values.limit ?? (command === 'list' ? 20 : 100));
  if (command === 'subscriptions') {
    for (const declaration of declarations()) print(JSON.stringify({ subscription: declaration.subscription, eventTypes: declaration.eventTypes }));
    return 0;
  }
  const declaration = declarations().find((candidate) => candidate.subscription === subscription);
  if (!['list', 'replay'].includes(command) || !declaration || !Number.isInteger(limit) || limit < 1) {
    print(declaration || !subscription ? USAGE : `no subscription ${subscription}: see npm run dlq -- subscriptions`);
    return 2;
  }
  const settings = loadSettings();
  let services: Services | undefined;
  // Composed only if a replay needs the handler in this process (Service Bus).
  const handlerFor = async (name: string) => {
    services ??= await compose({ ...settings, seedDemoData: false }, READ_CONTAINERS);
    const composed = services;
    const handler = appModules(async () => composed)
      .flatMap((module) => module.eventHandlers)
      .find((candidate) => candidate.subscription === name)!;
    const context = new InvocationContext({ functionName: `dlq-replay-${handler.name}` });
    return (event: StoredEvent) => handler.handler(event, context);
  };
  const deadLetters = await openDeadLetters(settings, handlerFor);
  try {
    if (command === 'list') {
      for (const letter of await deadLetters.list(declaration.subscription, limit)) {
        // Routing facts only: an event's data may hold (sealed) personal values.
        const { id, attempts, reason, event } = letter;
        print(JSON.stringify({ id, type: event.type, streamId: event.streamId, version: event.version, occurredAt: event.occurredAt, attempts, reason }));
      }
      return 0;
    }
    const outcome = await deadLetters.replay(declaration.subscription, { ids: values.id, limit });
    print(JSON.stringify(outcome));
    return outcome.failed.length > 0 ? 1 : 0;
  } finally {
    await deadLetters.close();
    await services?.close();
  }
}

runWhenMain(module, (argv) => main(argv));
