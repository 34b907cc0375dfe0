import DataLoader from 'dataloader';
import { inSpan } from '../process/tracing.js';
import { reportStaleness } from './staleness.js';

/** Reports a value an entity cache answered stale for the field that asked for it (kit/subgraph/staleness.ts). */
class StalenessReportingLoader<K, V, C> extends DataLoader<K, V, C> {
  override load(key: K): Promise<V> {
    return super.load(key).then(reportStaleness);
  }
}

/**
 * A DataLoader whose every batch is a span (`dataloader.batch <name>`, with its size), so a
 * trace shows which lookups of a request became one upstream call; a stale answer is marked at
 * the field that loaded it.
 */
export function createLoader<K, V, C = K>(
  batch: DataLoader.BatchLoadFn<K, V>,
  options: DataLoader.Options<K, V, C> & { name: string },
): DataLoader<K, V, C> {
  const traced: DataLoader.BatchLoadFn<K, V> = (keys) =>
    inSpan(
      `dataloader.batch ${options.name}`,
      { attributes: { 'patchbay.loader': options.name, 'patchbay.batch.size': keys.length } },
      async () => batch(keys),
    );
  return new StalenessReportingLoader<K, V, C>(traced, options);
}
