import { Gauge, type Registry } from 'prom-client';
import { metricsIn } from '../process/metrics.js';

export type OutboxMetrics = ReturnType<typeof outboxMetrics>;

/**
 * Backlog and dead letters are read when scraped: with a shared store every replica reports
 * the same dead letters and its own queue, so dashboards take the max across replicas.
 */
export function outboxMetrics(registry: Registry, name: string, outbox: { size: number; deadLetterCount(): Promise<number> }) {
  new Gauge({
    name: 'patchbay_outbox_pending',
    help: 'Items queued for delivery by this process',
    labelNames: ['outbox'] as const,
    registers: [registry],
    collect() {
      this.set({ outbox: name }, outbox.size);
    },
  });
  new Gauge({
    name: 'patchbay_outbox_dead_letters',
    help: 'Items the provider refused as invalid, parked until replayed',
    labelNames: ['outbox'] as const,
    registers: [registry],
    async collect() {
      // A store that cannot be reached leaves the last value: its own metric (patchbay_redis_up) says why.
      const count = await outbox.deadLetterCount().catch(() => undefined);
      if (count !== undefined) this.set({ outbox: name }, count);
    },
  });
  const metric = metricsIn(registry);
  return {
    items: metric.counter('patchbay_outbox_items_total', 'Items settled by the outbox: delivered, or parked as dead letters', [
      'outbox',
      'outcome',
    ]),
    failedAttempts: metric.counter(
      'patchbay_outbox_failed_attempts_total',
      'Delivery attempts that will be retried (the provider away or answering with an error)',
      ['outbox'],
    ),
  };
}
