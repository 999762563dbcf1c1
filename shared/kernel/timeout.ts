/** The error of a call that did not settle in time. */
export class TimedOut extends Error {
  /**
   * The call itself, still running: whoever must act only once it is over (give up an
   * Idempotency-Key claim it may yet commit) waits for this. It never rejects.
   */
  readonly settled: Promise<void>;

  constructor(message: string, work: Promise<unknown> = Promise.resolve()) {
    super(message);
    this.name = 'TimedOut';
    this.settled = work.then(
      () => undefined,
      () => undefined,
    );
  }
}

/** The call a timeout cut short, as TimedOut or as the cause of the error it became (a 503); undefined for any other error. */
export function timedOutCall(error: unknown): Promise<void> | undefined {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 4; cause = cause.cause, depth += 1) {
    if (cause instanceof TimedOut) return cause.settled;
  }
  return undefined;
}

/**
 * Settles with `work`, or rejects with `TimedOut` after `ms`. The work itself is not
 * cancelled: it goes on in the background (TimedOut.settled says when it is over) and its
 * late outcome is dropped (a late
 * rejection is caught here, so it never becomes an unhandled one). For calls whose result
 * is safe to abandon, such as a publish the outbox relay will repeat.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(message, work)), ms);
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
