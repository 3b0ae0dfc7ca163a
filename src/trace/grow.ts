/** Append-only typed buffers that grow by doubling: the recorder's per-batch accumulators. */

export class GrowInt32 {
  buf: Int32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.buf = new Int32Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.buf.length) this.grow(this.length + 1);
    this.buf[this.length++] = v;
  }
  /** Makes room for `n` more values. */
  reserve(n: number): void {
    if (this.length + n > this.buf.length) this.grow(this.length + n);
  }
  private grow(min: number): void {
    let cap = this.buf.length * 2;
    while (cap < min) cap *= 2;
    const next = new Int32Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  /** The contents as an exactly-sized copy; the buffer is emptied. */
  take(): Int32Array {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

export class GrowFloat64 {
  buf: Float64Array;
  length = 0;
  constructor(capacity = 256) {
    this.buf = new Float64Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  take(): Float64Array {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }
}
