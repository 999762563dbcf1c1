import { useEffect, useState } from 'preact/hooks';
import { ApiError, type OfferAtPharmacy, type Product } from '../api';
import { command, readAtLeast } from '../commands';
import { parseReais, price, reaisInput, STOCK_NAMES } from '../format';
import { ProductPicker } from '../product-picker';
import { instantIn } from '../zoned';
import { MoreOffers } from '../more-offers';
import { useCursorPages, type CursorPage } from '../pages';
import { Failure, Loading } from '../status';
import { useSubmission } from '../submission';

const DAY_MS = 86_400_000;

/** The API's largest page (shared/offers/openapi.yaml). */
const PAGE_SIZE = 100;

/** The pharmacy's current offers, a page at a time: reprice or withdraw each; publish a new one. */
export function OffersManager({ pharmacyId, timeZone }: { pharmacyId: string; timeZone: string }) {
  const [error, setError] = useState<unknown>();
  const pages = useCursorPages<OfferAtPharmacy>(
    (cursor) => readAtLeast<CursorPage<OfferAtPharmacy>>(`pharmacies/${pharmacyId}/offers?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
    (offer) => offer.offerId,
  );
  const { items: offers, setItems: setOffers } = pages;
  const load = () => pages.reload().catch(setError);
  useEffect(() => void load(), [pharmacyId]);
  return (
    <>
      <PublishForm pharmacyId={pharmacyId} timeZone={timeZone} onPublished={load} />
      <section class="card" aria-labelledby="ofertas-atuais">
        <h2 id="ofertas-atuais">Ofertas atuais</h2>
        {error !== undefined && <Failure error={error} />}
        {!offers && error === undefined && <Loading text="Carregando as ofertas…" />}
        {offers?.length === 0 && <p class="notice">Nenhuma oferta publicada.</p>}
        {offers && offers.length > 0 && (
          <>
            <ul class="offers compact" ref={pages.list}>
              {offers.map((offer, index) => (
                <OfferRow
                  key={offer.offerId}
                  offer={offer}
                  focusable={index === pages.firstAdded}
                  onChanged={(next) => setOffers(next ? offers.map((o) => (o.offerId === next.offerId ? next : o)) : offers.filter((o) => o.offerId !== offer.offerId))}
                />
              ))}
            </ul>
            <MoreOffers shown={offers.length} more={pages.nextCursor !== null} busy={pages.loadingMore} error={pages.moreError} onMore={() => void pages.loadMore()} />
          </>
        )}
      </section>
    </>
  );
}

function OfferRow({ offer, focusable, onChanged }: { offer: OfferAtPharmacy; focusable: boolean; onChanged(next?: OfferAtPharmacy): void }) {
  const [typed, setTyped] = useState(reaisInput(offer.priceCents));
  const { busy, error, run, submit } = useSubmission();
  const name = `${offer.product.name ?? 'Produto'} ${offer.product.presentation ?? ''}`.trim();
  const reprice = submit(async () => {
    const priceCents = parseReais(typed) ?? Number.NaN;
    const listPriceCents = offer.listPriceCents !== null && offer.listPriceCents > priceCents ? offer.listPriceCents : undefined;
    const written = await command('POST', `offers/${offer.offerId}/price`, { priceCents, ...(listPriceCents ? { listPriceCents } : {}) });
    // The row shows what the server now holds: the offer read back at the version just written (read-your-writes).
    const stored = await readAtLeast<{ priceCents: number; listPriceCents?: number | null; discountPercent: number }>(`offers/${offer.offerId}`, written.version);
    onChanged({ ...offer, priceCents: stored.priceCents, listPriceCents: stored.listPriceCents ?? null, discountPercent: stored.discountPercent });
  });
  const withdraw = () =>
    run(async () => {
      await command('POST', `offers/${offer.offerId}/withdrawal`);
      onChanged(undefined);
    });
  return (
    <li class="offer" tabIndex={focusable ? -1 : undefined}>
      <span>
        {name}
        <span class="muted"> · {STOCK_NAMES[offer.stock] ?? offer.stock} · agora {price(offer.priceCents)}</span>
      </span>
      <form class="inline" onSubmit={reprice}>
        <label>
          Novo preço (R$) <input class="price-input" inputMode="decimal" value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={busy}>
          Alterar preço
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={() => void withdraw()}>
          Retirar
        </button>
      </form>
      {error !== undefined && <Failure error={error} />}
    </li>
  );
}

function PublishForm({ pharmacyId, timeZone, onPublished }: { pharmacyId: string; timeZone: string; onPublished(): Promise<unknown> }) {
  const [product, setProduct] = useState<Product>();
  const [typed, setTyped] = useState({ price: '', listPrice: '', stock: 'in_stock', until: new Date(Date.now() + 30 * DAY_MS).toISOString().slice(0, 10) });
  const { busy, done, error, submit } = useSubmission();
  const set = (key: keyof typeof typed) => (event: Event) => setTyped({ ...typed, [key]: (event.target as HTMLInputElement).value });
  const publish = async () => {
    if (!product) throw new ApiError('Escolha o produto na lista de sugestões.', 400);
    const listPriceCents = typed.listPrice ? parseReais(typed.listPrice) ?? Number.NaN : undefined;
    await command('POST', 'offers', {
      pharmacyId,
      productId: product.id,
      priceCents: parseReais(typed.price) ?? Number.NaN,
      ...(listPriceCents === undefined ? {} : { listPriceCents }),
      stock: typed.stock,
      validFrom: new Date().toISOString(),
      validUntil: instantIn(timeZone, typed.until, '23:59:59'),
    });
    await onPublished();
  };
  return (
    <form class="card" aria-labelledby="publicar" onSubmit={submit(publish, `Oferta de ${product?.name ?? ''} publicada.`)}>
      <h2 id="publicar">Publicar oferta</h2>
      <ProductPicker onPick={setProduct} />
      <div class="fields">
        <label>
          Preço (R$) <input inputMode="decimal" required value={typed.price} onInput={set('price')} />
        </label>
        <label>
          Preço de tabela (R$, opcional) <input inputMode="decimal" value={typed.listPrice} onInput={set('listPrice')} />
        </label>
        <label>
          Estoque{' '}
          <select value={typed.stock} onChange={set('stock')}>
            {Object.entries(STOCK_NAMES).map(([stock, name]) => (
              <option key={stock} value={stock}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Válida até <input type="date" required value={typed.until} onInput={set('until')} />
        </label>
      </div>
      <button type="submit" disabled={busy}>
        Publicar
      </button>
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
      {error !== undefined && <Failure error={error} />}
    </form>
  );
}
