import { useEffect, useState } from 'preact/hooks';
import { ApiError, offersNear, type NearSearch, type OfferNear, type Product } from './api';
import { addressLine, distance, mapsLink, price, STOCK_NAMES, when } from './format';
import { todayLine } from './hours';
import { LocationPicker, type ChosenPlace } from './location-picker';
import { ProductPicker } from './product-picker';
import { saveResults, savedResults, type SavedResults } from './saved';
import { Failure, Loading } from './status';

type Results =
  | { state: 'idle' }
  | { state: 'loading' }
  | { state: 'done'; product: Product; items: OfferNear[]; savedAt?: string }
  | { state: 'failed'; error: unknown };

const RADII = [2, 5, 10, 20];

export function SearchPage() {
  const saved = savedResults();
  const [product, setProduct] = useState<Product | undefined>(saved?.product);
  const [place, setPlace] = useState<ChosenPlace | undefined>(saved && { ...saved.search.at, label: 'Última busca' });
  const [sort, setSort] = useState<NearSearch['sort']>(saved?.search.sort ?? 'price');
  const [openNow, setOpenNow] = useState(saved?.search.openNow ?? false);
  const [radiusKm, setRadiusKm] = useState(saved?.search.radiusKm ?? 5);
  const [results, setResults] = useState<Results>({ state: 'idle' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (!product || !place) return;
    const search: NearSearch = { productId: product.id, at: { lat: place.lat, lon: place.lon }, radiusKm, sort, openNow };
    const controller = new AbortController();
    setResults({ state: 'loading' });
    offersNear(search, controller.signal).then(
      (answer) => {
        setResults({ state: 'done', product: answer.product, items: answer.items });
        saveResults({ search, product: answer.product, items: answer.items, savedAt: new Date().toISOString() });
      },
      (error: unknown) => controller.signal.aborted || setResults(fallback(error, search)),
    );
    return () => controller.abort();
  }, [product?.id, place?.lat, place?.lon, radiusKm, sort, openNow, attempt]);

  return (
    <>
      <h1>Onde está mais barato?</h1>
      <form class="search" onSubmit={(event) => event.preventDefault()}>
        <ProductPicker initialText={product?.name} onPick={setProduct} />
        <LocationPicker place={place} onPlace={setPlace} />
        <fieldset class="filters">
          <legend>Filtros</legend>
          <div class="segmented" role="radiogroup" aria-label="Ordenar por">
            {(['price', 'distance'] as const).map((option) => (
              <label key={option}>
                <input type="radio" name="ordem" value={option} checked={sort === option} onChange={() => setSort(option)} />
                {option === 'price' ? 'Menor preço' : 'Mais perto'}
              </label>
            ))}
          </div>
          <label>
            <input type="checkbox" checked={openNow} onChange={(event) => setOpenNow((event.target as HTMLInputElement).checked)} /> Abertas agora
          </label>
          <label>
            Raio{' '}
            <select value={String(radiusKm)} onChange={(event) => setRadiusKm(Number((event.target as HTMLSelectElement).value))}>
              {RADII.map((radius) => (
                <option key={radius} value={String(radius)}>
                  {radius} km
                </option>
              ))}
            </select>
          </label>
        </fieldset>
      </form>
      <p class="visually-hidden" role="status" aria-live="polite">
        {results.state === 'done' ? `${results.items.length} ofertas encontradas${results.savedAt ? ', salvas antes' : ''}.` : ''}
      </p>
      <ResultsView results={results} hint={!product ? 'Comece pelo medicamento.' : !place ? 'Agora diga onde você está.' : undefined} onRetry={() => setAttempt((n) => n + 1)} />
    </>
  );
}

/** Offline or failing: the saved answer to the same search, marked as saved; otherwise the failure. */
function fallback(error: unknown, search: NearSearch): Results {
  const saved: SavedResults | undefined = savedResults();
  const offline = error instanceof ApiError && error.status === 0;
  if (offline && saved && JSON.stringify(saved.search) === JSON.stringify(search)) {
    return { state: 'done', product: saved.product, items: saved.items, savedAt: saved.savedAt };
  }
  return { state: 'failed', error };
}

function ResultsView({ results, hint, onRetry }: { results: Results; hint?: string; onRetry(): void }) {
  if (hint) return <p class="notice">{hint}</p>;
  if (results.state === 'loading') return <Loading text="Buscando as ofertas mais baratas…" />;
  if (results.state === 'failed') return <Failure error={results.error} onRetry={onRetry} />;
  if (results.state !== 'done') return null;
  return (
    <section aria-labelledby="resultados">
      <h2 id="resultados">
        {results.product.name} <span class="muted">{results.product.presentation}</span>
      </h2>
      {results.savedAt && (
        <p class="notice saved" role="status">
          Sem conexão: resultados salvos em {when(results.savedAt)}.
        </p>
      )}
      {results.items.length === 0 ? (
        <p class="notice">Nenhuma farmácia neste raio tem oferta deste medicamento. Aumente o raio ou tire o filtro “Abertas agora”.</p>
      ) : (
        <ol class="offers">
          {results.items.map((offer) => (
            <OfferCard key={offer.offerId} offer={offer} />
          ))}
        </ol>
      )}
    </section>
  );
}

function OfferCard({ offer }: { offer: OfferNear }) {
  const { pharmacy } = offer;
  return (
    <li class="offer">
      <div class="price">
        <strong>{price(offer.priceCents)}</strong>
        {offer.listPriceCents !== null && offer.listPriceCents > offer.priceCents && (
          <span class="discount">
            <s aria-label={`preço de tabela ${price(offer.listPriceCents)}`}>{price(offer.listPriceCents)}</s> −{offer.discountPercent}%
          </span>
        )}
      </div>
      <div class="where">
        <a href={`#/farmacia/${pharmacy.id}`}>{pharmacy.tradeName}</a>
        <span class="muted">
          {distance(offer.distanceKm)} · {addressLine(pharmacy.address)}
        </span>
        <span class={pharmacy.openNow ? 'open' : 'closed'}>{pharmacy.openNow ? 'Aberta agora' : 'Fechada agora'}</span>
        <span class="muted hours-today">{todayLine(pharmacy.openingHours ?? [], pharmacy.timeZone, new Date())}</span>
        <span class="muted">{STOCK_NAMES[offer.stock] ?? offer.stock}</span>
        <a class="maps" href={mapsLink(pharmacy.location, pharmacy.tradeName)} target="_blank" rel="noopener">
          Abrir no mapa
        </a>
      </div>
    </li>
  );
}
