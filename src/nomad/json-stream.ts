// A JSON array of objects read as it arrives, each element parsed and mapped on
// its own: neither the whole text nor every full element is ever held at once.
// The list of a deployment's allocations is megabytes with thousands of them,
// on every change; this keeps the gate's memory to what it keeps.

import { invalidJsonError, type NomadError } from './errors.js'

/** Takes an answer's text chunk by chunk and gives its value at the end. */
export interface BodyReader<T> {
  feed(chunk: string, method?: string, path?: string): void
  /** The value; throws a NomadError when the text was not complete. */
  end(method?: string, path?: string): T
}

export class ArrayStream<U> implements BodyReader<U[]> {
  private readonly out: U[] = []
  /** The text of the element being read, from its `{`. */
  private element = ''
  private depth = 0
  private inString = false
  private escaped = false
  private closed = false

  constructor(private readonly each: (element: never) => U) {}

  feed(chunk: string, method = 'GET', path = ''): void {
    try {
      this.scan(chunk)
    } catch (err) {
      throw malformed(method, path, err)
    }
  }

  /** The mapped elements; throws when the array did not end. */
  end(method = 'GET', path = ''): U[] {
    if (!this.closed) throw malformed(method, path, new SyntaxError('the array is not complete'))
    return this.out
  }

  private scan(chunk: string): void {
    let start = this.depth >= 2 ? 0 : -1
    for (let i = 0; i < chunk.length; i++) {
      if (this.inString) {
        i = this.skipString(chunk, i)
        continue
      }
      const c = chunk.charCodeAt(i)
      if (c <= 0x20) {
        // whitespace
      } else if (this.closed) {
        throw new SyntaxError('text after the array')
      } else if (this.depth === 0) {
        if (c !== 0x5b) throw new SyntaxError('not an array')
        this.depth = 1
      } else if (c === 0x7b || c === 0x5b) {
        if (this.depth === 1) {
          if (c !== 0x7b) throw new SyntaxError('an element that is not an object')
          start = i
        }
        this.depth++
      } else if (c === 0x7d || c === 0x5d) {
        this.depth--
        if (this.depth === 1) {
          this.element += chunk.slice(start, i + 1)
          this.out.push(this.each(JSON.parse(this.element) as never))
          this.element = ''
          start = -1
        } else if (this.depth === 0) {
          if (c !== 0x5d) throw new SyntaxError('unbalanced brackets')
          this.closed = true
        }
      } else if (this.depth === 1) {
        if (c !== 0x2c) throw new SyntaxError('an element that is not an object')
      } else if (c === 0x22) {
        this.inString = true
      }
    }
    if (start >= 0) this.element += chunk.slice(start)
  }

  /** From `i` inside a string: the index of its closing quote, or the chunk's last index. */
  private skipString(chunk: string, i: number): number {
    if (this.escaped) {
      this.escaped = false
      i++
    }
    for (let from = i; ;) {
      const q = chunk.indexOf('"', from)
      // Backslashes just before the quote (or the chunk's end): an odd run escapes it.
      const end = q < 0 ? chunk.length : q
      let run = 0
      while (end - 1 - run >= i && chunk.charCodeAt(end - 1 - run) === 0x5c) run++
      if (q < 0) {
        this.escaped = run % 2 === 1
        return chunk.length - 1
      }
      if (run % 2 === 0) {
        this.inString = false
        return q
      }
      from = q + 1
    }
  }
}

function malformed(method: string, path: string, err: unknown): NomadError {
  return invalidJsonError(method, path, err instanceof Error ? err.message : String(err))
}
