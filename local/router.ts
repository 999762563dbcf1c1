import type { HttpMethod } from '@azure/functions';
import { servedMethods, type HttpRouteDeclaration } from '../shared/kernel/routes';

interface CompiledRoute {
  declaration: HttpRouteDeclaration;
  methods: HttpMethod[];
  pattern: RegExp;
  parameterNames: string[];
  literalSegments: number;
  /** The first segment in lower case when it is literal (patterns ignore case), undefined when it is a parameter. */
  firstSegment: string | undefined;
}

export type RouteMatch =
  | { kind: 'found'; declaration: HttpRouteDeclaration; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

const PARAMETER = /^\{(\w+)(?::[^}]*)?\}$/;

function compile(declaration: HttpRouteDeclaration): CompiledRoute {
  const parameterNames: string[] = [];
  const segments = declaration.route.split('/');
  const source = segments
    .map((segment) => {
      const parameter = PARAMETER.exec(segment);
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
    firstSegment: PARAMETER.test(segments[0]) ? undefined : segments[0].toLowerCase(),
  };
}

/**
 * Matches paths to declarations as the Functions host does: literal segments win over
 * parameters (`pharmacies/nearby` before `pharmacies/{id}`).
 */
export class Router {
  /**
   * The routes a path may match, by the path's first segment in lower case, in matching order:
   * those whose first segment is that one, and those whose first is a parameter (the only
   * routes for any other first segment). A path is tried against a few patterns, not all.
   */
  private readonly byFirstSegment = new Map<string, CompiledRoute[]>();
  private readonly anyFirstSegment: CompiledRoute[];

  constructor(declarations: HttpRouteDeclaration[]) {
    const routes = declarations.map(compile).sort((a, b) => b.literalSegments - a.literalSegments);
    this.anyFirstSegment = routes.filter((route) => route.firstSegment === undefined);
    for (const { firstSegment } of routes) {
      if (firstSegment === undefined || this.byFirstSegment.has(firstSegment)) continue;
      this.byFirstSegment.set(firstSegment, routes.filter((route) => route.firstSegment === firstSegment || route.firstSegment === undefined));
    }
  }

  match(method: string, path: string): RouteMatch {
    const slash = path.indexOf('/');
    const first = (slash === -1 ? path : path.slice(0, slash)).toLowerCase();
    let allow: Set<string> | undefined;
    for (const route of this.byFirstSegment.get(first) ?? this.anyFirstSegment) {
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
