/** The building blocks every family's part of /openapi.json uses (document.ts assembles them). */

export type Json = Record<string, unknown>;

/** What one family adds to the document: its tags, its paths and the schemas (and security schemes) they name. */
export interface OpenApiFamily {
  tags: { name: string; description: string }[];
  paths: Record<string, Json>;
  schemas: Record<string, Json>;
  securitySchemes?: Record<string, Json>;
}

export const ref = (schema: string): Json => ({ $ref: `#/components/schemas/${schema}` });
const header = (name: string): Json => ({ $ref: `#/components/headers/${name}` });

export const CODE: Json = { type: 'string', pattern: '^[A-Z]{3}$', description: 'An ISO 4217 currency code' };
/** A code as a request gives it: any case, as every family upper-cases it. */
export const CODE_ASKED: Json = { type: 'string', pattern: '^[A-Za-z]{3}$', examples: ['USD'] };
export const DAY: Json = { type: 'string', format: 'date', pattern: '^\\d{4}-\\d{2}-\\d{2}$' };
export const INSTANT: Json = { type: 'string', format: 'date-time' };
export const nullable = (schema: Json): Json => ({ anyOf: [schema, { type: 'null' }] });
/** Rates written as JSON numbers with the exact digits the warehouse holds (never through a float). */
export const RATES: Json = {
  type: 'object',
  propertyNames: { pattern: '^[A-Z]{3}$' },
  additionalProperties: { type: 'number' },
  description: 'Currency code → rate, a JSON number written with the exact stored or computed digits',
};
/** An object of exactly these properties, all of them required unless listed as optional. */
export function object(properties: Record<string, Json>, optional: string[] = []): Json {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties).filter((p) => !optional.includes(p)),
    additionalProperties: false,
  };
}

export const query = (name: string, schema: Json, description?: string, required = false): Json => ({
  name,
  in: 'query',
  required,
  schema,
  ...(description ? { description } : {}),
});
export const path = (name: string, schema: Json, description?: string): Json => ({
  name,
  in: 'path',
  required: true,
  schema,
  ...(description ? { description } : {}),
});

export interface Answers {
  /**
   * The 200's media type and schema, and whether it is a latest answer (kept per data version, X-Fxpipe-* headers);
   * `others`: more media types it answers in (by `Accept` or a parameter), `Vary: Accept` then; `refusals`: the family's
   * errors answered with the same 200 (Fixer's), a body then one of the two, and the latest headers only on a success.
   */
  ok: { schema: Json; description: string; type?: string; latest?: boolean; others?: Record<string, Json>; refusals?: Json };
  /** Error statuses: a description and the schema of the family's error; a 503 says Retry-After unless retryAfter is false. */
  errors: Record<number, { schema: Json; description: string; type?: string; retryAfter?: boolean }>;
  /** A GET: its 200 carries an ETag, and a matching If-None-Match (or If-Modified-Since) answers 304. Default true. */
  revalidates?: boolean;
}

/** An operation's responses: 200 with its caching headers, 304 with none of a body, then its family's errors. */
export function responses(answers: Answers): Json {
  const { ok, errors } = answers;
  const revalidates = answers.revalidates !== false;
  const okHeaders: Json = revalidates ? { 'Cache-Control': header('CacheControl'), ETag: header('ETag') } : {};
  // A refusal answered 200 carries none of a latest answer's headers: their own copies, not required.
  const latestHeader = (name: string) => (ok.refusals ? { ...HEADERS[name], required: false } : header(name));
  if (ok.latest)
    Object.assign(okHeaders, {
      'Last-Modified': latestHeader('LastModified'),
      'X-Fxpipe-As-Of': latestHeader('AsOf'),
      'X-Fxpipe-Served-From': latestHeader('ServedFrom'),
    });
  if (ok.others) okHeaders.Vary = header('VaryAccept');
  const schema = ok.refusals ? { oneOf: [ok.schema, ok.refusals] } : ok.schema;
  const content: Json = { [ok.type ?? 'application/json']: { schema } };
  for (const [type, other] of Object.entries(ok.others ?? {})) content[type] = { schema: other };
  const out: Json = { 200: { description: ok.description, headers: okHeaders, content } };
  if (revalidates) {
    out[304] = {
      description: 'Not Modified: the If-None-Match (or If-Modified-Since) matched the answer (RFC 9110 §15.4.5); no body',
      headers: { ETag: header('ETag') },
    };
  }
  for (const [status, error] of Object.entries(errors)) {
    const headers: Json = { 'Cache-Control': header('NoStore') };
    if (status === '503' && error.retryAfter !== false) headers['Retry-After'] = header('RetryAfter');
    out[status] = { description: error.description, headers, content: { [error.type ?? 'application/json']: { schema: error.schema } } };
  }
  return out;
}

/** The headers the answers carry (components.headers). */
export const HEADERS: Record<string, Json> = {
  CacheControl: {
    description: 'How long a cache may keep the answer (docs/backup.md, "Caching")',
    required: true,
    schema: { type: 'string' },
  },
  NoStore: { description: 'Errors are never cached', required: true, schema: { type: 'string', const: 'no-store' } },
  ETag: {
    description: 'A strong validator of the answer: send it back as If-None-Match for a 304',
    required: true,
    schema: { type: 'string' },
  },
  LastModified: { description: 'The newest publication the answer holds', required: true, schema: { type: 'string' } },
  AsOf: { description: 'The newest publication the answer holds (ISO 8601)', required: true, schema: INSTANT },
  ServedFrom: {
    description: '`database`, or `last-good` while the database cannot answer and a kept answer still in force stands in',
    required: true,
    schema: { type: 'string', enum: ['database', 'last-good'] },
  },
  RetryAfter: { description: 'Seconds to wait before asking again', required: true, schema: { type: 'string', pattern: '^\\d+$' } },
  VaryAccept: {
    description: "The answer's media type follows Accept: a cache keeps one per Accept",
    required: true,
    schema: { type: 'string', pattern: '(^|,)\\s*Accept\\s*(,|$)' },
  },
};

/** Where the token goes when FXPIPE_API_TOKEN is set (components.securitySchemes); without one every route is open. */
export const SECURITY_SCHEMES: Record<string, Json> = {
  bearerToken: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <FXPIPE_API_TOKEN>' },
  tokenCookie: { type: 'apiKey', in: 'cookie', name: 'fxpipe_token', description: "The dashboard's cookie, set by POST /login" },
  tokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: '?token=<FXPIPE_API_TOKEN>' },
};

/** `{}` last: the requirement is optional, as it is when no token is set. */
export const securedBy = (...schemes: string[]): Json[] => [...schemes.map((s) => ({ [s]: [] })), {}];
export const OPEN: Json[] = [];

/** A family's GET operation: its tag and security, and the errors every one of its operations answers (401, 503). */
export interface Operation {
  tag: string;
  summary: string;
  description?: string;
  /** Absent: the document's default; OPEN: none. */
  security?: Json[];
  parameters: Json[];
  answers: Answers;
  /** Errors the family adds to every operation, after the operation's own. */
  always?: Answers['errors'];
}

export function getOperation(o: Operation): Json {
  return {
    get: {
      tags: [o.tag],
      summary: o.summary,
      ...(o.description ? { description: o.description } : {}),
      ...(o.security ? { security: o.security } : {}),
      parameters: o.parameters,
      responses: responses({ ...o.answers, errors: { ...o.answers.errors, ...o.always } }),
    },
  };
}
