/** A source failed: unreachable, an error reported by the provider, or a payload not in its format. */
export class SourceError extends Error {
  constructor(
    readonly source: string,
    message: string,
    readonly kind: 'network' | 'http' | 'provider' | 'format' | 'circuit-open' | 'config',
    options: { cause?: unknown } = {},
  ) {
    super(`${source}: ${message}`, options);
    this.name = 'SourceError';
  }
}
