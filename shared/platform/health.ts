import type { HttpHandler } from '@azure/functions';
import { expectNoQuery, jsonResponse, withProblemDetails } from '../kernel/http';
import type { ServiceProvider, Services } from '../kernel/services';
import { configurationProblem, CONFIGURATION_RETRY_AFTER_SECONDS } from './configuration';

const CHECK_TIMEOUT_MS = 1_000;
/** A dependency's outage is checked again this soon (the checks take at most CHECK_TIMEOUT_MS). */
const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

type CheckStatus = 'healthy' | 'unhealthy';

interface Check {
  status: CheckStatus;
  durationMs: number;
  error?: string;
}

/** What a failed check was told: for the log, never the answer. */
const causes = new WeakMap<Check, string>();

async function timed(check: () => Promise<void>): Promise<Check> {
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
    const failed: Check = { status: 'unhealthy', durationMs: Math.round(performance.now() - started), error: reason };
    if (reason === 'unreachable') causes.set(failed, error instanceof Error ? error.message : String(error));
    return failed;
  } finally {
    clearTimeout(timer);
  }
}

type Dependency = 'eventStore' | 'bus' | 'readStore' | 'cache' | 'counters';
type Capability = 'reads' | 'commands' | 'signIns';
export type CapabilityStatus = 'available' | 'degraded' | 'unavailable';

/**
 * What each dependency's absence does to what this instance serves, as the fault tests
 * measure it (test/e2e/readiness-under-faults.test.ts; the table is in docs/operations.md).
 * Reads: the read store behind a circuit breaker, stale cached copies while it is away;
 * without the cache every read goes to the store; without the bus the read models stop
 * moving. Commands: the event store (decisions, idempotency, the outbox); the bus only
 * delays their effect on the read models. Sign-ins (password and client logins,
 * registrations): the event store, and the attempt counters (the cache's, or a store of
 * their own), without which they fail closed.
 */
const IMPACT: Record<Dependency, Partial<Record<Capability, CapabilityStatus>>> = {
  eventStore: { commands: 'unavailable', signIns: 'unavailable' },
  bus: { reads: 'degraded' },
  readStore: { reads: 'degraded' },
  cache: { reads: 'degraded' },
  counters: { signIns: 'unavailable' },
};

const WORSE: CapabilityStatus[] = ['available', 'degraded', 'unavailable'];

function capabilitiesWithout(away: Dependency[]): Record<Capability, CapabilityStatus> {
  const capabilities: Record<Capability, CapabilityStatus> = { reads: 'available', commands: 'available', signIns: 'available' };
  for (const dependency of away) {
    for (const [capability, impact] of Object.entries(IMPACT[dependency]) as [Capability, CapabilityStatus][]) {
      if (WORSE.indexOf(impact) > WORSE.indexOf(capabilities[capability])) capabilities[capability] = impact;
    }
  }
  // Stale copies need a cache: with both the read store and the cache away, nothing answers a read.
  if (away.includes('readStore') && away.includes('cache')) capabilities.reads = 'unavailable';
  return capabilities;
}

/**
 * `unhealthy` (503) when reads or commands are unavailable: the marketplace's main work
 * cannot be done and someone has to act. `degraded` (200) when the instance serves with
 * less (the capabilities say what). Nothing routes traffic on this answer (no App Service
 * health check: with a dependency every instance shares, taking instances out would turn
 * a partial outage into a whole one), so reads keep answering when it is 503.
 */
export async function readiness(services: Services) {
  const ownCounters = services.counters !== services.cache;
  const [eventStore, bus, readStore, cache, counters] = await Promise.all([
    timed(() => services.eventStore.ping()),
    timed(() => services.bus.ping()),
    timed(() => services.readStore.ping()),
    timed(() => services.cache.ping()),
    ownCounters ? timed(() => services.counters.ping()) : undefined,
  ]);
  const checks: Partial<Record<Dependency, Check>> = { eventStore, bus, readStore, cache, ...(counters ? { counters } : {}) };
  const away = (Object.keys(checks) as Dependency[]).filter((dependency) => checks[dependency]!.status === 'unhealthy');
  // Counted in the cache unless they have a store of their own: the cache away takes them too.
  if (!ownCounters && away.includes('cache')) away.push('counters');
  const capabilities = capabilitiesWithout(away);
  const status =
    capabilities.reads === 'unavailable' || capabilities.commands === 'unavailable'
      ? 'unhealthy'
      : Object.values(capabilities).every((capability) => capability === 'available')
        ? 'healthy'
        : 'degraded';
  return { status, capabilities, checks };
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
  const capabilities: Record<Capability, CapabilityStatus> = { reads: 'unavailable', commands: 'unavailable', signIns: 'unavailable' };
  return { status: 'unhealthy' as const, capabilities, checks };
}

export function healthHandlers(services: ServiceProvider): { live: HttpHandler; ready: HttpHandler } {
  return {
    live: withProblemDetails(async (request) => {
      expectNoQuery(request);
      return jsonResponse(200, { status: 'healthy' }, { 'cache-control': 'no-store' });
    }),
    ready: withProblemDetails(async (request, context) => {
      expectNoQuery(request);
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
      // The operator's only lead to a credential refused, a role missing or a wrong endpoint.
      for (const [dependency, check] of Object.entries(report.checks)) {
        const cause = causes.get(check);
        if (cause !== undefined) context.warn(`readiness: ${dependency} unreachable`, cause);
      }
      if (report.status !== 'unhealthy') return jsonResponse(200, report, { 'cache-control': 'no-store' });
      return jsonResponse(503, report, { 'cache-control': 'no-store', 'retry-after': String(DEPENDENCY_RETRY_AFTER_SECONDS) });
    }),
  };
}
