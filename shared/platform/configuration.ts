import { ServiceUnavailable } from '../kernel/errors';
import type { ServiceProvider } from '../kernel/services';
import { SettingsError } from '../kernel/settings';

/** How long a client should wait: an operator fixes the setting, App Service restarts the app. */
export const CONFIGURATION_RETRY_AFTER_SECONDS = 60;
/** A configuration error is logged again after this long, so a long outage stays visible in the logs. */
const RELOG_AFTER_MS = 5 * 60_000;

/**
 * The app cannot serve until a setting is fixed (an unresolved Key Vault reference, an
 * invalid value): a 503 with Retry-After, never a 500. Names settings, never their values.
 */
export class ConfigurationIncomplete extends ServiceUnavailable {
  constructor(
    readonly settings: string[],
    readonly reason: string,
  ) {
    super(`the platform's configuration is incomplete: ${reason}`, CONFIGURATION_RETRY_AFTER_SECONDS);
  }
}

/** The configuration error behind a failed composition, if that is what it is. */
export function configurationProblem(error: unknown): ConfigurationIncomplete | undefined {
  if (error instanceof ConfigurationIncomplete) return error;
  if (error instanceof SettingsError) return new ConfigurationIncomplete(error.settings, error.message);
  return undefined;
}

/**
 * Wraps the app's service provider: a composition that fails on its configuration answers
 * ConfigurationIncomplete (every route's problem+json 503), logged once per reason (and again
 * every few minutes). Every call still asks the provider, which retries the composition.
 */
export function guardConfiguration(services: ServiceProvider, log: (line: string) => void = (line) => console.error(line)): ServiceProvider {
  let logged: { reason: string; at: number } | undefined;
  return async () => {
    try {
      return await services();
    } catch (error) {
      const problem = configurationProblem(error);
      if (!problem) throw error;
      const now = Date.now();
      if (logged?.reason !== problem.reason || now - logged.at >= RELOG_AFTER_MS) {
        logged = { reason: problem.reason, at: now };
        log(JSON.stringify({ level: 'error', msg: problem.message, settings: problem.settings }));
      }
      throw problem;
    }
  };
}
