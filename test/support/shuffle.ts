/** A deterministic shuffle (an LCG from the seed), so a failing order can be replayed. */
export function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed;
  return shuffledWith(items, () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31));
}

/** A Fisher–Yates shuffle drawing on `random` (values in [0, 1)). */
export function shuffledWith<T>(items: T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}
