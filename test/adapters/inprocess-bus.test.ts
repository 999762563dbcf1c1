import { InProcessEventBus } from '../../shared/adapters/inprocess/event-bus';
import { eventBusContract } from '../contracts/event-bus.contract';

eventBusContract('in-process', async (maxAttempts) => {
  const bus = new InProcessEventBus({ maxAttempts, retryBaseMs: 2 });
  return {
    bus,
    settle: () => bus.idle(),
    deadLettered: async (subscriber) => bus.deadLetters.filter((l) => l.subscriber === subscriber).map((l) => l.event),
    dispose: () => bus.close(),
  };
});
