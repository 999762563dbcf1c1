import { ApiError } from './api';

/** A failed request told in words, with the wait the API asked for, if any. */
export function Failure({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const known = error instanceof ApiError ? error : new ApiError('Algo deu errado.', 0);
  return (
    <div class="notice error" role="alert">
      <p>{known.message}</p>
      {known.retryAfterSeconds !== undefined && <p>Tente novamente em {known.retryAfterSeconds} segundos.</p>}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Tentar de novo
        </button>
      )}
    </div>
  );
}

export function Loading({ text }: { text: string }) {
  return (
    <p class="notice" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {text}
    </p>
  );
}
