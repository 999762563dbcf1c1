import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { PharmacyPage } from './pharmacy-page';
import { SearchPage } from './search-page';
import './styles.css';

/** Hash routes: the app shell is one file, so every view loads offline from the cache. */
function currentRoute(): { view: 'search' } | { view: 'pharmacy'; id: string } {
  const pharmacy = /^#\/farmacia\/([0-9a-f-]{36})$/i.exec(location.hash);
  return pharmacy ? { view: 'pharmacy', id: pharmacy[1] } : { view: 'search' };
}

function App() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const follow = () => setRoute(currentRoute());
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);
  return (
    <>
      <header class="bar">
        <a class="brand" href="#/">
          <img src="/icon.svg" alt="" width="28" height="28" />
          <span>Farmácias</span>
        </a>
      </header>
      <main id="conteudo">{route.view === 'pharmacy' ? <PharmacyPage id={route.id} /> : <SearchPage />}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);

// The app shell offline (see sw.ts); an app that cannot register one still works online.
if ('serviceWorker' in navigator) {
  addEventListener('load', () => void navigator.serviceWorker.register('/sw.js').catch(() => undefined));
}
