/**
 * The values of streamed JSON text, each handed over as its own text for parseJsonExact: the elements of one
 * top-level array, as the text arrives. Nothing is parsed here but the array's own brackets and commas, and
 * strings (a comma or bracket inside one is text). lossless-json parses each element: it recurses, and holds a
 * whole document in memory, so an element deeper than MAX_DEPTH or longer than MAX_VALUE_CHARS is refused here,
 * before it is parsed; a production row is a flat object of a few short fields.
 */

/** How deep an element may nest: a row is one object, its fields strings or numbers; room for a few nested extras. */
export const MAX_DEPTH = 32;
/** The longest element or JSON line: a row is well under a hundred characters. */
export const MAX_VALUE_CHARS = 65_536;

/** Where a value's text breaks the limits, or the array around it is malformed: `problem` says which. */
export class JsonValueError extends Error {
  constructor(
    /** The value it happened in, from 1 (0: before the first, or after the array). */
    readonly index: number,
    readonly problem: string,
  ) {
    super(problem);
    this.name = 'JsonValueError';
  }
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/** The depth a value's text reaches outside its strings; stops counting past the limit. */
export function exceedsDepth(text: string, limit = MAX_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (++depth > limit) return true;
    } else if (c === '}' || c === ']') depth--;
  }
  return false;
}

/**
 * Splits a JSON array arriving in chunks into the text of each element. push() returns the elements a chunk
 * completes; end() checks the array was closed. Throws JsonValueError for a malformed array, or an element past
 * the limits.
 */
export class JsonArraySplitter {
  /** open: before '['; first: before the first element or ']'; next: after a comma; value: inside an element. */
  #phase: 'open' | 'first' | 'next' | 'value' | 'closed' = 'open';
  #parts: string[] = [];
  #length = 0;
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** Elements begun so far: the current one's position, from 1. */
  #count = 0;

  push(chunk: string): string[] {
    const done: string[] = [];
    let begin = 0;
    const keep = (end: number) => {
      this.#parts.push(chunk.slice(begin, end));
      this.#length += end - begin;
      if (this.#length > MAX_VALUE_CHARS) throw new JsonValueError(this.#count, `longer than ${MAX_VALUE_CHARS} characters`);
    };
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.#phase !== 'value') {
        if (WHITESPACE.has(c)) continue;
        if (this.#phase === 'open' && c === '[') this.#phase = 'first';
        else if (this.#phase === 'first' && c === ']') this.#phase = 'closed';
        else if (this.#phase === 'first' || this.#phase === 'next') {
          this.#phase = 'value';
          this.#count++;
          begin = i;
        } else {
          const where = this.#phase === 'closed' ? ' after the array' : ': expected a JSON array';
          throw new JsonValueError(this.#phase === 'closed' ? 0 : this.#count, `not JSON: unexpected ${JSON.stringify(c)}${where}`);
        }
        if (this.#phase !== 'value') continue;
      }
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === '\\') this.#escaped = true;
        else if (c === '"') this.#inString = false;
      } else if (c === '"') this.#inString = true;
      else if (c === '{' || c === '[') {
        if (++this.#depth > MAX_DEPTH) throw new JsonValueError(this.#count, `nested deeper than ${MAX_DEPTH} levels`);
      } else if ((c === '}' || c === ']') && this.#depth > 0) this.#depth--;
      else if ((c === ',' || c === ']') && this.#depth === 0) {
        keep(i);
        const text = this.#parts.join('').trim();
        if (text === '') throw new JsonValueError(this.#count, 'not JSON: a value is missing');
        done.push(text);
        this.#parts = [];
        this.#length = 0;
        this.#phase = c === ',' ? 'next' : 'closed';
      }
    }
    if (this.#phase === 'value') keep(chunk.length);
    return done;
  }

  end(): void {
    if (this.#phase !== 'closed') throw new JsonValueError(this.#count, 'not JSON: the array is not closed');
  }
}
