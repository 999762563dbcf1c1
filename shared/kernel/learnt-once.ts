/**
 * Facts that never change once known (the product of an offer, a stream's partition key),
 * learnt once per process: a bounded map, the oldest forgotten first. An unknown answer
 * (undefined) is not kept, since the fact may become known later.
 */
export class LearntOnce<V> {
  private readonly known = new Map<string, V>();

  constructor(private readonly most: number) {}

  async get(key: string, learn: () => Promise<V | undefined> | V | undefined): Promise<V | undefined> {
    const known = this.known.get(key);
    if (known !== undefined) return known;
    const learnt = await learn();
    if (learnt !== undefined) this.set(key, learnt);
    return learnt;
  }

  set(key: string, value: V): void {
    if (!this.known.has(key) && this.known.size >= this.most) this.known.delete(this.known.keys().next().value!);
    this.known.set(key, value);
  }
}
