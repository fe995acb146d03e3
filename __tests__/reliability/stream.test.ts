// The allocation list is read as it arrives (src/nomad/json-stream.ts ArrayStream):
// whatever the chunking, the same elements as JSON.parse, and a malformed or
// cut answer is an error, never a short list.

import { describe, expect, it } from 'vitest'
import { ArrayStream } from '../../src/nomad/json-stream.js'
import { NomadError } from '../../src/nomad/errors.js'

const TEXT = JSON.stringify([
  { ID: 'a', TaskStates: { web: { Events: [{ M: 'x ] } { "' }, { M: '\\' }] } } },
  { ID: 'b', Name: 'quote " and brace }', Nested: [[1, 2], { k: [] }] },
  { ID: 'c', Unicode: 'é ✓ \u2028', Empty: {} },
  { ID: 'd', Escapes: 'a\\"b\\\\', More: '\\', Tail: '"\\' },
])

function read(chunks: string[]): unknown[] {
  const s = new ArrayStream((e: { ID: string }) => e)
  for (const c of chunks) s.feed(c)
  return s.end()
}

describe('ArrayStream', () => {
  it('gives what JSON.parse gives, split at every position', () => {
    const whole = JSON.parse(TEXT)
    for (let i = 0; i <= TEXT.length; i++) {
      expect(read([TEXT.slice(0, i), TEXT.slice(i)])).toEqual(whole)
    }
  })

  it('gives what JSON.parse gives, cut in random places', () => {
    const whole = JSON.parse(TEXT)
    let seed = 7
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647
    for (let n = 0; n < 300; n++) {
      const chunks: string[] = []
      for (let i = 0; i < TEXT.length;) {
        const len = 1 + Math.floor(random() * 12)
        chunks.push(TEXT.slice(i, i + len))
        i += len
      }
      expect(read(chunks)).toEqual(whole)
    }
  })

  it('gives what JSON.parse gives, one character at a time and pretty-printed', () => {
    expect(read([...TEXT])).toEqual(JSON.parse(TEXT))
    const pretty = JSON.stringify(JSON.parse(TEXT), null, 4) + '\n'
    expect(read([pretty])).toEqual(JSON.parse(TEXT))
    expect(read(['[', ']'])).toEqual([])
    expect(read([' [ ] \n'])).toEqual([])
  })

  it('maps each element as it completes', () => {
    const s = new ArrayStream((e: { ID: string }) => e.ID)
    s.feed(TEXT)
    expect(s.end()).toEqual(['a', 'b', 'c', 'd'])
  })

  it.each([
    ['cut in the middle', [TEXT.slice(0, TEXT.length >> 1)]],
    ['cut before the end', [TEXT.slice(0, -1)]],
    ['empty', ['']],
    ['not an array', ['{"ID":"a"}']],
    ['null', ['null']],
    ['an element that is not an object', ['[1,2]']],
    ['text after the array', [`${TEXT}x`]],
    ['a broken element', ['[{"ID":}]']],
  ])('%s: a retryable protocol error', (_name, chunks) => {
    let err: unknown
    try {
      read(chunks)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(NomadError)
    expect((err as NomadError).kind).toBe('protocol')
    expect((err as NomadError).retryable).toBe(true)
    expect((err as NomadError).message).toContain('not valid JSON')
  })
})
