import type { Telemetry } from '../../kernel/ports';

/**
 * Application Insights (SDK v3, on OpenTelemetry). Loaded only when a connection string
 * is set: it is heavy, and some of its calls throw without one. `setup` also starts the
 * SDK's own collection of requests, dependencies and exceptions, correlated with the
 * Functions host's trace context; custom metrics go into histograms the SDK aggregates.
 */
export async function openAppInsights(connectionString: string): Promise<Telemetry> {
  const appInsights = await import('applicationinsights');
  appInsights
    .setup(connectionString)
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
