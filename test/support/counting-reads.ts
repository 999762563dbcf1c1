import type { Services } from '../../shared/kernel/services';

/**
 * The same services, counting every read-store request by container and kind: `get`,
 * `partition-query` (confined to one partition) or `query` (fans out to every partition).
 */
export function countingReads(services: Services) {
  const counts: Record<string, number> = {};
  const count = (name: string, kind: string) => (counts[`${name}.${kind}`] = (counts[`${name}.${kind}`] ?? 0) + 1);
  const readStore = {
    ...services.readStore,
    container: (name: string) => {
      const inner = services.readStore.container(name);
      return {
        ...inner,
        get: (...args: Parameters<typeof inner.get>) => (count(name, 'get'), inner.get(...args)),
        queryPage: (...args: Parameters<typeof inner.queryPage>) => (count(name, args[0].partitionKey === undefined ? 'query' : 'partition-query'), inner.queryPage(...args)),
      };
    },
  } as Services['readStore'];
  return { services: { ...services, readStore }, counts, reset: () => Object.keys(counts).forEach((key) => delete counts[key]) };
}
