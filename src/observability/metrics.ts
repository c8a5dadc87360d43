/**
 * Metrics as CloudWatch Embedded Metric Format: one JSON line per emission, which CloudWatch
 * Logs turns into metrics (ECS awslogs, the CloudWatch agent, Lambda) with no SDK call and no
 * credentials. Lines go to stdout by default; logs go to stderr, so a pipeline can split them.
 */
import type { Config } from '../config/schema.js';

/** The metric names dashboards and alarms rely on (see INTERFACES.md). */
export type MetricName =
  | 'MessagesPerSecond'
  | 'LinesReceived'
  | 'RecordsWritten'
  | 'Reconnects'
  | 'FlushFailures'
  | 'ChannelsJoined'
  | 'RowsHeld'
  | 'RowsLost'
  | 'AnalysisDurationMs';

export type MetricUnit = 'Count' | 'Count/Second' | 'Milliseconds' | 'Seconds' | 'Bytes' | 'None';

export const METRIC_UNITS: Record<MetricName, MetricUnit> = {
  MessagesPerSecond: 'Count/Second',
  LinesReceived: 'Count',
  RecordsWritten: 'Count',
  Reconnects: 'Count',
  FlushFailures: 'Count',
  ChannelsJoined: 'Count',
  RowsHeld: 'Count',
  RowsLost: 'Count',
  AnalysisDurationMs: 'Milliseconds',
};

/** Options of `createMetrics`; every field optional. */
export interface MetricsOptions {
  /** CloudWatch namespace (config `metrics.namespace`). */
  namespace?: string;
  /** Emit at all (config `metrics.emf`). */
  enabled?: boolean;
  /** Dimension name → value, attached to every metric (e.g. `{ Collector: 'c1' }`). */
  dimensions?: Record<string, string>;
  /** Where lines go (default: process.stdout). */
  write?: (line: string) => void;
  /** Clock, for tests. */
  now?: () => number;
}

export interface Metrics {
  /** Emits one EMF line holding every given metric. */
  emit(values: Partial<Record<MetricName, number>>): void;
}

/** Builds one EMF line (exported for tests and for callers that route lines themselves). */
export function emfLine(
  namespace: string,
  values: Partial<Record<MetricName, number>>,
  dimensions: Record<string, string> = {},
  timestamp = Date.now(),
): string {
  const names = Object.keys(values) as MetricName[];
  const doc: Record<string, unknown> = {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [Object.keys(dimensions)],
          Metrics: names.map((n) => ({ Name: n, Unit: METRIC_UNITS[n] })),
        },
      ],
    },
    ...dimensions,
  };
  for (const n of names) doc[n] = values[n];
  return `${JSON.stringify(doc)}\n`;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const enabled = options.enabled ?? true;
  const namespace = options.namespace ?? 'ViewerAtlas';
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const now = options.now ?? Date.now;
  return {
    emit(values) {
      if (!enabled || Object.keys(values).length === 0) return;
      write(emfLine(namespace, values, options.dimensions, now()));
    },
  };
}

/**
 * One metric, one line, with the namespace and switch from the config — for stages that emit
 * a single figure (analyze: `emitMetric(config, 'AnalysisDurationMs', ms)`).
 */
export function emitMetric(
  config: Pick<Config, 'metrics'>,
  name: MetricName,
  value: number,
  dimensions: Record<string, string> = {},
  write?: (line: string) => void,
): void {
  createMetrics({ namespace: config.metrics.namespace, enabled: config.metrics.emf, dimensions, write }).emit(
    { [name]: value },
  );
}
