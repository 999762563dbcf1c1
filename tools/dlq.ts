// Operator command: list and replay dead-lettered deliveries, on Service Bus or RabbitMQ
// alike (whichever the settings configure).
//   npm run dlq -- subscriptions
//   npm run dlq -- list <subscription> [--limit 20]
//   npm run dlq -- replay <subscription> [--id <event id>]... [--limit 100]
//   npm run dlq -- drop <subscription> (--id <id>... | --unreadable)
// Exit codes: 0 done; 1 a replay failed again; 2 usage; 3 done, but unreadable dead letters
// (bodies that are no events) were listed or left by a replay: drop them.
import { InvocationContext } from '@azure/functions';
import { parseArgs } from 'node:util';
import { compose, openDeadLetters } from '../shared/kernel/composition';
import type { DeadLetter, StoredEvent } from '../shared/kernel/ports';
import type { EventHandlerDeclaration } from '../shared/kernel/routes';
import type { Services } from '../shared/kernel/services';
import { loadSettings } from '../shared/kernel/settings';
import { appModules, declaredModules, READ_CONTAINERS } from '../shared/platform/app';
import { runWhenMain } from './cli';

const USAGE =
  'usage: npm run dlq -- subscriptions | list <subscription> [--limit N] | replay <subscription> [--id <event id>]... [--limit N] | drop <subscription> (--id <id>... | --unreadable)';

/** Listed or left, some dead letters are no events: the work is done, and the code says what remains. */
const UNREADABLE_LEFT = 3;

function declarations(): EventHandlerDeclaration[] {
  // Declarations only: their services are asked for when a handler runs.
  return declaredModules().flatMap((module) => module.eventHandlers);
}

export async function main(argv: string[], print: (line: string) => void = console.log): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { limit: { type: 'string' }, id: { type: 'string', multiple: true }, unreadable: { type: 'boolean' } },
  });
  const [command, subscription] = positionals;
  const limit = Number(values.limit ?? (command === 'list' ? 20 : 100));
  if (command === 'subscriptions') {
    for (const declaration of declarations()) print(JSON.stringify({ subscription: declaration.subscription, eventTypes: declaration.eventTypes }));
    return 0;
  }
  const declaration = declarations().find((candidate) => candidate.subscription === subscription);
  const dropSelects = command !== 'drop' || (values.id?.length ?? 0) > 0 || values.unreadable === true;
  if (!['list', 'replay', 'drop'].includes(command) || !declaration || !Number.isInteger(limit) || limit < 1 || !dropSelects) {
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
      let unreadable = 0;
      for (const letter of await deadLetters.list(declaration.subscription, limit)) {
        // Routing facts only: an event's data may hold (sealed) personal values.
        print(JSON.stringify(routingFacts(letter)));
        if (letter.unreadable !== undefined) unreadable += 1;
      }
      return unreadable > 0 ? UNREADABLE_LEFT : 0;
    }
    if (command === 'drop') {
      const dropped = await deadLetters.drop(declaration.subscription, { ids: values.id, unreadable: values.unreadable });
      print(JSON.stringify({ dropped: dropped.map(routingFacts) }));
      return 0;
    }
    const outcome = await deadLetters.replay(declaration.subscription, { ids: values.id, limit });
    print(JSON.stringify(outcome));
    return outcome.failed.length > 0 ? 1 : outcome.unreadable.length > 0 ? UNREADABLE_LEFT : 0;
  } finally {
    await deadLetters.close();
    await services?.close();
  }
}

function routingFacts(letter: DeadLetter) {
  const { id, attempts, reason, event } = letter;
  if (!event) return { id, unreadable: letter.unreadable, attempts, reason };
  return { id, type: event.type, streamId: event.streamId, version: event.version, occurredAt: event.occurredAt, attempts, reason };
}

runWhenMain(module, (argv) => main(argv), USAGE);
