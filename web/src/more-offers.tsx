import { Failure } from './status';

/** Below a list of offers read by pages: how many are shown, whether there are more, and the button for them. */
export function MoreOffers({ shown, more, busy, error, onMore }: { shown: number; more: boolean; busy: boolean; error: unknown; onMore(): void }) {
  return (
    <>
      <p class="muted" role="status">
        {more ? `${shown} ofertas mostradas; há mais.` : `Todas as ${shown} ofertas mostradas.`}
      </p>
      {error !== undefined && <Failure error={error} />}
      {more && (
        <button type="button" class="secondary" aria-busy={busy} disabled={busy} onClick={onMore}>
          Mostrar mais ofertas
        </button>
      )}
    </>
  );
}
