import type { HttpHandler } from '@azure/functions';
import { jsonResponse, withProblemDetails } from '../kernel/http';
import type { ServiceProvider, Services } from '../kernel/services';
import { configurationProblem, CONFIGURATION_RETRY_AFTER_SECONDS } from './configuration';

const CHECK_TIMEOUT_MS = 1_000;

type CheckStatus = 'healthy' | 'unhealthy';

async function timed(check: () => Promise<void>): Promise<{ status: CheckStatus; durationMs: number; error?: string }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS))),
    ]);
    return { status: 'healthy', durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    // A short reason only: connection strings and hosts stay out of public answers.
    const reason = error instanceof Error && error.message === 'timed out' ? 'timed out' : 'unreachable';
    return { status: 'unhealthy', durationMs: Math.round(performance.now() - started), error: reason };
  } finally {
    clearTimeout(timer);
  }
}

export async function readiness(services: Services) {
  const [eventStore, bus, readStore, cache] = await Promise.all([
    timed(() => services.eventStore.ping()),
    timed(() => services.bus.ping()),
    timed(() => services.readStore.ping()),
    timed(() => services.cache.ping()),
  ]);
  const checks = { eventStore, bus, readStore, cache };
  // Commands need the event store alone: while the bus is away the outbox keeps their
  // events, and queries live on stale cache copies while the read side is away.
  const status =
    eventStore.status === 'unhealthy'
      ? 'unhealthy'
      : [bus, readStore, cache].some((check) => check.status === 'unhealthy')
        ? 'degraded'
        : 'healthy';
  return { status, checks };
}

/**
 * Readiness when the services could not be composed: unhealthy. A configuration error is
 * the `configuration` check, naming the settings (never their values); anything else (a
 * dependency that would not open at start) is the `startup` check, without its message.
 */
export function notComposed(error: unknown, durationMs: number) {
  const problem = configurationProblem(error);
  const checks = problem
    ? { configuration: { status: 'unhealthy' as const, durationMs, error: 'misconfigured', settings: problem.settings, detail: problem.reason } }
    : { startup: { status: 'unhealthy' as const, durationMs, error: 'unreachable' } };
  return { status: 'unhealthy' as const, checks };
}

export function healthHandlers(services: ServiceProvider): { live: HttpHandler; ready: HttpHandler } {
  return {
    live: async () => jsonResponse(200, { status: 'healthy' }, { 'cache-control': 'no-store' }),
    ready: withProblemDetails(async (_request, context) => {
      const started = performance.now();
      let composed: Services;
      try {
        composed = await services();
      } catch (error) {
        const report = notComposed(error, Math.round(performance.now() - started));
        // A configuration error is logged where it is recognised (guardConfiguration); anything else here.
        if (!configurationProblem(error)) context.error('readiness: the services could not be composed', error instanceof Error ? error.message : String(error));
        return jsonResponse(503, report, { 'cache-control': 'no-store', 'retry-after': String(CONFIGURATION_RETRY_AFTER_SECONDS) });
      }
      const report = await readiness(composed);
      return jsonResponse(report.status === 'unhealthy' ? 503 : 200, report, { 'cache-control': 'no-store' });
    }),
  };
}
