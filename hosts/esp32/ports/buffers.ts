/**
 * Moddable's ECMA-419 IO and `flash` work on whole ArrayBuffers (older SDK releases reject views),
 * while the ports hand out Uint8Array views: these helpers pass a view's own buffer when it spans it
 * and a copy otherwise.
 */

/** An ArrayBuffer holding exactly `view`'s bytes: its own buffer when the view spans all of it. */
export function wholeBuffer(view: Uint8Array): ArrayBuffer {
  const b = view.buffer;
  if (b instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === b.byteLength) return b;
  return view.slice().buffer as ArrayBuffer;
}

/** Copies `from` back into `view` when they are not the same memory. */
export function copyBack(view: Uint8Array, from: ArrayBuffer): void {
  if (from !== view.buffer) view.set(new Uint8Array(from, 0, view.length));
}
