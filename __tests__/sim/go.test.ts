import { describe, expect, it } from 'vitest'

import {
  decodeGoJSONBody,
  goTime,
  multierrorText,
  parseGoDuration,
  uuidIndexKey,
  type GoStruct,
} from '../../sim/go.js'

const PAUSE: GoStruct = {
  name: 'DeploymentPauseRequest',
  fields: { DeploymentID: 'string', Pause: 'bool', Groups: '[]string' },
}
const decode = (body: string, noBody = false): ReturnType<typeof decodeGoJSONBody> =>
  decodeGoJSONBody(Buffer.from(body), noBody, PAUSE)

describe('time.ParseDuration', () => {
  it.each([
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['500ms', 500],
    ['0', 0],
    ['-1s', -1000],
    ['10us', 0.01],
  ])('%s is %d ms', (s, ms) => {
    expect(parseGoDuration(s)).toBe(ms)
  })

  it.each(['5', '', 's', '1d', '1 s', '5m ', 'm5'])('%j is an error', (s) => {
    expect(parseGoDuration(s)).toBeNull()
  })
})

describe('encoding/json decoder errors, as Nomad answers a bad body', () => {
  it.each([
    ['', 'EOF'],
    ['  \n', 'EOF'],
    ['{', 'unexpected EOF'],
    ['{"DeploymentID": "x"', 'unexpected EOF'],
    ['x', "invalid character 'x' looking for beginning of value"],
    ['{x', "invalid character 'x' looking for beginning of object key string"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a": 1 "b": 2}', `invalid character '"' after object key:value pair`],
    ['[1 2]', "invalid character '2' after array element"],
    ['[1,]', "invalid character ']' looking for beginning of value"],
    ['{"a": tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"a": nul}', "invalid character '}' in literal null (expecting 'l')"],
    ['{"a": -x}', "invalid character 'x' in numeric literal"],
    ['{"a": 1.}', "invalid character '}' after decimal point in numeric literal"],
    ['{"a": "\\q"}', "invalid character 'q' in string escape code"],
    ['{"a": "\u0001"}', "invalid character '\\x01' in string literal"],
    ["{'a': 1}", "invalid character '\\'' looking for beginning of object key string"],
    ['[1}', "invalid character '}' after array element"],
  ])('%j → %s', (body, error) => {
    expect(decode(body)).toEqual({ error })
  })

  it('says `Request body is empty` for a request without a body (http.NoBody)', () => {
    expect(decode('', true)).toEqual({ error: 'Request body is empty' })
  })

  it('reads one value and ignores what follows, as json.Decoder does', () => {
    expect(decode('{"DeploymentID":"d"} trailing')).toEqual({ value: { DeploymentID: 'd' } })
  })

  it('matches field names regardless of case and skips unknown ones', () => {
    expect(decode('{"deploymentid":"d","PAUSE":true,"Other":1}')).toEqual({
      value: { DeploymentID: 'd', Pause: true },
    })
  })

  it('reports type errors with the Go struct and field', () => {
    expect(decode('{"Pause":"yes"}')).toEqual({
      error:
        'json: cannot unmarshal string into Go struct field DeploymentPauseRequest.Pause of type bool',
    })
    expect(decode('{"Groups":"web"}')).toEqual({
      error:
        'json: cannot unmarshal string into Go struct field DeploymentPauseRequest.Groups of type []string',
    })
    expect(decode('{"Groups":[1]}')).toEqual({
      error:
        'json: cannot unmarshal number into Go struct field DeploymentPauseRequest.Groups of type string',
    })
    expect(decode('[]')).toEqual({
      error: 'json: cannot unmarshal array into Go value of type structs.DeploymentPauseRequest',
    })
  })

  it('leaves the struct empty for null', () => {
    expect(decode('null')).toEqual({ value: {} })
    expect(decode('{"DeploymentID":null}')).toEqual({ value: {} })
  })
})

describe("go-memdb's UUID index", () => {
  const id = '5456bd7a-9fc0-c0dd-6131-cbee77f57577'
  it('looks up by bytes: any case, hyphens anywhere', () => {
    expect(uuidIndexKey(id.toUpperCase(), true)).toEqual({
      key: '5456bd7a9fc0c0dd6131cbee77f57577',
    })
    expect(uuidIndexKey('5456bd7a9fc0-c0dd-6131-cbee-77f57577', true)).toEqual({
      key: '5456bd7a9fc0c0dd6131cbee77f57577',
    })
  })
  it('needs a full UUID for a lookup and an even prefix for a prefix', () => {
    expect(uuidIndexKey('5456bd7a', true)).toEqual({ error: 'UUID must be 36 characters' })
    expect(uuidIndexKey('5456bd7', false)).toEqual({
      error: 'Input (without hyphens) must be even length',
    })
    expect(uuidIndexKey('zz', false)).toEqual({
      error: "Invalid UUID: encoding/hex: invalid byte: U+007A 'z'",
    })
  })
})

describe('formatting', () => {
  it('writes times as Go does', () => {
    expect(goTime(0)).toBe('0001-01-01T00:00:00Z')
    expect(goTime(Date.UTC(2024, 0, 2, 3, 4, 5, 120))).toBe('2024-01-02T03:04:05.12Z')
    expect(goTime(Date.UTC(2024, 0, 2, 3, 4, 5))).toBe('2024-01-02T03:04:05Z')
  })
  it('formats multierrors as go-multierror', () => {
    expect(multierrorText(['a'])).toBe('1 error occurred:\n\t* a\n\n')
    expect(multierrorText(['a', 'b'])).toBe('2 errors occurred:\n\t* a\n\t* b\n\n')
  })
})
