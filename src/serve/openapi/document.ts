/*
 * GET /openapi.json: the OpenAPI 3.1 description of everything `serve` answers but its dashboard and /metrics.
 *
 * To add a family: write src/serve/openapi/<family>.ts exporting an OpenApiFamily (shared.ts) — its tags, its paths
 * (every route, parameter, success and error answer, built with shared.ts's `responses`) and the schemas and security
 * schemes they name (schema names prefixed by the family: they share one namespace) — and list it in FAMILIES below.
 * test/serve/openapi-answers.e2e.test.ts then fails until it has a real request for each of the family's operations and
 * statuses, and until every route the app mounts is described.
 */
import { apiV1 } from './api-v1.js';
import { exchangerateApi } from './exchangerate-api.js';
import { fixer } from './fixer.js';
import { frankfurterV1 } from './frankfurter-v1.js';
import { frankfurterV2 } from './frankfurter-v2.js';
import { oxr } from './oxr.js';
import { service } from './service.js';
import { HEADERS, SECURITY_SCHEMES, type Json, type OpenApiFamily } from './shared.js';

const FAMILIES: OpenApiFamily[] = [service, apiV1, frankfurterV1, frankfurterV2, oxr, exchangerateApi, fixer];

const DESCRIPTION = `fxpipe's own JSON API (/api/v1) and the providers' formats it stands in for (docs/backup.md), each with its own
answers and errors. Numbers the providers write as JSON numbers are written with the exact digits stored or computed,
never through a float. When FXPIPE_API_TOKEN is set, every route but /healthz, /openapi.json and OXR's currencies.json
needs it, where each provider carries its key; without it every route is open. Every error answer is \`no-store\`; a 503
means the database cannot answer. Fixer's errors are HTTP 200, as Fixer sends them.`;

/** Every family's paths, schemas and security schemes in one document; a name two families both define is a mistake. */
export function openApiDocument(families: OpenApiFamily[] = FAMILIES): Json {
  const paths: Record<string, Json> = {};
  const schemas: Record<string, Json> = {};
  const securitySchemes: Record<string, Json> = { ...SECURITY_SCHEMES };
  const merge = (into: Record<string, Json>, from: Record<string, Json>, what: string) => {
    for (const [name, value] of Object.entries(from)) {
      if (name in into) throw new Error(`openapi: ${what} ${name} is defined twice`);
      into[name] = value;
    }
  };
  for (const family of families) {
    merge(paths, family.paths, 'path');
    merge(schemas, family.schemas, 'schema');
    merge(securitySchemes, family.securitySchemes ?? {}, 'security scheme');
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'fxpipe serve',
      version: '1',
      description: DESCRIPTION.replace(/\n/g, ' '),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    tags: families.flatMap((f) => f.tags),
    paths,
    components: { schemas, headers: HEADERS, securitySchemes },
  };
}
