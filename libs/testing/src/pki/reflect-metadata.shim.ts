// @peculiar/x509 2.x resolves its algorithm providers through tsyringe, which refuses to load
// unless the Reflect metadata API exists (`Reflect.getMetadata`). x509's classes take no
// constructor parameters, so tsyringe only ever stores and reads plain per-class entries; this
// minimal, own implementation of that API is enough. It steps aside when a full polyfill
// (the `reflect-metadata` package) is already loaded; adding that package to @obip/testing and
// importing it here instead would remove this file.
type MetadataTarget = object;

interface ReflectMetadataApi {
  getMetadata?: (key: unknown, target: MetadataTarget) => unknown;
  getOwnMetadata?: (key: unknown, target: MetadataTarget) => unknown;
  hasMetadata?: (key: unknown, target: MetadataTarget) => boolean;
  defineMetadata?: (key: unknown, value: unknown, target: MetadataTarget) => void;
}

const api = Reflect as typeof Reflect & ReflectMetadataApi;

if (typeof api.getMetadata !== 'function') {
  const store = new WeakMap<MetadataTarget, Map<unknown, unknown>>();
  const own = (key: unknown, target: MetadataTarget): unknown => store.get(target)?.get(key);
  const lookup = (key: unknown, target: MetadataTarget): unknown => {
    // Metadata is inherited along the prototype chain, as with the full polyfill.
    for (
      let current: MetadataTarget | null = target;
      current !== null;
      current = Object.getPrototypeOf(current) as MetadataTarget | null
    ) {
      const value = store.get(current)?.get(key);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  api.getOwnMetadata = own;
  api.getMetadata = lookup;
  api.hasMetadata = (key, target) => lookup(key, target) !== undefined;
  api.defineMetadata = (key, value, target) => {
    const entries = store.get(target) ?? new Map<unknown, unknown>();
    entries.set(key, value);
    store.set(target, entries);
  };
}

export {};
