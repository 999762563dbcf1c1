/**
 * A map bounded by an estimate of its bytes, and by a count if one is given: past either,
 * the least recently used entries go first. An entry heavier than `largestBytes` is not kept
 * at all, so that one entry never pushes out a crowd of others.
 */
export class WeightedLru<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly capacityBytes: number,
    private readonly largestBytes: number,
    private readonly mostEntries = Number.POSITIVE_INFINITY,
  ) {}

  /** The value, now the most recently used. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Map keeps insertion order: re-inserting makes it the most recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** The value, its place in the order left as it is. */
  peek(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    if (bytes > this.largestBytes) return;
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    if (this.bytes <= this.capacityBytes && this.entries.size <= this.mostEntries) return;
    for (const [oldest, { bytes: weight }] of this.entries) {
      if (this.bytes <= this.capacityBytes && this.entries.size <= this.mostEntries) break;
      this.entries.delete(oldest);
      this.bytes -= weight;
    }
  }

  delete(key: string): void {
    const known = this.entries.get(key);
    if (!known) return;
    this.entries.delete(key);
    this.bytes -= known.bytes;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The estimated bytes of what it holds. */
  get weight(): number {
    return this.bytes;
  }
}
