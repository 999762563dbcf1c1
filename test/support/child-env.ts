/** Settings that point the platform at a service: a child started by a test must choose them itself. */
const SERVICE_SETTINGS = [
  'REDIS_URL', 'REDIS_CREDENTIAL', 'REDIS_KEY_PREFIX', 'RABBITMQ_URL', 'RABBITMQ_EXCHANGE', 'RABBITMQ_QUEUE_PREFIX',
  'COSMOS_ENDPOINT', 'COSMOS_KEY', 'COSMOS_DATABASE', 'AZURE_SQL_CONNECTION_STRING', 'AZURE_SQL_SERVER', 'AZURE_SQL_DATABASE',
  'ServiceBusConnection', 'ServiceBusConnection__fullyQualifiedNamespace', 'APPLICATIONINSIGHTS_CONNECTION_STRING',
];

/**
 * The environment for a platform the test starts as a child process: this process's,
 * without the service settings `.ci/run` exports for the suites (a child on the shared
 * broker's default queues would take, and be given, other runs' deliveries), plus `extra`.
 */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SERVICE_SETTINGS) delete env[name];
  return { ...env, ...extra };
}
