import { parse, type DuplicateKeyInfo } from 'lossless-json';
import { ExactNumber } from './types.js';

/**
 * Stands in for an object key that a payload repeats with different values: every occurrence, in
 * published order. Repeats with an identical value are collapsed by the parser.
 */
export class DuplicateValues {
  constructor(readonly occurrences: unknown[]) {}
}

/** JSON that could not be parsed: cut short, or broken at a given byte. */
export class JsonSyntaxError extends Error {
  constructor(
    readonly reason: string,
    /** Byte offset into the UTF-8 text where parsing stopped. */
    readonly byte: number,
    readonly truncated: boolean,
  ) {
    super(truncated ? `truncated JSON at byte ${byte}` : `invalid JSON at byte ${byte}: ${reason}`);
    this.name = 'JsonSyntaxError';
  }
}

/**
 * Parses JSON keeping every number as an ExactNumber of its source text. A key repeated with
 * different values holds a DuplicateValues instead of failing the whole payload or keeping one.
 */
export function parseJsonExact(text: string): unknown {
  try {
    return parse(text, null, { parseNumber: (token) => new ExactNumber(token), onDuplicateKey: collectDuplicate });
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw toJsonSyntaxError(text, error.message);
  }
}

function collectDuplicate({ oldValue, newValue }: DuplicateKeyInfo): DuplicateValues {
  if (oldValue instanceof DuplicateValues) return new DuplicateValues([...oldValue.occurrences, newValue]);
  return new DuplicateValues([oldValue, newValue]);
}

function toJsonSyntaxError(text: string, message: string): JsonSyntaxError {
  const match = /\s*at position (\d+)\s*$/.exec(message);
  if (!match) return new JsonSyntaxError(message, 0, false);
  const position = Number(match[1]);
  const truncated = position >= text.trimEnd().length;
  return new JsonSyntaxError(message.slice(0, match.index), Buffer.byteLength(text.slice(0, position)), truncated);
}
