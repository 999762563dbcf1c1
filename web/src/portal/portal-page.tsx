import { useEffect, useState } from 'preact/hooks';
import { bodyOf, type Pharmacy } from '../api';
import { onSessionChange, sendSignedIn, sessionEndedReason, signedIn } from '../session';
import { Failure, Loading } from '../status';
import { OffersManager } from './offers-manager';
import { PharmacyEditor } from './pharmacy-editor';
import { PriceListUpload } from './price-list';

interface Me {
  name: string;
  roles: string[];
  pharmacyIds: string[];
}

type Tab = 'farmacia' | 'ofertas' | 'lista';
const TABS: { id: Tab; label: string }[] = [
  { id: 'farmacia', label: 'Farmácia' },
  { id: 'ofertas', label: 'Ofertas' },
  { id: 'lista', label: 'Lista de preços (CSV)' },
];

/** Tabs as a keyboard expects (WAI-ARIA): arrows move between them, Home and End to the ends; one tab stop. */
function moveBetweenTabs(event: KeyboardEvent, current: Tab, choose: (tab: Tab) => void) {
  const index = TABS.findIndex(({ id }) => id === current);
  const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: TABS.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  const tab = TABS[(next + TABS.length) % TABS.length].id;
  choose(tab);
  document.getElementById(`aba-${tab}`)?.focus();
}

/** The pharmacy portal: the signed-in pharmacist's pharmacies, their profile, hours and offers. */
export function PortalPage() {
  const [me, setMe] = useState<Me>();
  const [pharmacies, setPharmacies] = useState<Pharmacy[]>();
  const [chosen, setChosen] = useState<string>();
  const [tab, setTab] = useState<Tab>('farmacia');
  const [error, setError] = useState<unknown>();
  const [, setSessionChanges] = useState(0);
  useEffect(() => onSessionChange(() => setSessionChanges((count) => count + 1)), []);

  useEffect(() => {
    if (!signedIn()) return;
    (async () => {
      const account = await bodyOf<Me>(await sendSignedIn('auth/me'));
      setMe(account);
      const found = await Promise.all(account.pharmacyIds.map(async (id) => bodyOf<Pharmacy>(await sendSignedIn(`pharmacies/${id}`))));
      setPharmacies(found);
      setChosen(found[0]?.id);
    })().catch(setError);
  }, []);

  if (!signedIn()) {
    return (
      <section>
        <h1>Portal da farmácia</h1>
        {sessionEndedReason() && (
          <p class="notice" role="status">
            {sessionEndedReason()}
          </p>
        )}
        <p class="notice">
          Entre com a conta da farmácia em <a href="#/conta">Minha conta</a> para continuar.
        </p>
      </section>
    );
  }
  if (error !== undefined) return <Failure error={error} />;
  if (!me || !pharmacies) return <Loading text="Carregando suas farmácias…" />;
  if (pharmacies.length === 0) {
    return (
      <section>
        <h1>Portal da farmácia</h1>
        <p class="notice">Sua conta não está ligada a nenhuma farmácia. Peça a um administrador que a ligue à sua.</p>
      </section>
    );
  }
  const pharmacy = pharmacies.find((candidate) => candidate.id === chosen) ?? pharmacies[0];
  return (
    <section>
      <h1>Portal da farmácia</h1>
      <label for="farmacia-escolhida">Farmácia</label>{' '}
      <select id="farmacia-escolhida" value={pharmacy.id} onChange={(event) => setChosen((event.target as HTMLSelectElement).value)}>
        {pharmacies.map((candidate) => (
          <option key={candidate.id} value={candidate.id}>
            {candidate.tradeName} – {candidate.address.district}, {candidate.address.city}
          </option>
        ))}
      </select>
      <div class="tabs" role="tablist" aria-label="Seções do portal" onKeyDown={(event) => moveBetweenTabs(event, tab, setTab)}>
        {TABS.map(({ id, label }) => (
          <button
            key={id}
            type="button"
            role="tab"
            id={`aba-${id}`}
            aria-selected={tab === id}
            aria-controls={tab === id ? `painel-${id}` : undefined}
            tabIndex={tab === id ? 0 : -1}
            class={tab === id ? 'tab active' : 'tab'}
            onClick={() => setTab(id)}
          >
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`painel-${tab}`} aria-labelledby={`aba-${tab}`}>
        {tab === 'farmacia' && <PharmacyEditor key={pharmacy.id} pharmacyId={pharmacy.id} />}
        {tab === 'ofertas' && <OffersManager key={pharmacy.id} pharmacyId={pharmacy.id} timeZone={pharmacy.timeZone} />}
        {tab === 'lista' && <PriceListUpload key={pharmacy.id} pharmacyId={pharmacy.id} timeZone={pharmacy.timeZone} />}
      </div>
    </section>
  );
}
