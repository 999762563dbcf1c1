/** A deterministic shuffle (an LCG from the seed), so a failing order can be replayed. */
export function shuffled<T>(items: T[], seed: number): T[] {
  const copy = [...items];
  let state = seed;
  const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}
