/**
 * A small typed router for kmd's HTTP API. Routes are registered by the modules that own
 * them (`registerSandboxRoutes(router, services)`), path parameters are typed from the
 * pattern (`/v1/sandboxes/:id` gives `params.id: string`), and handlers return a JSON
 * value (status 200) or a `reply(status, body)`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { KmError } from '../core/errors.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const METHODS: ReadonlySet<string> = new Set<Method>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** `'/v1/a/:id/b/:name'` → `'id' | 'name'`. */
export type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

export type PathParams<P extends string> = { readonly [K in ParamNames<P>]: string };

export interface RouteRequest<Params = Record<string, string>> {
  readonly method: Method;
  readonly path: string;
  readonly params: Params;
  readonly query: URLSearchParams;
  /** The parsed JSON body, or undefined when the request had none. */
  readonly body: unknown;
  /** Aborted when the client disconnects or the daemon shuts down. */
  readonly signal: AbortSignal;
  /** For streaming handlers: write to `raw.res` yourself and return nothing. */
  readonly raw: { req: IncomingMessage; res: ServerResponse };
}

export interface Reply {
  readonly kind: 'reply';
  readonly status: number;
  readonly body: unknown;
}

export const reply = (status: number, body: unknown): Reply => ({ kind: 'reply', status, body });

export const isReply = (v: unknown): v is Reply =>
  typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'reply' && typeof (v as Reply).status === 'number';

export type RouteHandler<Params = Record<string, string>> = (req: RouteRequest<Params>) => unknown;

interface Route {
  method: Method;
  pattern: string;
  segments: readonly string[];
  handler: RouteHandler<Record<string, string>>;
}

export interface RouteMatch {
  handler: RouteHandler<Record<string, string>>;
  params: Record<string, string>;
  pattern: string;
}

/**
 * A session on a connection taken over after `101 Switching Protocols` (`GET <path>` with an
 * `Upgrade` header): `head` holds the bytes the client sent after its request headers.
 */
export interface UpgradeSession {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
}

export type UpgradeHandler = (session: UpgradeSession) => void | Promise<void>;

export interface Router {
  add<P extends string>(method: Method, pattern: P, handler: RouteHandler<PathParams<P>>): void;
  /** Registers the handler of upgraded connections to `path` (an exact path, no parameters). */
  upgrade(path: string, handler: UpgradeHandler): void;
  upgradeFor(path: string): UpgradeHandler | undefined;
  /** Finds the route for a request; throws KmError not_found / usage (405) when none fits. */
  match(method: string, path: string): RouteMatch;
  /** Registered routes as `METHOD pattern`, for diagnostics and tests. */
  list(): string[];
}

const splitPath = (path: string): string[] => path.split('/').filter((s) => s !== '');

function validatePattern(pattern: string): string[] {
  if (!pattern.startsWith('/')) throw new Error(`route pattern must start with "/": ${pattern}`);
  const segments = splitPath(pattern);
  const names = new Set<string>();
  for (const s of segments) {
    if (!s.startsWith(':')) continue;
    const name = s.slice(1);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad parameter name "${s}" in ${pattern}`);
    if (names.has(name)) throw new Error(`duplicate parameter "${s}" in ${pattern}`);
    names.add(name);
  }
  return segments;
}

function matchSegments(segments: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as string;
    const part = parts[i] as string;
    if (seg.startsWith(':')) {
      let value: string;
      try {
        value = decodeURIComponent(part);
      } catch {
        return undefined;
      }
      params[seg.slice(1)] = value;
    } else if (seg !== part) {
      return undefined;
    }
  }
  return params;
}

/** Literal segments outrank parameters, so `/v1/sandboxes/count` wins over `/v1/sandboxes/:id`. */
const specificity = (segments: readonly string[]): string => segments.map((s) => (s.startsWith(':') ? '0' : '1')).join('');

export function createRouter(): Router {
  const routes: Route[] = [];
  const upgrades = new Map<string, UpgradeHandler>();
  return {
    upgrade(path, handler) {
      validatePattern(path);
      if (upgrades.has(path)) throw new Error(`upgrade route ${path} is already registered`);
      upgrades.set(path, handler);
    },
    upgradeFor: (path) => upgrades.get(path),
    add(method, pattern, handler) {
      if (!METHODS.has(method)) throw new Error(`unsupported method ${method}`);
      const segments = validatePattern(pattern);
      const key = segments.map((s) => (s.startsWith(':') ? ':' : s)).join('/');
      for (const r of routes) {
        if (r.method === method && r.segments.map((s) => (s.startsWith(':') ? ':' : s)).join('/') === key) {
          throw new Error(`route ${method} ${pattern} conflicts with ${r.method} ${r.pattern}`);
        }
      }
      routes.push({ method, pattern, segments, handler: handler as RouteHandler<Record<string, string>> });
      routes.sort((a, b) => specificity(b.segments).localeCompare(specificity(a.segments)));
    },
    match(method, path) {
      const parts = splitPath(path);
      const allowed: string[] = [];
      for (const r of routes) {
        const params = matchSegments(r.segments, parts);
        if (!params) continue;
        if (r.method === method) return { handler: r.handler, params, pattern: r.pattern };
        allowed.push(r.method);
      }
      if (allowed.length > 0) {
        throw new KmError('usage', `method ${method} is not allowed on ${path}`, {
          hint: `use ${[...new Set(allowed)].join(' or ')}`,
          details: { http_status: 405 },
        });
      }
      throw new KmError('not_found', `no such endpoint: ${method} ${path}`, {
        hint: 'the CLI and kmd may be different versions; run `km daemon stop` and retry',
      });
    },
    list: () => routes.map((r) => `${r.method} ${r.pattern}`),
  };
}
