import { object, OPEN, ref, responses, type OpenApiFamily } from './shared.js';

/** /healthz (src/serve/health.ts) and this document itself: neither needs the token. */

const TAG = 'service';

export const service: OpenApiFamily = {
  tags: [{ name: TAG, description: "The instance's health, and this description" }],
  paths: {
    '/healthz': {
      get: {
        tags: [TAG],
        summary: 'Whether this instance answers, and how fresh the sources are',
        security: OPEN,
        description: 'For a load balancer (200 while it answers) and for alerting (`status`). Never cached.',
        responses: responses({
          ok: { schema: ref('Health'), description: '`ok`, `stale` (the database answers) or `degraded` (the last good answers stand in)' },
          errors: { 503: { schema: ref('Health'), description: '`down`: nothing to answer with', retryAfter: false } },
        }),
      },
    },
    '/openapi.json': {
      get: {
        tags: [TAG],
        summary: 'This description (OpenAPI 3.1)',
        security: OPEN,
        responses: responses({
          ok: {
            schema: {
              type: 'object',
              required: ['openapi', 'info', 'paths'],
              properties: { openapi: { const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } },
            },
            description: 'The document',
          },
          errors: {},
        }),
      },
    },
  },
  schemas: {
    Health: object({
      status: { type: 'string', enum: ['ok', 'stale', 'degraded', 'down'] },
      serving: { type: 'string', enum: ['database', 'last-good', 'none'] },
      database: { type: 'string', enum: ['reachable', 'unreachable'] },
      freshness: { type: 'array', items: ref('SourceFreshness') },
    }),
  },
};
