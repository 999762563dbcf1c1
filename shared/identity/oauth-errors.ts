import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { DomainError } from '../kernel/errors';
import { errorResponse, jsonResponse, traceIdOf, withProblemDetails } from '../kernel/http';

/** Whether the caller tried HTTP Basic client authentication (RFC 6749 §2.3.1). */
export const triedBasicAuthentication = (request: HttpRequest) => /^Basic(\s|$)/i.test(request.headers.get('authorization')?.trim() ?? '');

/** RFC 6749 §5.2 allows %x20-21 / %x23-5B / %x5D-7E in error_description: no quote, no backslash, ASCII only. */
const describable = (text: string) => text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '').slice(0, 500);

/** The OAuth code of an error that is not an OAuthError: what a client library can act on. */
function codeOf(error: DomainError): string {
  if (error.status === 429 || error.status === 503) return 'temporarily_unavailable';
  if (error.status === 401) return 'invalid_client';
  return 'invalid_request';
}

/**
 * An error of the token or revocation endpoint as RFC 6749 §5.2 (and RFC 7009 §2.2.1) has
 * it: `application/json` with `error` and `error_description`, never cached, and not
 * problem+json, which OAuth client libraries do not read. `invalid_client` is a 401 with a
 * Basic challenge when the client tried HTTP Basic (as §5.2 requires), else a 400. The
 * status and headers of other errors stay (429 and 503 keep their Retry-After), and a
 * failure of ours is logged and answered `server_error` with the trace id.
 */
export function oauthErrorResponse(error: unknown, request: HttpRequest, context: InvocationContext): HttpResponseInit {
  const traceId = traceIdOf(request, context);
  const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
  if (!(error instanceof DomainError)) {
    errorResponse(error, request, context); // logs it, with its stack, for us only
    return jsonResponse(500, { error: 'server_error', error_description: 'the request could not be completed; quote the traceId', traceId }, noStore);
  }
  const code = error.extensions.error ?? codeOf(error);
  const headers: Record<string, string> = { ...error.headers, ...noStore };
  let status = error.status;
  delete headers['www-authenticate'];
  if (code === 'invalid_client') {
    status = triedBasicAuthentication(request) ? 401 : 400;
    if (status === 401) headers['www-authenticate'] = 'Basic realm="farmacias", charset="UTF-8"';
  }
  return jsonResponse(status, { error: code, error_description: describable(error.message), traceId }, headers);
}

/** Wraps an OAuth endpoint: its errors answer in OAuth's format (see oauthErrorResponse). */
export function withOAuthErrors(handler: HttpHandler): HttpHandler {
  return withProblemDetails(async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error) {
      return oauthErrorResponse(error, request, context);
    }
  });
}
