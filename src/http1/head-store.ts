/**
 * Where a head that arrives in pieces is gathered: one buffer that doubles
 * when full, so a peer sending a byte at a time costs time linear in the
 * head's size, not a copy of everything so far per byte. Used by both sides
 * of the proxy (a client's request heads, a backend's response heads).
 */
export class HeadStore {
  #store: Buffer | undefined = undefined;

  /**
   * `pending` (the bytes gathered so far) followed by `chunk`, as one buffer:
   * a view of the store, grown when needed.
   */
  append(pending: Buffer, chunk: Buffer): Buffer {
    const length = pending.length + chunk.length;
    let store = this.#store;
    const extendsStore =
      store !== undefined && pending.buffer === store.buffer && pending.byteOffset === store.byteOffset;
    if (store === undefined || !extendsStore || store.length < length) {
      store = Buffer.allocUnsafe(Math.max(2 * length, 1024));
      pending.copy(store, 0);
      this.#store = store;
    }
    chunk.copy(store, pending.length);
    return store.subarray(0, length);
  }

  /** Lets the store go: the head it gathered is parsed. */
  clear(): void {
    this.#store = undefined;
  }
}
