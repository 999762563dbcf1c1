/** A domain event as the decider sees it: a type and plain JSON data. */
export interface DomainEvent<Type extends string = string, Data extends object = object> {
  type: Type;
  data: Data;
}

/**
 * One aggregate's behaviour as pure functions: `decide` turns a command and the current
 * state into new events (or throws a DomainError), `evolve` folds an event into the state.
 */
export interface Decider<Command, Event extends DomainEvent, State> {
  initialState: State;
  evolve(state: State, event: Event): State;
  decide(command: Command, state: State): Event[];
}

export function fold<Event extends DomainEvent, State>(
  decider: Pick<Decider<unknown, Event, State>, 'initialState' | 'evolve'>,
  events: Iterable<Event>,
): State {
  let state = decider.initialState;
  for (const event of events) state = decider.evolve(state, event);
  return state;
}

/**
 * Whether two JSON-like values are equal, whatever the order of their objects' members
 * (state rebuilt by `evolve` or read from a snapshot keeps the order of the events, not the
 * command's): deciders compare values with it, never JSON text.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => sameValue(item, b[index]));
  const entries = Object.entries(a).filter(([, value]) => value !== undefined);
  const other = b as Record<string, unknown>;
  return entries.length === Object.values(other).filter((value) => value !== undefined).length && entries.every(([key, value]) => sameValue(value, other[key]));
}
