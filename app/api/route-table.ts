import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { ApiError } from '../../schemas/api.js';
import type { ApiEnv } from './context.js';
import { HttpError } from './errors.js';
import { currentUser, requirePermission, type Permission } from './auth.js';

/**
 * One declaration per route: method, path, who may call it, request and response schemas. The same
 * table registers the Hono handlers (with zod validation in and out) and generates the OpenAPI 3.1
 * document, so the two cannot drift apart.
 */
export interface RouteSpec<B extends z.ZodType | undefined = z.ZodType | undefined, Q extends z.ZodType | undefined = z.ZodType | undefined> {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Hono path, e.g. `/api/cases/:caseId`. */
  path: string;
  summary: string;
  tag: string;
  /** Permission needed; `public` needs no sign-in, `signed-in` any user. */
  access: Permission | 'public' | 'signed-in';
  body?: B;
  query?: Q;
  /** JSON response schema; absent for binary and event-stream responses. */
  response?: z.ZodType;
  status?: ContentfulStatusCode;
  /** Non-JSON responses, for the OpenAPI document. */
  produces?: 'application/zip' | 'application/octet-stream' | 'text/event-stream';
  /** Non-JSON request bodies, for the OpenAPI document. */
  consumes?: 'application/zip';
  /** Extra error statuses this route answers, beyond 401/403/400. */
  errors?: number[];
  /** Request body limit of this route, in bytes, when not the global one (enforced by body-limit.ts). */
  maxBodyBytes?: number;
}

type Infer<T> = T extends z.ZodType ? z.infer<T> : undefined;
export type Handler<B, Q> = (c: Context<ApiEnv>, input: { body: B; query: Q }) => Promise<Response | unknown>;

export class RouteTable {
  readonly routes: RouteSpec[] = [];
  private readonly limits: Array<{ method: string; pattern: RegExp; bytes: number }> = [];
  constructor(
    private readonly app: Hono<ApiEnv>,
    private readonly maxBodyBytes: number,
  ) {}

  /** Body limit for a request: the route's own, or the global one. */
  bodyLimitFor(method: string, path: string): number {
    return this.limits.find((l) => l.method === method && l.pattern.test(path))?.bytes ?? this.maxBodyBytes;
  }

  def<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined>(spec: RouteSpec<B, Q>, handler: Handler<Infer<B>, Infer<Q>>): void {
    this.routes.push(spec as RouteSpec);
    if (spec.maxBodyBytes !== undefined) {
      const pattern = new RegExp(`^${spec.path.split(/:[A-Za-z0-9_]+(?:\{[^}]*\})?/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+')}$`);
      this.limits.push({ method: spec.method.toUpperCase(), pattern, bytes: spec.maxBodyBytes });
    }
    this.app.on(spec.method.toUpperCase(), spec.path, async (c) => {
      // Who may call it is checked before the input: 401/403 never depend on what was sent.
      if (spec.access === 'signed-in') currentUser(c);
      else if (spec.access !== 'public') requirePermission(c, spec.access);
      const body = spec.body ? await this.readJson(c, spec.body) : undefined;
      const query = spec.query ? parseOrThrow(spec.query, c.req.query(), 'query') : undefined;
      const out = await handler(c, { body: body as Infer<B>, query: query as Infer<Q> });
      if (out instanceof Response) return out;
      if (!spec.response) throw new Error(`route ${spec.method} ${spec.path} returned data without a response schema`);
      // Response validation: a body that does not match its schema is our bug, never sent.
      const checked = spec.response.safeParse(out);
      if (!checked.success) throw new Error(`response of ${spec.method} ${spec.path} does not match its schema: ${checked.error.message}`);
      return c.json(checked.data as object, spec.status ?? 200);
    });
  }

  private async readJson(c: Context<ApiEnv>, schema: z.ZodType): Promise<unknown> {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    // Bounded: the body-limit middleware fails the read past this route's limit.
    const text = await c.req.text();
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'INVALID_INPUT', 'body is not valid JSON');
    }
    return parseOrThrow(schema, raw, 'body');
  }
}

function parseOrThrow(schema: z.ZodType, value: unknown, where: string): unknown {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, 'INVALID_INPUT', r.error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`).join('; '));
  return r.data;
}

const toJsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

/** OpenAPI 3.1 document generated from the route table and the zod schemas. */
export function openApiDocument(routes: RouteSpec[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } } });
  for (const r of routes) {
    const oaPath = r.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
    const params = [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (r.query) {
      const q = toJsonSchema(r.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) params.push({ name, in: 'query', required: (q.required ?? []).includes(name), schema } as never);
    }
    const responses: Record<string, unknown> = {};
    const ok = String(r.status ?? 200);
    if (r.response) responses[ok] = { description: 'OK', content: { 'application/json': { schema: toJsonSchema(r.response, 'output') } } };
    else if (r.produces) responses[ok] = { description: 'OK', content: { [r.produces]: { schema: r.produces === 'text/event-stream' ? { type: 'string' } : { type: 'string', format: 'binary' } } } };
    responses['400'] = errorResponse('invalid input');
    if (r.body || r.consumes) responses['413'] = errorResponse('request body too large');
    if (r.access !== 'public') {
      responses['401'] = errorResponse('not signed in');
      responses['403'] = errorResponse('the role may not do this, or the CSRF token is missing');
    }
    for (const s of r.errors ?? []) responses[String(s)] = errorResponse(s === 404 ? 'not found, or not a member of the case' : s === 409 ? 'integrity failure' : s === 413 ? 'request body too large' : s === 429 ? 'too many attempts; retry after the Retry-After delay' : 'error');
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method}${oaPath.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, ch: string | undefined) => (ch ? ch.toUpperCase() : ''))}`,
      'x-exhibit-access': r.access,
      parameters: params,
      responses,
      ...(r.access === 'public' ? { security: [] } : {}),
    };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: toJsonSchema(r.body, 'input') } } };
    else if (r.consumes) op.requestBody = { required: true, content: { [r.consumes]: { schema: { type: 'string', format: 'binary' } } } };
    (paths[oaPath] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Exhibit API', version: info.version, description: 'Court-grade capture of web pages and social-media posts. Every read of evidence is recorded on the case custody log.' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    components: {
      schemas: { ApiError: toJsonSchema(ApiError, 'output') },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'API token from `exhibit users token <name>` or POST /api/users/{name}/tokens' },
        session: { type: 'apiKey', in: 'cookie', name: 'exhibit_session', description: 'web session; state-changing requests also need the X-CSRF-Token header' },
      },
    },
    security: [{ bearer: [] }, { session: [] }],
    paths,
  };
}
