import type { TokenCredential } from '@azure/identity';
import type { Telemetry } from '../../kernel/ports';

export interface AppInsightsOptions {
  /**
   * Ingestion by Microsoft Entra ID: the exporter sends a bearer token for
   * https://monitor.azure.com/.default with every batch. Required once the resource has
   * local authentication disabled (the instrumentation key alone is then refused); the
   * identity needs the Monitoring Metrics Publisher role on it. Unset: the key alone.
   */
  credential?: TokenCredential;
}

type InstrumentationConfig = { enabled?: boolean };

/**
 * The SDK's own instrumentations (these replace its defaults as a whole, so all are named).
 * Redis's records each command's key by default: the throttling keys hold clients' IP
 * addresses (personal data), so a Redis dependency says only its command.
 */
const INSTRUMENTATIONS = {
  http: { enabled: true },
  azureSdk: { enabled: true },
  mongoDb: { enabled: true },
  mySql: { enabled: true },
  redis4: { enabled: true },
  postgreSql: { enabled: true },
  bunyan: { enabled: true },
  winston: { enabled: true },
};
const commandNameOnly = (command: string) => command;

/**
 * Application Insights (SDK v3, on OpenTelemetry). Loaded only when a connection string
 * is set: it is heavy, and some of its calls throw without one. `setup` also starts the
 * SDK's own collection of requests, dependencies and exceptions, correlated with the
 * Functions host's trace context; custom metrics go into histograms the SDK aggregates.
 */
export async function openAppInsights(connectionString: string, options: AppInsightsOptions = {}): Promise<Telemetry> {
  const appInsights = await import('applicationinsights');
  const configured = appInsights.setup(connectionString);
  // start() hands it to the Azure Monitor exporter (azureMonitorExporterOptions.credential).
  // The exporter does not read APPLICATIONINSIGHTS_AUTHENTICATION_STRING (only Live Metrics
  // falls back to it), so without this the SDK would send the key alone and be refused.
  if (options.credential) appInsights.defaultClient.config.aadTokenCredential = options.credential;
  configured.setAzureMonitorOptions({ instrumentationOptions: { ...INSTRUMENTATIONS, redis: { enabled: true, dbStatementSerializer: commandNameOnly } as InstrumentationConfig } });
  configured
    .setAutoCollectConsole(false)
    .setAutoCollectRequests(true)
    .setAutoCollectDependencies(true)
    .setAutoCollectExceptions(true)
    .setSendLiveMetrics(false)
    .start();
  const client = appInsights.defaultClient;
  return {
    metric(name, value, dimensions = {}) {
      client.trackMetric({ name, value, properties: dimensions });
    },
    async flush() {
      await client.flush();
    },
  };
}
