/** The platform's APIs (on the same origin, or through the gateway: gateway.ts): what the app reads and sends. */
import { apiUrl } from './gateway';

export interface Product {
  id: string;
  name: string;
  brand: string;
  presentation: string;
  activeIngredients: string[];
  gtin: string;
  prescription: string;
  generic: boolean;
}

export interface Address {
  street: string;
  number: string;
  complement?: string;
  district: string;
  city: string;
  state: string;
  postalCode: string;
}

export interface GeoPoint {
  lat: number;
  lon: number;
}

export interface OfferNear {
  offerId: string;
  priceCents: number;
  listPriceCents: number | null;
  discountPercent: number;
  stock: string;
  validUntil: string;
  distanceKm: number;
  pharmacy: { id: string; tradeName: string; address: Address; location: GeoPoint; openingHours: OpeningInterval[]; timeZone: string; openNow: boolean };
}

export interface OpeningInterval {
  day: 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
  opens: string;
  closes: string;
}

export interface Pharmacy {
  id: string;
  tradeName: string;
  phone?: string;
  address: Address;
  location: GeoPoint;
  openingHours: OpeningInterval[];
  services: string[];
  timeZone: string;
  status: string;
  openNow: boolean;
}

export interface OfferAtPharmacy {
  offerId: string;
  priceCents: number;
  listPriceCents: number | null;
  discountPercent: number;
  stock: string;
  product: { id: string; name?: string; presentation?: string; brand?: string };
}

/** An answer that was not a success, told in words: the API's problem details, or the network's silence. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** Seconds the API asked to wait (Retry-After), when it did. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 10_000;

/** A request to the platform, bounded in time; a network failure or timeout becomes an ApiError of status 0. */
export async function send(path: string, init: RequestInit = {}, timeoutMs = TIMEOUT_MS): Promise<Response> {
  // Outside the try: a route no API answers is this app's mistake, not the network's.
  const url = apiUrl(path);
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  try {
    return await fetch(url, { ...init, headers: { accept: 'application/json', ...init.headers }, signal });
  } catch (error) {
    if (init.signal?.aborted) throw error;
    throw new ApiError(timeout.aborted ? 'O servidor demorou demais para responder.' : 'Sem conexão com o servidor.', 0);
  }
}

/** The body of a successful answer; anything else as an ApiError told in words. */
export async function bodyOf<T>(response: Response): Promise<T> {
  if (response.ok) return (await response.json()) as T;
  throw await problemOf(response);
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return bodyOf<T>(await send(path, { signal }));
}

async function problemOf(response: Response): Promise<ApiError> {
  const retryAfter = Number(response.headers.get('retry-after'));
  const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
  let detail = '';
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    // Problem details (RFC 9457), or OAuth's error body on the token endpoint (RFC 6749 §5.2).
    const problem = (await response.json().catch(() => ({}))) as { title?: string; detail?: string; error?: string; error_description?: string; errors?: { message?: string }[] };
    const fields = (problem.errors ?? []).map((field) => field.message).filter(Boolean);
    detail = [problem.title, problem.detail, problem.error_description, ...fields].filter(Boolean).join(': ');
    if (problem.error === 'invalid_grant') return new ApiError('E-mail ou senha incorretos.', response.status);
  }
  return new ApiError(messageFor(response.status, detail), response.status, retryAfterSeconds);
}

function messageFor(status: number, detail: string): string {
  if (status === 429) return 'Muitas buscas em pouco tempo.';
  if (status === 503) return 'O serviço está sobrecarregado ou em manutenção.';
  if (status === 404) return 'Não encontrado.';
  if (status === 409) return detail ? `Conflito (${detail}).` : 'Conflito com o estado atual.';
  if (status === 401) return 'Sua sessão terminou. Entre de novo.';
  if (status >= 500) return 'O servidor falhou ao responder.';
  return detail ? `Pedido recusado (${detail}).` : 'Pedido recusado.';
}

export function searchProducts(text: string, signal?: AbortSignal) {
  return getJson<{ items: Product[] }>(`products?q=${encodeURIComponent(text)}&limit=8`, signal);
}

export function productByGtin(gtin: string, signal?: AbortSignal) {
  return getJson<Product>(`products/gtin/${encodeURIComponent(gtin)}`, signal);
}

export interface NearSearch {
  productId: string;
  at: GeoPoint;
  radiusKm: number;
  sort: 'price' | 'distance';
  openNow: boolean;
}

export function offersNear(search: NearSearch, signal?: AbortSignal) {
  const query = new URLSearchParams({
    lat: String(search.at.lat),
    lon: String(search.at.lon),
    radiusKm: String(search.radiusKm),
    sort: search.sort,
    limit: '30',
    ...(search.openNow ? { openNow: 'true' } : {}),
  });
  return getJson<{ product: Product; items: OfferNear[] }>(`products/${encodeURIComponent(search.productId)}/offers?${query}`, signal);
}

export function pharmacy(id: string, signal?: AbortSignal) {
  return getJson<Pharmacy>(`pharmacies/${encodeURIComponent(id)}`, signal);
}

/** A page of a pharmacy's current offers, after `cursor` (the previous page's `nextCursor`). */
export function offersAtPharmacy(id: string, cursor: string | null, signal?: AbortSignal) {
  const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
  return getJson<{ items: OfferAtPharmacy[]; nextCursor: string | null }>(`pharmacies/${encodeURIComponent(id)}/offers?limit=50${after}`, signal);
}
