/**
 * Module-level tables are frozen. On the device every module is preloaded into flash, and an object
 * there that is not frozen is "aliasable": XS copies it into RAM, silently, the first time anything
 * writes it. Frozen, it stays in flash, and a write throws everywhere (strict mode), not only there.
 * Typed arrays cannot be frozen (unless empty): module-level ones are only read (the link makes them
 * read-only buffers on the device); test/frozen-tables.test.ts lists them.
 */

/** `T` with every property and element readonly, all the way down (typed arrays and functions as they are). */
export type DeepReadonly<T> = T extends ArrayBufferView | ((...args: never[]) => unknown)
  ? T
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** Freezes a table of plain objects and arrays, nested ones first; typed arrays inside are left as they are. */
export function deepFreeze<T>(table: T): DeepReadonly<T> {
  const { isView } = ArrayBuffer;
  if (typeof table === 'object' && table !== null && !isView(table)) {
    for (const key of Object.keys(table)) deepFreeze((table as Record<string, unknown>)[key]);
    Object.freeze(table);
  }
  return table as DeepReadonly<T>;
}
