import type { Telemetry } from './ports';

/** The custom metrics the platform emits; the operations workbook and alerts read these names. */
export const METRICS = {
  commandDuration: 'command.duration_ms',
  eventsPublished: 'events.published',
  projectionLag: 'projection.lag_ms',
  cacheLookup: 'cache.lookup',
  /** A cache call that failed or timed out (dimension `operation`); the request went on without it. */
  cacheError: 'cache.error',
  circuitState: 'read_store.circuit_open',
  deadLettered: 'bus.dead_lettered',
} as const;

export interface SeriesSummary {
  name: string;
  dimensions: Record<string, string>;
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** The dimensions of a series in one string, whatever their order (one dimension, the usual case, without sorting). */
function seriesKey(dimensions: Record<string, string>): string {
  const names = Object.keys(dimensions);
  if (names.length === 1) return `${names[0]}=${dimensions[names[0]]}`;
  return Object.entries(dimensions).sort().map(([k, v]) => `${k}=${v}`).join(',');
}

/**
 * Aggregates measurements per name and dimensions in memory, as the Application Insights
 * SDK pre-aggregates them: one summary per series per interval instead of a line per call.
 */
export class MetricsAggregator implements Telemetry {
  private series = new Map<string, SeriesSummary>();

  metric(name: string, value: number, dimensions: Record<string, string> = {}): void {
    const key = `${name}|${seriesKey(dimensions)}`;
    const summary = this.series.get(key);
    if (!summary) {
      this.series.set(key, { name, dimensions, count: 1, sum: value, min: value, max: value });
      return;
    }
    summary.count += 1;
    summary.sum += value;
    summary.min = Math.min(summary.min, value);
    summary.max = Math.max(summary.max, value);
  }

  /** The summaries since the last drain, and a fresh start. */
  drain(): SeriesSummary[] {
    const summaries = [...this.series.values()];
    this.series = new Map();
    return summaries;
  }

  /** The summaries so far, left in place (tests and the health report read them). */
  peek(): SeriesSummary[] {
    return [...this.series.values()].map((summary) => ({ ...summary }));
  }

  async flush(): Promise<void> {}
}

/**
 * Telemetry without Application Insights: every interval, one structured JSON line per
 * series, so the local profile shows the same figures the workbook charts in Azure.
 */
export class LogTelemetry extends MetricsAggregator {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly write: (line: string) => void,
    intervalMs = 60_000,
  ) {
    super();
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  override async flush(): Promise<void> {
    for (const summary of this.drain()) {
      const round = (value: number) => Math.round(value * 100) / 100;
      const { name, dimensions, count, sum, min, max } = summary;
      this.write(JSON.stringify({ level: 'info', metric: name, ...dimensions, count, avg: round(sum / count), min: round(min), max: round(max) }));
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
