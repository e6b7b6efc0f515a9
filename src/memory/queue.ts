// An explicit bounded FIFO: the order in which proposals are taken is the log order.
export class BoundedQueue<T> {
  private items: (T | undefined)[];
  private head = 0;
  private length = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`queue capacity must be >= 1, got ${capacity}`);
    this.items = new Array(capacity);
  }

  get size(): number {
    return this.length;
  }

  /** False when full (the caller turns that into back-pressure). */
  offer(item: T): boolean {
    if (this.length === this.capacity) return false;
    this.items[(this.head + this.length) % this.capacity] = item;
    this.length++;
    return true;
  }

  take(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.length--;
    return item;
  }
}
