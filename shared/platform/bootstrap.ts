import { InvocationContext } from '@azure/functions';
import { ensureAdministrator } from '../identity/commands';
import type { Services } from '../kernel/services';

/** Start-up work of both hosts: the first administrator, when the settings name one. */
export async function bootstrap(services: Services): Promise<void> {
  const admin = services.settings.bootstrapAdmin;
  if (!admin) return;
  await ensureAdministrator(services, admin.email, admin.password, new InvocationContext({ functionName: 'bootstrap' }));
}
