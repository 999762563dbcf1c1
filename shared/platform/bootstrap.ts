import { InvocationContext } from '@azure/functions';
import { ensureAdministrator } from '../identity/commands';
import { InvalidInput } from '../kernel/errors';
import type { Services } from '../kernel/services';
import { SettingsError } from '../kernel/settings';

/** The registration fields the first administrator's settings fill. */
const SETTING_OF_FIELD: Record<string, string> = { email: 'BOOTSTRAP_ADMIN_EMAIL', password: 'BOOTSTRAP_ADMIN_PASSWORD' };

/** Start-up work of both hosts: the first administrator, when the settings name one. */
export async function bootstrap(services: Services): Promise<void> {
  const admin = services.settings.bootstrapAdmin;
  if (!admin) return;
  try {
    await ensureAdministrator(services, admin.email, admin.password, new InvocationContext({ functionName: 'bootstrap' }));
  } catch (error) {
    throw settingsRefused(error);
  }
}

/**
 * The registration rules refusing the operator's e-mail or password are a configuration
 * error, named by setting (the rules' messages never quote the value); anything else is not.
 */
function settingsRefused(error: unknown): unknown {
  if (!(error instanceof InvalidInput) || error.errors.length === 0 || !error.errors.every((field) => field.field in SETTING_OF_FIELD)) return error;
  const settings = [...new Set(error.errors.map((field) => SETTING_OF_FIELD[field.field]))];
  return new SettingsError(`invalid settings: ${settings.join(', ')} (${error.errors.map((field) => field.message).join('; ')})`, settings);
}
