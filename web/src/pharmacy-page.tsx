import { useEffect, useState } from 'preact/hooks';
import { offersAtPharmacy, pharmacy as readPharmacy, type OfferAtPharmacy, type Pharmacy } from './api';
import { addressLine, DAY_NAMES, mapsLink, price, SERVICE_NAMES } from './format';
import { weekdayIn, weekLines } from './hours';
import { Failure, Loading } from './status';

type Page = { state: 'loading' } | { state: 'done'; pharmacy: Pharmacy; offers: OfferAtPharmacy[] } | { state: 'failed'; error: unknown };

/** A pharmacy's page: hours (today marked, in its own time zone), services and current offers. */
export function PharmacyPage({ id }: { id: string }) {
  const [page, setPage] = useState<Page>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setPage({ state: 'loading' });
    Promise.all([readPharmacy(id, controller.signal), offersAtPharmacy(id, controller.signal)]).then(
      ([pharmacy, offers]) => setPage({ state: 'done', pharmacy, offers: offers.items }),
      (error: unknown) => controller.signal.aborted || setPage({ state: 'failed', error }),
    );
    return () => controller.abort();
  }, [id, attempt]);

  if (page.state === 'loading') return <Loading text="Carregando a farmácia…" />;
  if (page.state === 'failed') return <Failure error={page.error} onRetry={() => setAttempt((n) => n + 1)} />;
  const { pharmacy, offers } = page;
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
      {offers.length === 0 ? (
        <p class="notice">Esta farmácia não tem ofertas no momento.</p>
      ) : (
        <ul class="offers compact">
          {offers.map((offer) => (
            <li key={offer.offerId} class="offer">
              <span>
                {offer.product.name ?? 'Produto'} <span class="muted">{offer.product.presentation}</span>
              </span>
              <strong>{price(offer.priceCents)}</strong>
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}
