/** The error of a call that did not settle in time. */
export class TimedOut extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimedOut';
  }
}

/**
 * Settles with `work`, or rejects with `TimedOut` after `ms`. The work itself is not
 * cancelled: it goes on in the background and its late outcome is dropped (a late
 * rejection is caught here, so it never becomes an unhandled one). For calls whose result
 * is safe to abandon, such as a publish the outbox relay will repeat.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(message)), ms);
    timer.unref();
  });
  work.catch(() => {});
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The same object, each of its methods bounded by `ms`: a call that has not settled by
 * then rejects with `unavailable(timedOut)`, and goes on in the background (see withTimeout).
 * `exempt` methods (close) run unbounded.
 */
export function withCallDeadline<T extends object>(target: T, ms: number, unavailable: (timedOut: TimedOut) => Error, exempt: string[] = ['close']): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function' || exempt.includes(String(property))) return value;
      return (...args: unknown[]) =>
        withTimeout(Promise.resolve().then(() => value.apply(object, args)), ms, `${String(property)} exceeded ${ms} ms`).catch((error: unknown) => {
          throw error instanceof TimedOut ? unavailable(error) : error;
        });
    },
  });
}
