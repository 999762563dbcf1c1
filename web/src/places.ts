import type { GeoPoint } from './api';

/** Where to search from when the browser's location is refused or unavailable. */
export interface Place extends GeoPoint {
  name: string;
}

export const PLACES: Place[] = [
  { name: 'São Paulo – Paulista', lat: -23.5614, lon: -46.6559 },
  { name: 'São Paulo – Pinheiros', lat: -23.5667, lon: -46.6917 },
  { name: 'São Paulo – Moema', lat: -23.6009, lon: -46.6658 },
  { name: 'Campinas – Centro', lat: -22.9056, lon: -47.0608 },
  { name: 'Rio de Janeiro – Botafogo', lat: -22.9519, lon: -43.1857 },
  { name: 'Rio de Janeiro – Copacabana', lat: -22.9711, lon: -43.1822 },
  { name: 'Belo Horizonte – Savassi', lat: -19.932, lon: -43.938 },
];
