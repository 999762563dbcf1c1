import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

/** After this long a wait is said to be slow, so nobody takes it for a hang (requests give up at 10 s). */
const SLOW_MS = 3_000;

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
  const [slow, setSlow] = useState(false);
  useEffect(() => {
    const timer = setTimeout(() => setSlow(true), SLOW_MS);
    return () => clearTimeout(timer);
  }, []);
  return (
    <p class="notice" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {text}
      {slow && <span class="slow"> Está demorando mais que o normal; a conexão pode estar lenta.</span>}
    </p>
  );
}
