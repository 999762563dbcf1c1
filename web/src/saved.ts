import type { NearSearch, OfferNear, Product } from './api';

/** The last answer, kept on the phone so that it can be shown offline, marked with its time. */
export interface SavedResults {
  search: NearSearch;
  product: Product;
  items: OfferNear[];
  savedAt: string;
}

const KEY = 'farmacias:ultima-busca';

export function saveResults(results: SavedResults): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(results));
  } catch {
    // Storage full or disabled (private mode): the app works, it only cannot show this offline.
  }
}

export function savedResults(): SavedResults | undefined {
  try {
    const text = localStorage.getItem(KEY);
    return text ? (JSON.parse(text) as SavedResults) : undefined;
  } catch {
    return undefined;
  }
}

/** A medicine searched is health data: signing out or erasing the account takes the last search with it. */
export function forgetSavedResults(): void {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // Storage disabled: nothing was kept.
  }
}
