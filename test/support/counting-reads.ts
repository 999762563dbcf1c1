import type { ReadContainer, ReadDocument } from '../../shared/kernel/ports';
import type { Services } from '../../shared/kernel/services';

/**
 * The same services, counting every read-store request by container and kind: `get`,
 * `get-many` (point reads in one bulk request, each confined to its partition), `partition-query` (confined to one partition), `query` (fans out to every partition), and
 * the same for aggregates, `partition-count` and `count`. Writes pass through uncounted.
 */
export function countingReads(services: Services) {
  const counts: Record<string, number> = {};
  const count = (name: string, kind: string) => (counts[`${name}.${kind}`] = (counts[`${name}.${kind}`] ?? 0) + 1);
  const counted = (name: string, inner: ReadContainer<ReadDocument>) =>
    new Proxy(inner, {
      get(target, property) {
        if (property === 'get') return (...args: Parameters<typeof target.get>) => (count(name, 'get'), target.get(...args));
        if (property === 'getMany') return (...args: Parameters<typeof target.getMany>) => (count(name, 'get-many'), target.getMany(...args));
        if (property === 'queryPage') {
          return (...args: Parameters<typeof target.queryPage>) => (count(name, args[0].partitionKey === undefined ? 'query' : 'partition-query'), target.queryPage(...args));
        }
        if (property === 'count') {
          return (...args: Parameters<typeof target.count>) => (count(name, args[0].partitionKey === undefined ? 'count' : 'partition-count'), target.count(...args));
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const readStore = {
    container: (name: string) => counted(name, services.readStore.container(name)),
    ping: () => services.readStore.ping(),
    close: () => services.readStore.close(),
  } as Services['readStore'];
  return { services: { ...services, readStore }, counts, reset: () => Object.keys(counts).forEach((key) => delete counts[key]) };
}
