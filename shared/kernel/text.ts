/** Lower case without accents, spaces folded: how names are compared and searched. */
export function searchKey(text: string): string {
  return text.normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase().trim().replace(/\s+/g, ' ');
}

/** The words of a text as search keys: "Dipirona Sódica 500 mg" → dipirona, sodica, 500, mg. */
export function searchWords(text: string): string[] {
  return searchKey(text).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

/**
 * Every prefix (of at least `minLength` characters) of every word: stored on a document,
 * it lets a store without full-text search match "the start of any word" with ARRAY_CONTAINS.
 */
export function wordPrefixes(texts: string[], minLength = 2, maxLength = 20): string[] {
  const prefixes = new Set<string>();
  for (const word of texts.flatMap(searchWords)) {
    for (let length = minLength; length <= Math.min(word.length, maxLength); length++) prefixes.add(word.slice(0, length));
  }
  return [...prefixes];
}
