/** A form or query whose percent-escapes are not UTF-8; `rawName` is the pair's name as sent, cut short. */
export class FormNotUtf8 extends Error {
  constructor(readonly rawName: string) {
    super('the form is not percent-encoded UTF-8');
  }
}

/**
 * The name/value pairs of a form body or a query string, read as the WHATWG form parser
 * (URLSearchParams) reads them but for one thing: escapes that are not UTF-8 are refused
 * (FormNotUtf8). URLSearchParams turns `%E3` (Latin-1's ã) into U+FFFD, so two passwords
 * that differ only there would read the same, and a search for "S%E3o" would find nothing
 * without a word.
 */
export function formPairs(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const [name, value] = at === -1 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
    try {
      pairs.push([formDecoded(name), formDecoded(value)]);
    } catch {
      throw new FormNotUtf8(name.slice(0, 40));
    }
  }
  return pairs;
}

/**
 * The query string of a request URL (without `?` and any fragment), '' when it has none. The
 * fragment goes first: a `?` in it begins no query (a request target may carry a fragment, and
 * the local host's URL keeps it), as URL.search reads it.
 */
export function queryText(url: string): string {
  const hash = url.indexOf('#');
  const beforeFragment = hash === -1 ? url : url.slice(0, hash);
  const start = beforeFragment.indexOf('?');
  return start === -1 ? '' : beforeFragment.slice(start + 1);
}

/** Throws on bytes that are not UTF-8; keeps a U+FEFF that begins a value, as URLSearchParams does. */
const formUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A name or value: `+` is a space, each run of `%XX` escapes strict UTF-8, and a `%` that
 * begins no escape is itself (the WHATWG parser's reading; decodeURIComponent would throw,
 * and a hand-built "password=50%off" would be refused).
 */
function formDecoded(text: string): string {
  if (!text.includes('%') && !text.includes('+')) return text;
  return text.replace(/\+/g, ' ').replace(/(?:%[\da-f]{2})+/gi, (escapes) => formUtf8.decode(Buffer.from(escapes.replace(/%/g, ''), 'hex')));
}
