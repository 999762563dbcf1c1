/** An answer, or status 0 when none came within the bound; `ms` is how long it took either way. */
export interface TimedAnswer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read answers of every shape
  ms: number;
}

/**
 * Calls a running host as `token`, giving up after `timeoutMs` (a fault test's bound: the
 * old code hung on a frozen dependency). A string body goes as a form, anything else as
 * JSON. `inspect` sees each answer's text first (a contract check).
 */
export function timedCaller(
  baseUrl: string,
  token: string,
  timeoutMs: number,
  inspect: (answer: { method: string; path: string; status: number; contentType: string; text: string }) => void | Promise<void> = () => {},
) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<TimedAnswer> => {
    const started = performance.now();
    const form = typeof body === 'string';
    try {
      const response = await fetch(`${baseUrl}/${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' } : {}), ...headers },
        body: body ? (form ? (body as string) : JSON.stringify(body)) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      await inspect({ method, path, status: response.status, contentType: response.headers.get('content-type') ?? '', text });
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, ms: performance.now() - started };
    } catch {
      return { status: 0, headers: new Headers(), body: undefined, ms: performance.now() - started };
    }
  };
}
