import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { AccountPage } from './account-page';
import { PharmacyPage } from './pharmacy-page';
import { PortalPage } from './portal/portal-page';
import { SearchPage } from './search-page';
import { claimStoredSession } from './session';
import './styles.css';

/** Hash routes: the app shell is one file, so every view loads offline from the cache. */
type Route = { view: 'search' } | { view: 'account' } | { view: 'portal' } | { view: 'pharmacy'; id: string };

function currentRoute(): Route {
  const pharmacy = /^#\/farmacia\/([0-9a-f-]{36})$/i.exec(location.hash);
  if (pharmacy) return { view: 'pharmacy', id: pharmacy[1] };
  if (location.hash === '#/conta') return { view: 'account' };
  return location.hash === '#/portal' ? { view: 'portal' } : { view: 'search' };
}

function View({ route }: { route: Route }) {
  if (route.view === 'pharmacy') return <PharmacyPage id={route.id} />;
  if (route.view === 'account') return <AccountPage />;
  if (route.view === 'portal') return <PortalPage />;
  return <SearchPage />;
}

const TITLES: Record<Route['view'], string> = {
  search: 'Farmácias: onde está mais barato?',
  pharmacy: 'Farmácia – Farmácias',
  account: 'Minha conta – Farmácias',
  portal: 'Portal da farmácia – Farmácias',
};

function App() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const follow = () => {
      setRoute(currentRoute());
      // A new view: a screen reader starts reading it, and the keyboard starts from it.
      document.getElementById('conteudo')?.focus();
    };
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);
  useEffect(() => {
    document.title = TITLES[route.view];
  }, [route.view]);
  return (
    <>
      <header class="bar">
        <a class="brand" href="#/">
          <img src="/icon.svg" alt="" width="28" height="28" />
          <span>Farmácias</span>
        </a>
        <nav aria-label="Principal">
          <a href="#/">Buscar</a>
          <a href="#/portal">Portal</a>
          <a href="#/conta">Minha conta</a>
        </nav>
      </header>
      <main id="conteudo" tabIndex={-1}>
        <View route={route} />
      </main>
    </>
  );
}

// Before any view asks for a token: a duplicated tab learns at once that its copied sign-in is another tab's.
claimStoredSession();
render(<App />, document.getElementById('app')!);

// The app shell offline (see sw.ts); an app that cannot register one still works online.
if ('serviceWorker' in navigator) {
  addEventListener('load', () => void navigator.serviceWorker.register('/sw.js').catch(() => undefined));
}
