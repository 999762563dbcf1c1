import type { HttpHandler, HttpMethod, InvocationContext, Timer } from '@azure/functions';
import { withSecurityHeaders } from './http';
import type { ContainerDefinition } from './ports';

/** The one Service Bus topic every context publishes its domain events to. */
export const DOMAIN_EVENTS_TOPIC = 'domain-events';
/** The app setting (or prefix, for identity-based connections) naming the Service Bus namespace. */
export const SERVICE_BUS_CONNECTION = 'ServiceBusConnection';

/** An HTTP function, declared once and served by the Functions host and the local host alike. */
export interface HttpRouteDeclaration {
  name: string;
  methods: HttpMethod[];
  /** Without the `api/` prefix, in Functions route syntax: `pharmacies/{id}`. */
  route: string;
  authLevel: 'anonymous' | 'function' | 'admin';
  handler: HttpHandler;
}

/** A Service Bus topic subscription (a projector or a reaction). */
export interface EventHandlerDeclaration {
  name: string;
  subscription: string;
  eventTypes: readonly string[];
  handler: (message: unknown, context: InvocationContext) => Promise<void>;
}

/** A timer function; `schedule` is an NCRONTAB expression with seconds. */
export interface TimerDeclaration {
  name: string;
  schedule: string;
  handler: (timer: Timer, context: InvocationContext) => Promise<void>;
}

/** What a bounded context (or the platform) contributes to both hosts. */
export interface FunctionModule {
  name: string;
  routes: HttpRouteDeclaration[];
  eventHandlers: EventHandlerDeclaration[];
  timers: TimerDeclaration[];
  containers: ContainerDefinition[];
}

/**
 * An HTTP route as the APIs declare it. In Azure every route needs a function key: the
 * app sits behind API Management, which presents its own host key (from Key Vault), so a
 * caller cannot go around the gateway's rate limits and validate-jwt. Callers are then
 * identified by the APIs' own bearer tokens. The local host serves without keys.
 */
export function httpRoute(name: string, method: HttpMethod, route: string, handler: HttpHandler): HttpRouteDeclaration {
  return { name, methods: [method], route, authLevel: 'function', handler: withSecurityHeaders(handler) };
}

/**
 * The methods a host serves a route on: its declared ones, and HEAD wherever GET is
 * (RFC 9110 §9.3.2: the same status and headers, no body; the hosts drop the body).
 * Declarations keep naming GET alone, as the OpenAPI documents do.
 */
export function servedMethods(route: Pick<HttpRouteDeclaration, 'methods'>): HttpMethod[] {
  return route.methods.includes('GET') && !route.methods.includes('HEAD') ? [...route.methods, 'HEAD'] : route.methods;
}
