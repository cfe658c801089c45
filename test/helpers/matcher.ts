import { expect } from 'vitest';

/**
 * vitest's asymmetric matchers, typed `unknown`. vitest types `expect.stringMatching()`, `expect.any()` and the others as
 * `any`, which the lint's no-unsafe-* rules refuse as a property of an expected object (`toMatchObject({ error:
 * expect.stringMatching(…) })`); these are the same matchers, and what each stands for is the equality check's to decide.
 */
export const matcher = {
  stringMatching: (pattern: string | RegExp): unknown => expect.stringMatching(pattern),
  stringContaining: (text: string): unknown => expect.stringContaining(text),
  any: (type: unknown): unknown => expect.any(type),
  arrayContaining: (items: unknown[]): unknown => expect.arrayContaining(items),
};
