import type { TServices } from '../../context';
import type { MetricsWriter } from '../../lib/prometheus';
import { isPaused } from './config-snapshot';

/** Admission families of /metrics: decisions of this instance since start, and per-tier pause state. */
export function writeAdmissionMetrics(services: TServices, m: MetricsWriter): void {
  const decisions = [...services.admission.decisions.entries()].map(([key, value]) => {
    const [tier, reason] = key.split('|') as [string, string];
    return { labels: { tier, decision: reason === 'ok' ? 'allowed' : 'denied', reason }, value };
  });
  m.family(
    'coolant_admission_decisions_total',
    'counter',
    'Admission decisions made by this instance since it started, by tier and reason.',
    decisions,
  );
  const snapshot = services.config.current;
  const now = services.now();
  m.family(
    'coolant_tier_paused',
    'gauge',
    '1 while the tier is paused (this instance applies the pause), else 0.',
    [...snapshot.tiers.values()]
      .filter((t) => !t.retired)
      .map((t) => ({ labels: { tier: t.name }, value: isPaused(t, now) ? 1 : 0 })),
  );
  m.family('coolant_config_version', 'gauge', 'Admission config version this instance applies.', [
    { value: snapshot.version },
  ]);
}
