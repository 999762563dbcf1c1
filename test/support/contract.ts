import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { projectRoot } from '../../shared/kernel/project-root';

/** Each module's OpenAPI document, as API Management imports it. */
export const OPENAPI_DOCUMENTS: Record<string, string> = {
  pharmacies: 'shared/pharmacies/openapi.yaml',
  platform: 'shared/platform/openapi.yaml',
  catalog: 'shared/catalog/openapi.yaml',
  offers: 'shared/offers/openapi.yaml',
  identity: 'shared/identity/openapi.yaml',
};

interface MediaType {
  schema?: object;
}
interface Response {
  content?: Record<string, MediaType>;
  headers?: Record<string, unknown>;
}
interface Operation {
  operationId: string;
  requestBody?: { content?: Record<string, MediaType> };
  responses: Record<string, Response>;
}
interface Route {
  document: string;
  method: string;
  template: string;
  pattern: RegExp;
  operation: Operation;
}

export interface Exchange {
  method: string;
  /** The path under the host's /api prefix, without the query. */
  path: string;
  status: number;
  contentType: string;
  body: string;
}

/** Where an answer does not match its operation in the documents: what a validating gateway or generated client trips on. */
export interface Violation {
  operation: string;
  exchange: string;
  problem: string;
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head'];
/** Answers the routing layer gives before any operation: documented once, in every document's components. */
const ROUTE_LEVEL = 'RouteLevelProblem';

/**
 * Checks answers against the OpenAPI documents with a JSON Schema validator (Ajv, which
 * reads OpenAPI 3.0's `nullable`): the status must be declared for the operation, the
 * media type must be the declared one, and the body must match its schema.
 */
export class ContractChecker {
  private readonly validators = new Map<object, ValidateFunction>();
  private readonly ajv: Ajv;

  private constructor(private readonly routes: Route[]) {
    this.ajv = new Ajv({ strict: false, allErrors: false, validateFormats: true });
    addFormats(this.ajv);
  }

  static async load(): Promise<ContractChecker> {
    const routes: Route[] = [];
    for (const [name, file] of Object.entries(OPENAPI_DOCUMENTS)) {
      const document = (await SwaggerParser.dereference(join(projectRoot(), file))) as unknown as { paths: Record<string, Record<string, Operation>> };
      for (const [template, item] of Object.entries(document.paths)) {
        for (const method of METHODS.filter((m) => item[m])) {
          const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
          routes.push({ document: name, method: method.toUpperCase(), template, pattern, operation: item[method] });
        }
      }
    }
    // Literal segments win over parameters (`/offers/batch` over `/offers/{id}`), as in the router.
    routes.sort((a, b) => a.template.split('{').length - b.template.split('{').length);
    return new ContractChecker(routes);
  }

  /** The operations of every document, as `METHOD /template operationId`. */
  operations(): string[] {
    return this.routes.map((route) => `${route.method} ${route.template} ${route.operation.operationId}`);
  }

  /** The operation a request reaches, if any (HEAD reaches its GET). */
  operationOf(method: string, path: string): string | undefined {
    const route = this.routes.find((candidate) => candidate.pattern.test(path) && (candidate.method === method || (method === 'HEAD' && candidate.method === 'GET')));
    return route?.operation.operationId;
  }

  /**
   * A request the server accepted must be one the document accepts too: a validating
   * gateway in front would otherwise refuse what the API serves.
   */
  checkAcceptedRequest(method: string, path: string, contentType: string, body: string | undefined): Violation[] {
    const route = this.routes.find((candidate) => candidate.pattern.test(path) && candidate.method === method);
    if (!route || body === undefined) return [];
    const violation = (problem: string): Violation[] => [{ operation: route.operation.operationId, exchange: `${method} ${path} (request)`, problem }];
    const content = route.operation.requestBody?.content ?? {};
    const mediaType = contentType.split(';')[0].trim();
    if (!content[mediaType]) return violation(`request media type ${mediaType} is not declared (declared: ${Object.keys(content).join(', ') || 'no body'})`);
    const schema = content[mediaType].schema;
    if (!schema) return [];
    const parsed = mediaType === 'application/x-www-form-urlencoded' ? Object.fromEntries(new URLSearchParams(body)) : JSON.parse(body);
    const validate = this.validator(schema);
    if (validate(parsed)) return [];
    const error = validate.errors?.[0];
    return violation(`an accepted request the schema refuses: ${error?.instancePath || '(root)'} ${error?.message} ${JSON.stringify(error?.params)}`);
  }

  check(exchange: Exchange): Violation[] {
    const label = `${exchange.method} ${exchange.path} → ${exchange.status}`;
    const matches = this.routes.filter((route) => route.pattern.test(exchange.path));
    const route = matches.find((candidate) => candidate.method === exchange.method || (exchange.method === 'HEAD' && candidate.method === 'GET'));
    // Headers too large or a body that never arrives are answered before any operation runs.
    if (route && [408, 431].includes(exchange.status)) return this.checkRouteLevel(exchange, label, true);
    if (!route) return this.checkRouteLevel(exchange, label, matches.length > 0);
    const { operation } = route;
    const response = operation.responses[String(exchange.status)] ?? operation.responses.default;
    const violation = (problem: string): Violation[] => [{ operation: operation.operationId, exchange: label, problem }];
    if (!response) return violation(`status ${exchange.status} is not declared (declared: ${Object.keys(operation.responses).join(', ')})`);
    if (exchange.method === 'HEAD' || exchange.status === 304 || exchange.status === 204) return [];
    const mediaType = exchange.contentType.split(';')[0].trim();
    const declared = Object.keys(response.content ?? {});
    if (declared.length === 0) return exchange.body ? violation(`a body (${mediaType}) where none is declared`) : [];
    if (!declared.includes(mediaType)) return violation(`media type ${mediaType || '(none)'} is not declared (declared: ${declared.join(', ')})`);
    const schema = response.content![mediaType].schema;
    if (!schema || !mediaType.endsWith('json')) return [];
    let body: unknown;
    try {
      body = JSON.parse(exchange.body);
    } catch {
      return violation('the body is not JSON');
    }
    const validate = this.validator(schema);
    if (validate(body)) return [];
    const error = validate.errors?.[0];
    return violation(`body does not match the schema: ${error?.instancePath || '(root)'} ${error?.message} ${JSON.stringify(error?.params)}`);
  }

  /** An unknown route (404), a known path with another method (405), or an answer before routing (413, 431, 400). */
  private checkRouteLevel(exchange: Exchange, label: string, pathKnown: boolean): Violation[] {
    const allowed = pathKnown ? [405, 413, 431, 400, 408] : [404, 413, 431, 400, 408];
    const violation = (problem: string): Violation[] => [{ operation: '(route level)', exchange: label, problem }];
    if (!allowed.includes(exchange.status)) return violation(`no operation answers this, and ${exchange.status} is no route-level answer`);
    if (!exchange.contentType.startsWith('application/problem+json')) return violation(`a route-level ${exchange.status} without problem+json (${exchange.contentType || 'no content type'})`);
    const validate = this.validator(this.routeLevelSchema());
    try {
      if (validate(JSON.parse(exchange.body))) return [];
    } catch {
      return violation('the body is not JSON');
    }
    return violation(`the body does not match ${ROUTE_LEVEL}`);
  }

  private routeLevelSchema(): object {
    return {
      type: 'object',
      required: ['type', 'title', 'status', 'detail', 'traceId'],
      properties: { type: { type: 'string' }, status: { type: 'integer' }, title: { type: 'string' }, detail: { type: 'string' }, traceId: { type: 'string' } },
    };
  }

  private validator(schema: object): ValidateFunction {
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.validators.set(schema, validate);
    }
    return validate;
  }
}
