import { describe, expect, it } from 'vitest';
import { DuplicateValues, JsonSyntaxError, parseJsonExact } from '../../src/sources/json.js';
import { ExactNumber } from '../../src/sources/types.js';

const syntaxError = (text: string): JsonSyntaxError => {
  try {
    parseJsonExact(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    throw error;
  }
  throw new Error('parsed');
};

describe('parseJsonExact', () => {
  it('keeps every number as the exact text the payload wrote', () => {
    const value = parseJsonExact('{"a":1.10,"b":1e-9,"c":123456789012345678901234.5,"d":[0.1,-2],"e":"3.5","f":null}') as Record<
      string,
      unknown
    >;
    expect(value.a).toEqual(new ExactNumber('1.10'));
    expect(value.b).toEqual(new ExactNumber('1e-9'));
    expect((value.c as ExactNumber).text).toBe('123456789012345678901234.5');
    expect(value.d).toEqual([new ExactNumber('0.1'), new ExactNumber('-2')]);
    expect(value.e).toBe('3.5');
    expect(value.f).toBeNull();
  });

  it('keeps every occurrence of a key repeated with different values, in order', () => {
    const value = parseJsonExact('{"rates":{"EUR":0.9,"GBP":0.8,"EUR":0.91,"EUR":"x"}}') as { rates: Record<string, unknown> };
    expect(value.rates.GBP).toEqual(new ExactNumber('0.8'));
    expect(value.rates.EUR).toBeInstanceOf(DuplicateValues);
    expect((value.rates.EUR as DuplicateValues).occurrences).toEqual([new ExactNumber('0.9'), new ExactNumber('0.91'), 'x']);
  });

  it('collapses a key repeated with the same value', () => {
    expect(parseJsonExact('{"a":1.5,"a":1.5}')).toEqual({ a: new ExactNumber('1.5') });
  });

  it('reports truncated JSON with the byte where it ends', () => {
    const text = '{"rates":{"AED":3.6725,"ÄÄ":1';
    const error = syntaxError(text);
    expect(error.truncated).toBe(true);
    expect(error.message).toBe(`truncated JSON at byte ${Buffer.byteLength(text)}`);
    expect(syntaxError('{"a":').truncated).toBe(true);
  });

  it('reports invalid JSON with its position and a short reason', () => {
    const error = syntaxError('{"a":1}x');
    expect(error.truncated).toBe(false);
    expect(error.message).toBe("invalid JSON at byte 7: Expected end of input but got 'x'");
  });
});
