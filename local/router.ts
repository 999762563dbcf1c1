import type { HttpMethod } from '@azure/functions';
import { servedMethods, type HttpRouteDeclaration } from '../shared/kernel/routes';

interface CompiledRoute {
  declaration: HttpRouteDeclaration;
  methods: HttpMethod[];
  pattern: RegExp;
  parameterNames: string[];
  literalSegments: number;
}

export type RouteMatch =
  | { kind: 'found'; declaration: HttpRouteDeclaration; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

function compile(declaration: HttpRouteDeclaration): CompiledRoute {
  const parameterNames: string[] = [];
  const segments = declaration.route.split('/');
  const source = segments
    .map((segment) => {
      const parameter = /^\{(\w+)(?::[^}]*)?\}$/.exec(segment);
      if (!parameter) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      parameterNames.push(parameter[1]);
      return '([^/]+)';
    })
    .join('/');
  return {
    declaration,
    methods: servedMethods(declaration),
    pattern: new RegExp(`^${source}$`, 'i'),
    parameterNames,
    literalSegments: segments.length - parameterNames.length,
  };
}

/**
 * Matches paths to declarations as the Functions host does: literal segments win over
 * parameters (`pharmacies/nearby` before `pharmacies/{id}`).
 */
export class Router {
  private readonly routes: CompiledRoute[];

  constructor(declarations: HttpRouteDeclaration[]) {
    this.routes = declarations.map(compile).sort((a, b) => b.literalSegments - a.literalSegments);
  }

  match(method: string, path: string): RouteMatch {
    let allow: Set<string> | undefined;
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      if (!route.methods.includes(method as HttpMethod)) {
        allow ??= new Set();
        for (const m of route.methods) allow.add(m);
        continue;
      }
      let params: Record<string, string>;
      try {
        params = Object.fromEntries(route.parameterNames.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
      } catch {
        return { kind: 'not-found' };
      }
      return { kind: 'found', declaration: route.declaration, params };
    }
    return allow ? { kind: 'method-not-allowed', allow: [...allow] } : { kind: 'not-found' };
  }
}
