import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { ServiceBusDeadLetters } from '../../shared/adapters/service-bus/dead-letters';
import { ServiceBusEventBus, subscriptionFilter, toServiceBusMessage, type ServiceBusBusOptions } from '../../shared/adapters/service-bus/event-bus';
import type { ServiceBusClient, ServiceBusReceivedMessage } from '@azure/service-bus';
import { eventBusContract, storedEvent } from '../contracts/event-bus.contract';

const connectionString = process.env.ServiceBusConnection;

describe('Service Bus adapter, without a namespace', () => {
  it('sends the event id as the message id, so the topic drops a re-send, and the type as the subject', () => {
    const event = { ...storedEvent('OfferPublished', 'offer-1', 3), metadata: { correlationId: 'order-9', causationId: 'inv-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', actor: 'u-1' } };
    const message = toServiceBusMessage(event);
    assert.equal(message.messageId, event.eventId);
    assert.equal(message.subject, 'OfferPublished');
    assert.equal(message.correlationId, 'order-9');
    assert.equal(message.contentType, 'application/json');
    assert.deepEqual(message.body, event);
    assert.deepEqual(message.applicationProperties, {
      streamId: 'offer-1',
      version: 3,
      position: event.position,
      occurredAt: event.occurredAt,
      causationId: 'inv-1',
      traceparent: event.metadata.traceparent,
      'Diagnostic-Id': event.metadata.traceparent,
    });
    assert.ok(!JSON.stringify(message.applicationProperties).includes('u-1'), 'no caller identity in routing properties');
  });

  it('filters a subscription on the types it handles, quoting each as SQL filter text', () => {
    assert.equal(subscriptionFilter(['ProductRegistered', "It's"]), "sys.label IN ('ProductRegistered', 'It''s')");
  });
});

describe('Service Bus bus, its settlements failing', () => {
  /** A subscribing bus on a client that delivers by hand and settles as `settle` says (the SDK's own errors). */
  function busOn(settle: { complete(): Promise<void> }) {
    const settled: string[] = [];
    let processMessage: ((message: ServiceBusReceivedMessage) => Promise<void>) | undefined;
    const receiver = {
      subscribe: (handlers: { processMessage: typeof processMessage }) => void (processMessage = handlers.processMessage),
      completeMessage: async () => {
        await settle.complete();
        settled.push('completed');
      },
      abandonMessage: async () => void settled.push('abandoned'),
      deadLetterMessage: async (_message: unknown, reason: { deadLetterReason: string }) => void settled.push(`dead-lettered: ${reason.deadLetterReason}`),
      close: async () => {},
    };
    const client = { createReceiver: () => receiver, close: async () => {} } as unknown as ServiceBusClient;
    const deadLetters: string[] = [];
    const options: ServiceBusBusOptions = {
      connection: { connectionString: 'unused' },
      topic: 'domain-events',
      maxAttempts: 3,
      retryBaseMs: 1,
      maxConcurrent: 1,
      log: () => {},
      onDeadLetter: (subscription) => void deadLetters.push(subscription),
    };
    const bus = new (ServiceBusEventBus as unknown as new (client: ServiceBusClient, options: ServiceBusBusOptions) => ServiceBusEventBus)(client, options);
    return { bus, settled, deadLetters, deliver: (message: ServiceBusReceivedMessage) => processMessage!(message) };
  }

  it('never dead-letters (nor counts as failed) an event its handler took, when only the completion fails', async () => {
    const { ServiceBusError } = await import('@azure/service-bus');
    // The link was detached as the completion went out; the dead letter that followed went through the management link.
    const { bus, settled, deadLetters, deliver } = busOn({ complete: async () => Promise.reject(new ServiceBusError('The link was detached', 'ServiceCommunicationProblem')) });
    const handled: string[] = [];
    bus.subscribe({ name: 'offers-projection', eventTypes: ['OfferPublished'], handle: async (event) => void handled.push(event.eventId) });
    const event = storedEvent('OfferPublished', 'offer-1', 1);
    const lastAttempt = { body: event, messageId: event.eventId, deliveryCount: 3 } as unknown as ServiceBusReceivedMessage;
    await deliver(lastAttempt);
    assert.deepEqual(handled, [event.eventId]);
    assert.deepEqual(settled, [], 'left to come back when its lock lapses (handled again, harmlessly), not dead-lettered as a failed handler');
    assert.deepEqual(deadLetters, []);
  });

  it('still dead-letters a delivery whose handler failed at its last attempt, with the reason', async () => {
    const { bus, settled, deadLetters, deliver } = busOn({ complete: async () => {} });
    bus.subscribe({ name: 'offers-projection', eventTypes: ['OfferPublished'], handle: async () => Promise.reject(new Error('the read store is away')) });
    const event = storedEvent('OfferPublished', 'offer-1', 1);
    await deliver({ body: event, messageId: event.eventId, deliveryCount: 3 } as unknown as ServiceBusReceivedMessage);
    await deliver({ body: event, messageId: event.eventId, deliveryCount: 1 } as unknown as ServiceBusReceivedMessage);
    assert.deepEqual(settled, ['dead-lettered: handler-failed', 'abandoned']);
    assert.deepEqual(deadLetters, ['offers-projection']);
  });
});

suiteNeeding('Service Bus bus against a namespace', connectionString ? false : 'no Service Bus here: set ServiceBusConnection to a namespace connection string with Manage rights to run the contract', () => {
  eventBusContract('Service Bus', async (maxAttempts) => {
    const { ServiceBusAdministrationClient } = await import('@azure/service-bus');
    const admin = new ServiceBusAdministrationClient(connectionString!);
    const topic = `test-events-${randomUUID().slice(0, 8)}`;
    await admin.createTopic(topic, { requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindow: 'PT10M' });
    const bus = await ServiceBusEventBus.open({ connection: { connectionString: connectionString! }, topic, maxAttempts, retryBaseMs: 10, maxConcurrent: 4 });
    const subscriptions: string[] = [];
    let declared: Promise<unknown> = Promise.resolve();
    const subscribe = bus.subscribe.bind(bus);
    bus.subscribe = (subscriber) => {
      subscriptions.push(subscriber.name);
      declared = declared.then(async () => {
        await admin.createSubscription(topic, subscriber.name, { maxDeliveryCount: maxAttempts + 1, deadLetteringOnFilterEvaluationExceptions: true });
        await admin.deleteRule(topic, subscriber.name, '$Default');
        await admin.createRule(topic, subscriber.name, 'event-types', { sqlExpression: subscriptionFilter(subscriber.eventTypes) });
        subscribe(subscriber);
      });
    };
    const publish = bus.publish.bind(bus);
    bus.publish = async (events) => {
      await declared;
      await publish(events);
    };
    const deadLetters = await ServiceBusDeadLetters.open({ connectionString: connectionString! }, topic, async () => async () => {});
    const quiet = async () => {
      for (const name of subscriptions) {
        const runtime = await admin.getSubscriptionRuntimeProperties(topic, name);
        if (runtime.activeMessageCount > 0) return false;
      }
      return true;
    };
    return {
      bus,
      settle: async () => {
        await declared;
        for (let calm = 0; calm < 2; ) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          await bus.idle();
          calm = (await quiet()) ? calm + 1 : 0;
        }
      },
      deadLettered: async (subscriber) => (await deadLetters.list(subscriber, 100)).flatMap((letter) => (letter.event ? [letter.event] : [])),
      dispose: async () => {
        await bus.close();
        await deadLetters.close();
        await admin.deleteTopic(topic);
      },
    };
  });
});
