import { Counter, Gauge, type Registry } from 'prom-client';

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
  return {
    items: new Counter({
      name: 'patchbay_outbox_items_total',
      help: 'Items settled by the outbox: delivered, or parked as dead letters',
      labelNames: ['outbox', 'outcome'] as const,
      registers: [registry],
    }),
    failedAttempts: new Counter({
      name: 'patchbay_outbox_failed_attempts_total',
      help: 'Delivery attempts that will be retried (the provider away or answering with an error)',
      labelNames: ['outbox'] as const,
      registers: [registry],
    }),
  };
}
