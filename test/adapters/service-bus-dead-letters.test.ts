import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceBusClient, ServiceBusReceivedMessage } from '@azure/service-bus';
import { ServiceBusDeadLetters, toDeadLetter, type HandlerFor } from '../../shared/adapters/service-bus/dead-letters';
import type { StoredEvent } from '../../shared/kernel/ports';
import { storedEvent } from '../contracts/event-bus.contract';

// No Service Bus here: the mapping of what the SDK hands over, and the operator's
// commands against a dead-letter sub-queue of messages held in memory.

type Message = Pick<ServiceBusReceivedMessage, 'body' | 'messageId' | 'sequenceNumber' | 'deadLetterReason' | 'deadLetterErrorDescription' | 'deliveryCount'>;

let sequence = 0;
function message(body: unknown, messageId?: string): Message {
  sequence += 1;
  return { body, messageId, sequenceNumber: { toString: () => String(sequence) } as Message['sequenceNumber'], deadLetterReason: 'handler-failed', deadLetterErrorDescription: 'boom', deliveryCount: 10 };
}

/** A dead-letter sub-queue in memory: peek, receive (peek-lock), complete, abandon. */
function subQueue(messages: Message[]) {
  const locked = new Set<Message>();
  const receiver = {
    peekMessages: async (count: number) => messages.slice(0, count),
    receiveMessages: async (count: number) => {
      const free = messages.filter((candidate) => !locked.has(candidate)).slice(0, count);
      for (const taken of free) locked.add(taken);
      return free;
    },
    completeMessage: async (taken: Message) => {
      messages.splice(messages.indexOf(taken), 1);
      locked.delete(taken);
    },
    abandonMessage: async (taken: Message) => void locked.delete(taken),
    close: async () => {},
  };
  const client = { createReceiver: () => receiver, close: async () => {} } as unknown as ServiceBusClient;
  return (handlerFor: HandlerFor) =>
    new (ServiceBusDeadLetters as unknown as new (client: ServiceBusClient, topic: string, handlerFor: HandlerFor) => ServiceBusDeadLetters)(client, 'events', handlerFor);
}

describe('Service Bus dead letters whose body is no event', () => {
  const event = storedEvent('PharmacyRegistered');

  it('maps an event, whether the SDK decoded it or it came as JSON text or bytes', () => {
    for (const body of [event, JSON.stringify(event), Buffer.from(JSON.stringify(event))]) {
      const letter = toDeadLetter(message(body, event.eventId));
      assert.deepEqual(letter, { id: event.eventId, event, reason: 'handler-failed: boom', attempts: 10 });
    }
  });

  it('maps a body that is not JSON as unreadable, without quoting it, named by its sequence number when it has no id', () => {
    const fromText = toDeadLetter(message('maria@example.com, not JSON'));
    assert.equal(fromText.event, undefined);
    assert.match(fromText.unreadable!, /not JSON \(27 bytes\)/);
    assert.doesNotMatch(fromText.unreadable!, /maria/);
    assert.match(fromText.id, /^seq:\d+$/);
    assert.deepEqual([fromText.reason, fromText.attempts], ['handler-failed: boom', 10]);
    const fromBytes = toDeadLetter(message(Buffer.from([0xff, 0x00, 0x7b]), 'm-1'));
    assert.deepEqual([fromBytes.id, fromBytes.event], ['m-1', undefined]);
    assert.match(fromBytes.unreadable!, /not JSON/);
  });

  it('maps JSON that is no event as unreadable', () => {
    for (const body of [null, 42, '[1,2]', { eventId: 'x' }, '{"type":"PharmacyRegistered"}']) {
      const letter = toDeadLetter(message(body, 'm-2'));
      assert.equal(letter.event, undefined, JSON.stringify(body));
      assert.match(letter.unreadable!, /not an event/);
    }
  });

  it('lists all, replays the events and leaves the unreadable ones, and drops them', async () => {
    const other = storedEvent('PharmacyRegistered');
    const messages = [message(event, event.eventId), message('not json'), message({ hello: 'world' }, 'm-3'), message(other, other.eventId)];
    const [, notJson] = messages;
    const handled: StoredEvent[] = [];
    const deadLetters = subQueue(messages)(async () => async (delivered) => void handled.push(delivered));

    const listed = await deadLetters.list('pharmacies-read', 10);
    assert.deepEqual(listed.map((letter) => letter.event?.eventId ?? letter.unreadable?.slice(0, 12)), [event.eventId, 'the body is ', 'the body is ', other.eventId]);
    const notJsonId = listed[1].id;

    const outcome = await deadLetters.replay('pharmacies-read', { limit: 100 });
    assert.deepEqual(outcome, { replayed: [event.eventId, other.eventId], failed: [], unreadable: [notJsonId, 'm-3'] });
    assert.deepEqual(handled.map((delivered) => delivered.eventId), [event.eventId, other.eventId]);
    assert.equal(messages.length, 2, 'the unreadable ones stay');

    const dropped = await deadLetters.drop('pharmacies-read', { ids: [notJsonId] });
    assert.deepEqual(dropped.map((letter) => letter.id), [notJsonId]);
    assert.ok(!messages.includes(notJson));
    assert.deepEqual((await deadLetters.drop('pharmacies-read', { unreadable: true })).map((letter) => letter.id), ['m-3']);
    assert.deepEqual(messages, []);
  });
});
