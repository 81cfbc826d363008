/**
 * The server's metrics in the Prometheus text exposition format (version 0.0.4:
 * https://prometheus.io/docs/instrumenting/exposition_formats/): `# HELP`, `# TYPE`, then
 * `name{label="value"} number` lines; histograms as cumulative `_bucket{le=...}` series with
 * `_sum` and `_count`. Kept here (no client library): four metric kinds and a text writer.
 */

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const e = this.values.get(key) ?? { labels, value: 0 };
    e.value += by;
    this.values.set(key, e);
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const e of this.values.values()) lines.push(`${this.name}${labelText(e.labels)} ${num(e.value)}`);
    return lines;
  }
}

class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, private readonly buckets: readonly number[]) {}
  observe(value: number, labels: Labels = {}): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: num(b) })} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${num(s.sum)}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

const LATENCY_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_TEXTS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const BATCH_TOKENS = [16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768];

/** What the server records; `/metrics` renders it with the gauges read at that moment. */
export class ServerMetrics {
  readonly requests = new Counter('sparse_encoder_requests_total', 'HTTP requests answered, by route, method and status.');
  readonly requestSeconds = new Histogram('sparse_encoder_request_duration_seconds', 'Time from request to response, by route.', LATENCY_SECONDS);
  readonly encodeSeconds = new Histogram('sparse_encoder_encode_duration_seconds', 'Time spent encoding one request (queue wait included), by route.', LATENCY_SECONDS);
  readonly searchSeconds = new Histogram('sparse_encoder_search_duration_seconds', 'Time spent searching the index for one request.', LATENCY_SECONDS);
  readonly batchTexts = new Histogram('sparse_encoder_batch_size', 'Texts per onnxruntime run (dynamic batching merges concurrent requests).', BATCH_TEXTS);
  readonly batchTokens = new Histogram('sparse_encoder_batch_tokens', 'Real (unpadded) tokens per onnxruntime run.', BATCH_TOKENS);
  readonly batchPaddedTokens = new Histogram('sparse_encoder_batch_padded_tokens', 'Tokens per onnxruntime run after padding to the longest text.', BATCH_TOKENS);

  render(gauges: Array<{ name: string; help: string; value: number }>): string {
    const lines: string[] = [];
    for (const g of gauges) lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`, `${g.name} ${num(g.value)}`);
    for (const m of [this.requests, this.requestSeconds, this.encodeSeconds, this.searchSeconds, this.batchTexts, this.batchTokens, this.batchPaddedTokens]) lines.push(...m.render());
    return lines.join('\n') + '\n';
  }
}
