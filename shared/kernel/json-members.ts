/**
 * Duplicate members in a JSON text. JSON.parse keeps the last of a repeated name without a
 * word, while a gateway or another reader may keep the first: each would then check or store
 * a different body. A repeated query or form parameter is refused for the same reason.
 */

/**
 * Whether the parsed `value` holds fewer members than `text` spells out, which happens only
 * when an object repeats a name. Cheap enough for every body: in valid JSON each member has
 * the one colon outside a string, so counting those needs no second parse.
 */
export function repeatsAMember(text: string, value: unknown): boolean {
  return membersOf(value) < colonsOutsideStrings(text);
}

function colonsOutsideStrings(text: string): number {
  let colons = 0;
  let nextColon = text.indexOf(':');
  // indexOf runs far faster than a loop over the characters; each search starts past the last one's end.
  for (let from = 0; ; ) {
    const quote = text.indexOf('"', from);
    const stringStart = quote < 0 ? text.length : quote;
    while (nextColon >= 0 && nextColon < stringStart) {
      colons++;
      nextColon = text.indexOf(':', nextColon + 1);
    }
    if (quote < 0) return colons;
    from = closingQuote(text, quote) + 1;
    if (nextColon >= 0 && nextColon < from) nextColon = text.indexOf(':', from);
  }
}

/** The members of every object in a parsed value, without recursion: a body may nest thousands deep. */
function membersOf(value: unknown): number {
  let members = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (next === null || typeof next !== 'object') continue;
    if (Array.isArray(next)) {
      for (const item of next) pending.push(item);
      continue;
    }
    for (const name in next) {
      members++;
      pending.push((next as Record<string, unknown>)[name]);
    }
  }
  return members;
}

/**
 * Where a valid JSON text first repeats a member's name, as a path (`items.3.priceCents`),
 * or undefined. Slower than `repeatsAMember`: for the refusal's message only.
 */
export function repeatedMemberPath(text: string): string | undefined {
  // Per open object the names seen and the name being read; per open array the index reached.
  const open: ({ names: Set<string>; name?: string } | { index: number })[] = [];
  let expectingName = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      const end = closingQuote(text, i);
      const scope = open.at(-1);
      if (expectingName && scope && 'names' in scope) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        // An empty name is shown as "" so that the path still names it.
        if (scope.names.has(name)) return [...pathOf(open.slice(0, -1)), name].map((part) => part || '""').join('.');
        scope.names.add(name);
        scope.name = name;
        expectingName = false;
      }
      i = end;
    } else if (char === '{') {
      open.push({ names: new Set() });
      expectingName = true;
    } else if (char === '[') {
      open.push({ index: 0 });
    } else if (char === '}' || char === ']') {
      open.pop();
    } else if (char === ',') {
      const scope = open.at(-1);
      if (scope && 'index' in scope) scope.index++;
      else expectingName = true;
    }
  }
  return undefined;
}

function pathOf(open: ({ names: Set<string>; name?: string } | { index: number })[]): string[] {
  return open.map((scope) => ('index' in scope ? String(scope.index) : (scope.name ?? '')));
}

const BACKSLASH = 0x5c;

/** The index of the quote that closes the string opening at `start`: the next one not escaped (the text is valid JSON). */
function closingQuote(text: string, start: number): number {
  for (let quote = text.indexOf('"', start + 1); ; quote = text.indexOf('"', quote + 1)) {
    if (quote < 0) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
}
