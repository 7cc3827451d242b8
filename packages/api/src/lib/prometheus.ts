/** Prometheus text exposition format 0.0.4, written by hand: a few families, no client library needed. */
export type TSample = { labels?: Record<string, string | number>; value: number };

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class MetricsWriter {
  private readonly out: string[] = [];

  family(name: string, type: 'gauge' | 'counter', help: string, samples: TSample[]): this {
    this.out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    for (const s of samples) {
      const labels = s.labels ? Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`) : [];
      this.out.push(`${name}${labels.length ? `{${labels.join(',')}}` : ''} ${formatValue(s.value)}`);
    }
    return this;
  }

  toString(): string {
    return `${this.out.join('\n')}\n`;
  }
}
