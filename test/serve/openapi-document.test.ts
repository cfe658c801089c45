import { compileErrors, validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/serve/openapi/document.js';

/**
 * GET /openapi.json's document is valid OpenAPI 3.1 (checked by @readme/openapi-parser against the specification's
 * own schema, plus its checks of path parameters and duplicate names), and names nothing inside: its one server is
 * relative. test/serve/openapi-answers.e2e.test.ts checks the real answers against it.
 */
describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const document = openApiDocument();
    expect(document.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(document) as Parameters<typeof validate>[0]);
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(result.warnings).toEqual([]);
  });

  it('the validator is not a formality: a path parameter left undescribed is refused', async () => {
    const broken = structuredClone(openApiDocument()) as { paths: Record<string, { get: { parameters: { in: string }[] } }> };
    const route = broken.paths['/openexchangerates/api/historical/{date}.json']!.get;
    route.parameters = route.parameters.filter((parameter) => parameter.in !== 'path');
    const result = await validate(broken as unknown as Parameters<typeof validate>[0]);
    expect(result.valid).toBe(false);
    expect(compileErrors(result)).toMatch(/date/);
  });

  it('names no host, port or path of the machine: its server is "/"', () => {
    const text = JSON.stringify(openApiDocument());
    expect(openApiDocument().servers).toEqual([{ url: '/' }]);
    expect(text).not.toMatch(/127\.0\.0\.1|localhost|:\d{4,5}\b|\/home\/|\/tmp\/|\/work\/|postgres(ql)?:\/\//i);
  });

  it('refuses a family that defines a name another already has', () => {
    const family = { tags: [], paths: {}, schemas: { Same: {} } };
    expect(() => openApiDocument([family, family])).toThrow('openapi: schema Same is defined twice');
  });
});
