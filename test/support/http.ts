import { HttpRequest, InvocationContext, type HttpHandler, type HttpResponseInit } from '@azure/functions';

export interface Call {
  method?: string;
  path?: string;
  params?: Record<string, string>;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/** Invokes a handler with the real HttpRequest and InvocationContext classes. */
export async function invoke(handler: HttpHandler, call: Call = {}) {
  const text = call.rawBody ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
  const request = new HttpRequest({
    method: call.method ?? 'GET',
    url: `http://localhost:7071/api/${call.path ?? ''}`,
    headers: { ...(text !== undefined ? { 'content-type': 'application/json' } : {}), ...call.headers },
    params: call.params ?? {},
    ...(text !== undefined ? { body: { string: text } } : {}),
  });
  const logs: string[] = [];
  const context = new InvocationContext({
    invocationId: 'test-invocation',
    functionName: 'test',
    logHandler: (level, ...args) => logs.push(`${level}: ${args.join(' ')}`),
  });
  const response: HttpResponseInit = await handler(request, context);
  const headers = new Headers(response.headers as Record<string, string>);
  const body = typeof response.body === 'string' && response.body ? JSON.parse(response.body) : undefined;
  return { status: response.status ?? 200, headers, body, logs };
}

/**
 * Calls a running host over HTTP as the token's holder (read when each call is made) unless
 * the headers say who is calling. A string body goes as it is, anything else as JSON.
 */
export function hostCaller(baseUrl: string, token: () => string) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${baseUrl}/${path}`, {
      method,
      headers: { authorization: `Bearer ${token()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
}
