import type { Services } from '../../shared/kernel/services';

/** The same services, counting every read-store request by container and kind. */
export function countingReads(services: Services) {
  const counts: Record<string, number> = {};
  const count = (name: string, kind: string) => (counts[`${name}.${kind}`] = (counts[`${name}.${kind}`] ?? 0) + 1);
  const readStore = {
    ...services.readStore,
    container: (name: string) => {
      const inner = services.readStore.container(name);
      return {
        ...inner,
        get: (id: string) => (count(name, 'get'), inner.get(id)),
        queryPage: (...args: Parameters<typeof inner.queryPage>) => (count(name, 'query'), inner.queryPage(...args)),
      };
    },
  } as Services['readStore'];
  return { services: { ...services, readStore }, counts, reset: () => Object.keys(counts).forEach((key) => delete counts[key]) };
}
