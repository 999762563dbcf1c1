import { useEffect, useRef, useState } from 'preact/hooks';

export interface CursorPage<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * A list read a page at a time along the API's cursor: the first page, then more on request.
 * An item already shown (the list changed between pages) is not shown twice, and the first
 * item of a page just added takes the focus, so the keyboard and a screen reader go on from
 * there (the list's items need `tabIndex={-1}` where `focusable`).
 */
export function useCursorPages<T>(readPage: (cursor: string | null, signal?: AbortSignal) => Promise<CursorPage<T>>, keyOf: (item: T) => string) {
  const [items, setItems] = useState<T[]>();
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>();
  const [firstAdded, setFirstAdded] = useState<number>();
  const list = useRef<HTMLUListElement>(null);

  /** The first page again (after a change, or to start); the caller handles its failure. An aborted one changes nothing. */
  const reload = (signal?: AbortSignal) =>
    readPage(null, signal).then((page) => {
      if (signal?.aborted) return;
      setItems(page.items);
      setNextCursor(page.nextCursor);
      setFirstAdded(undefined);
      setMoreError(undefined);
    });

  const loadMore = async () => {
    if (!items || !nextCursor) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await readPage(nextCursor);
      const shown = new Set(items.map(keyOf));
      setItems([...items, ...page.items.filter((item) => !shown.has(keyOf(item)))]);
      setNextCursor(page.nextCursor);
      setFirstAdded(items.length);
    } catch (failure) {
      setMoreError(failure);
    } finally {
      setLoadingMore(false);
    }
  };

  useEffect(() => {
    if (firstAdded !== undefined) (list.current?.children[firstAdded] as HTMLElement | undefined)?.focus();
  }, [firstAdded]);

  return { items, setItems, nextCursor, loadingMore, moreError, firstAdded, list, reload, loadMore };
}
