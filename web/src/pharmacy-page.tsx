import { useEffect, useState } from 'preact/hooks';
import { offersAtPharmacy, pharmacy as readPharmacy, type OfferAtPharmacy, type Pharmacy } from './api';
import { addressLine, DAY_NAMES, mapsLink, price, SERVICE_NAMES } from './format';
import { weekdayIn, weekLines } from './hours';
import { MoreOffers } from './more-offers';
import { useCursorPages } from './pages';
import { Failure, Loading } from './status';

type Page = { state: 'loading' } | { state: 'done'; pharmacy: Pharmacy } | { state: 'failed'; error: unknown };

/** A pharmacy's page: hours (today marked, in its own time zone), services and current offers, a page at a time. */
export function PharmacyPage({ id }: { id: string }) {
  const [page, setPage] = useState<Page>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const offers = useCursorPages<OfferAtPharmacy>((cursor, signal) => offersAtPharmacy(id, cursor, signal), (offer) => offer.offerId);
  useEffect(() => {
    const controller = new AbortController();
    setPage({ state: 'loading' });
    Promise.all([readPharmacy(id, controller.signal), offers.reload(controller.signal)]).then(
      ([pharmacy]) => controller.signal.aborted || setPage({ state: 'done', pharmacy }),
      (error: unknown) => controller.signal.aborted || setPage({ state: 'failed', error }),
    );
    return () => controller.abort();
  }, [id, attempt]);

  if (page.state === 'loading') return <Loading text="Carregando a farmácia…" />;
  if (page.state === 'failed') return <Failure error={page.error} onRetry={() => setAttempt((n) => n + 1)} />;
  const { pharmacy } = page;
  const shown = offers.items ?? [];
  const today = weekdayIn(pharmacy.timeZone, new Date());
  return (
    <article class="pharmacy">
      <h1>{pharmacy.tradeName}</h1>
      <p>
        <span class={pharmacy.openNow ? 'open' : 'closed'}>{pharmacy.status === 'closed' ? 'Fechada definitivamente' : pharmacy.openNow ? 'Aberta agora' : 'Fechada agora'}</span>
      </p>
      <p>{addressLine(pharmacy.address)}</p>
      <p>
        <a class="maps" href={mapsLink(pharmacy.location, pharmacy.tradeName)} target="_blank" rel="noopener">
          Abrir no mapa
        </a>
        {pharmacy.phone && (
          <>
            {' · '}
            <a href={`tel:${pharmacy.phone.replace(/[^\d+]/g, '')}`}>{pharmacy.phone}</a>
          </>
        )}
      </p>
      <h2>Horários</h2>
      <table class="hours">
        <tbody>
          {weekLines(pharmacy.openingHours).map(({ day, text }) => (
            <tr key={day} class={day === today ? 'today' : undefined} aria-current={day === today ? 'date' : undefined}>
              <th scope="row">
                {DAY_NAMES[day]}
                {day === today && <span class="badge">hoje</span>}
              </th>
              <td>{text}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {pharmacy.services.length > 0 && (
        <>
          <h2>Serviços</h2>
          <ul class="tags">
            {pharmacy.services.map((service) => (
              <li key={service}>{SERVICE_NAMES[service] ?? service}</li>
            ))}
          </ul>
        </>
      )}
      <h2>Ofertas</h2>
      {shown.length === 0 ? (
        <p class="notice">Esta farmácia não tem ofertas no momento.</p>
      ) : (
        <>
          <ul class="offers compact" ref={offers.list}>
            {shown.map((offer, index) => (
              <li key={offer.offerId} class="offer" tabIndex={index === offers.firstAdded ? -1 : undefined}>
                <span>
                  {offer.product.name ?? 'Produto'} <span class="muted">{offer.product.presentation}</span>
                </span>
                <strong>{price(offer.priceCents)}</strong>
              </li>
            ))}
          </ul>
          <MoreOffers shown={shown.length} more={offers.nextCursor !== null} busy={offers.loadingMore} error={offers.moreError} onMore={() => void offers.loadMore()} />
        </>
      )}
    </article>
  );
}
