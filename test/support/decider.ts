import assert from 'node:assert/strict';
import type { Decider, DomainEvent } from '../../shared/kernel/decider';
import { fold } from '../../shared/kernel/decider';

/** given(events).when(command).then(events) | .thenThrows(ErrorClass): deciders as specifications. */
export function specification<Command, Event extends DomainEvent, State>(decider: Decider<Command, Event, State>) {
  return (history: Event[]) => ({
    when: (command: Command) => ({
      then(expected: Event[]) {
        assert.deepEqual(decider.decide(command, fold(decider, history)), expected);
      },
      thenThrows(errorClass: new (...args: never[]) => Error, message?: RegExp) {
        assert.throws(
          () => decider.decide(command, fold(decider, history)),
          (error: Error) => error instanceof errorClass && (!message || message.test(error.message)),
        );
      },
    }),
  });
}
