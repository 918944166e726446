/**
 * The simulator's event queue: a binary min-heap over parallel typed arrays
 * (time, sequence, kind and two integer arguments), so scheduling an event
 * allocates nothing and no closure. Events at the same time come out in the
 * order they were pushed (the sequence number breaks ties), which keeps runs
 * deterministic. `pop()` copies the earliest event into `time`, `kind`, `a`, `b`.
 */
export class EventQueue {
  /** Fields of the event last popped. */
  time = 0;
  kind = 0;
  a = 0;
  b = 0;

  #times: Float64Array;
  #seqs: Float64Array;
  #kinds: Uint8Array;
  #as: Int32Array;
  #bs: Int32Array;
  #size = 0;
  #nextSeq = 0;

  constructor(capacity = 1024) {
    this.#times = new Float64Array(capacity);
    this.#seqs = new Float64Array(capacity);
    this.#kinds = new Uint8Array(capacity);
    this.#as = new Int32Array(capacity);
    this.#bs = new Int32Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(time: number, kind: number, a: number, b: number): void {
    if (this.#size === this.#times.length) this.#grow();
    const seq = this.#nextSeq++;
    const times = this.#times;
    const seqs = this.#seqs;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      const pt = times[parent] as number;
      if (pt < time || (pt === time && (seqs[parent] as number) < seq)) break;
      this.#move(parent, i);
      i = parent;
    }
    times[i] = time;
    seqs[i] = seq;
    this.#kinds[i] = kind;
    this.#as[i] = a;
    this.#bs[i] = b;
  }

  /** Removes the earliest event into the public fields; false when the queue is empty. */
  pop(): boolean {
    const size = this.#size;
    if (size === 0) return false;
    this.time = this.#times[0] as number;
    this.kind = this.#kinds[0] as number;
    this.a = this.#as[0] as number;
    this.b = this.#bs[0] as number;
    const last = size - 1;
    this.#size = last;
    if (last === 0) return true;
    const times = this.#times;
    const seqs = this.#seqs;
    const time = times[last] as number;
    const seq = seqs[last] as number;
    const kind = this.#kinds[last] as number;
    const a = this.#as[last] as number;
    const b = this.#bs[last] as number;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      const right = child + 1;
      if (
        right < last &&
        ((times[right] as number) < (times[child] as number) ||
          (times[right] === times[child] && (seqs[right] as number) < (seqs[child] as number)))
      ) {
        child = right;
      }
      const ct = times[child] as number;
      if (time < ct || (time === ct && seq < (seqs[child] as number))) break;
      this.#move(child, i);
      i = child;
    }
    times[i] = time;
    seqs[i] = seq;
    this.#kinds[i] = kind;
    this.#as[i] = a;
    this.#bs[i] = b;
    return true;
  }

  #move(from: number, to: number): void {
    this.#times[to] = this.#times[from] as number;
    this.#seqs[to] = this.#seqs[from] as number;
    this.#kinds[to] = this.#kinds[from] as number;
    this.#as[to] = this.#as[from] as number;
    this.#bs[to] = this.#bs[from] as number;
  }

  #grow(): void {
    const capacity = this.#times.length * 2;
    const times = new Float64Array(capacity);
    const seqs = new Float64Array(capacity);
    const kinds = new Uint8Array(capacity);
    const as = new Int32Array(capacity);
    const bs = new Int32Array(capacity);
    times.set(this.#times);
    seqs.set(this.#seqs);
    kinds.set(this.#kinds);
    as.set(this.#as);
    bs.set(this.#bs);
    this.#times = times;
    this.#seqs = seqs;
    this.#kinds = kinds;
    this.#as = as;
    this.#bs = bs;
  }
}

/** A growable FIFO of int32 values (request slots waiting at a backend), as a ring buffer. */
export class IntFifo {
  #items = new Int32Array(64);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(value: number): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & (this.#items.length - 1)] = value;
    this.#size++;
  }

  /** The oldest value; -1 when empty. */
  shift(): number {
    if (this.#size === 0) return -1;
    const value = this.#items[this.#head] as number;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#size--;
    return value;
  }

  #grow(): void {
    const items = new Int32Array(this.#items.length * 2);
    for (let i = 0; i < this.#size; i++)
      items[i] = this.#items[(this.#head + i) & (this.#items.length - 1)] as number;
    this.#items = items;
    this.#head = 0;
  }
}
