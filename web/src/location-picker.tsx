import { useState } from 'preact/hooks';
import type { GeoPoint } from './api';
import { PLACES } from './places';

export interface ChosenPlace extends GeoPoint {
  label: string;
}

type Asking = 'idle' | 'asking' | 'refused' | 'unavailable';

const WHY: Record<Exclude<Asking, 'idle' | 'asking'>, string> = {
  refused: 'A localização foi negada. Escolha um bairro na lista.',
  unavailable: 'Não foi possível obter sua localização. Escolha um bairro na lista.',
};

/** The browser's location when it is given; otherwise a neighbourhood from the list. */
export function LocationPicker({ place, onPlace }: { place?: ChosenPlace; onPlace(place: ChosenPlace): void }) {
  const [asking, setAsking] = useState<Asking>('idle');

  const locate = () => {
    if (!('geolocation' in navigator)) return setAsking('unavailable');
    setAsking('asking');
    navigator.geolocation.getCurrentPosition(
      ({ coords }) => {
        setAsking('idle');
        onPlace({ lat: round(coords.latitude), lon: round(coords.longitude), label: 'Sua localização' });
      },
      (error) => setAsking(error.code === error.PERMISSION_DENIED ? 'refused' : 'unavailable'),
      { enableHighAccuracy: false, timeout: 10_000, maximumAge: 300_000 },
    );
  };

  const chosen = PLACES.findIndex((candidate) => candidate.lat === place?.lat && candidate.lon === place?.lon);
  return (
    <fieldset class="where">
      <legend>Onde</legend>
      <button type="button" onClick={locate} disabled={asking === 'asking'}>
        {asking === 'asking' ? 'Localizando…' : 'Usar minha localização'}
      </button>
      <label for="bairro">ou escolha um bairro</label>
      <select
        id="bairro"
        value={chosen >= 0 ? String(chosen) : ''}
        onChange={(event) => {
          const index = Number((event.target as HTMLSelectElement).value);
          const candidate = PLACES[index];
          if (!candidate) return;
          setAsking('idle');
          onPlace({ lat: candidate.lat, lon: candidate.lon, label: candidate.name });
        }}
      >
        <option value="">Selecione…</option>
        {PLACES.map((candidate, index) => (
          <option key={candidate.name} value={String(index)}>
            {candidate.name}
          </option>
        ))}
      </select>
      {(asking === 'refused' || asking === 'unavailable') && (
        <p class="notice" role="status">
          {WHY[asking]}
        </p>
      )}
      {place && <p class="muted">Buscando perto de: {place.label}</p>}
    </fieldset>
  );
}

/** About 100 m: enough for "near me", and the exact position never leaves the phone. */
const round = (degrees: number) => Math.round(degrees * 1000) / 1000;
