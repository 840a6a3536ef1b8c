import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/core/errors.js'
import { resolveOptions, type SessionOptions } from '../../src/core/options.js'
import { MemoryStore } from '../../src/stores/memory/index.js'

const key = 'k'.repeat(32)
const base = (): SessionOptions => ({ store: new MemoryStore(), keys: [key] })

function configError(options: Partial<SessionOptions> & Record<string, unknown>): ConfigError {
  try {
    resolveOptions({ ...base(), ...options } as SessionOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('options: defaults', () => {
  it('fills in the secure defaults of DESIGN.md §2', () => {
    const resolved = resolveOptions(base())
    expect(resolved.cookie).toEqual({
      name: 'id',
      secure: true,
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      domain: undefined,
      partitioned: false,
    })
    expect(resolved.contentSecurity).toBe('private')
    expect(resolved.persistent).toBe(false)
    expect(resolved.ttlMs).toBe(86_400_000)
    expect(resolved.extendOn).toBe('state-changes')
    expect(resolved.absoluteTimeoutMs).toBe(2_592_000_000)
  })

  it('takes a persistent lifecycle with its ttl', () => {
    const resolved = resolveOptions({ ...base(), lifecycle: { type: 'persistent', ttl: 60, extendOn: 'every-request' } })
    expect(resolved.persistent).toBe(true)
    expect(resolved.ttlMs).toBe(60_000)
    expect(resolved.extendOn).toBe('every-request')
  })

  it('takes absoluteTimeout: null for no cap', () => {
    expect(resolveOptions({ ...base(), absoluteTimeout: null }).absoluteTimeoutMs).toBeNull()
  })

  it('takes a Uint8Array key as its bytes and a string key as its UTF-8 bytes', () => {
    const bytes = new Uint8Array(32).fill(7)
    const resolved = resolveOptions({ ...base(), keys: [bytes, 'é'.repeat(16)] })
    expect(resolved.keys[0]).toBe(bytes)
    expect(resolved.keys[1]?.length).toBe(32)
  })
})

describe('options: impossible combinations throw at construction, naming the fix', () => {
  it('refuses a key shorter than 32 bytes and says how to make one', () => {
    expect(configError({ keys: ['short'] }).message).toMatch(/keys\[0\] is 5 bytes.*cloakroom keygen/)
  })

  it('refuses an empty keys array', () => {
    expect(configError({ keys: [] }).message).toMatch(/non-empty array/)
  })

  it('refuses an undefined key (an unset environment variable) and says so', () => {
    expect(configError({ keys: [undefined as never] }).message).toMatch(/environment variable/)
  })

  it('counts key bytes, not characters: 31 ASCII bytes are refused', () => {
    expect(configError({ keys: ['a'.repeat(31)] }).message).toMatch(/31 bytes/)
  })

  it("refuses sameSite 'none' without secure", () => {
    expect(configError({ cookie: { sameSite: 'none', secure: false } }).message).toMatch(/secure: true/)
  })

  it('refuses partitioned without secure', () => {
    expect(configError({ cookie: { partitioned: true, secure: false } }).message).toMatch(/partitioned requires/)
  })

  it('refuses a __Host- name with a domain, another path, or without secure', () => {
    expect(configError({ cookie: { name: '__Host-id', domain: 'example.com' } }).message).toMatch(/__Host-/)
    expect(configError({ cookie: { name: '__Host-id', path: '/app' } }).message).toMatch(/__Host-/)
    expect(configError({ cookie: { name: '__Host-id', secure: false } }).message).toMatch(/__Host-/)
  })

  it('accepts a __Host- name with the defaults', () => {
    expect(resolveOptions({ ...base(), cookie: { name: '__Host-id' } }).cookie.name).toBe('__Host-id')
  })

  it('refuses a __Secure- name without secure', () => {
    expect(configError({ cookie: { name: '__Secure-id', secure: false } }).message).toMatch(/__Secure-/)
  })

  it('refuses a TTL under one second, a fractional TTL and a zero absolute timeout', () => {
    expect(configError({ lifecycle: { type: 'browser', stateTtl: 0 } }).message).toMatch(/lifecycle.stateTtl/)
    expect(configError({ lifecycle: { type: 'persistent', ttl: 1.5 } }).message).toMatch(/lifecycle.ttl/)
    expect(configError({ absoluteTimeout: 0 }).message).toMatch(/absoluteTimeout/)
    expect(configError({ lifecycle: { type: 'persistent', ttl: Infinity } }).message).toMatch(/whole number/)
    expect(configError({ lifecycle: { type: 'persistent', ttl: NaN } }).message).toMatch(/whole number/)
    expect(configError({ lifecycle: { type: 'persistent', ttl: -5 } }).message).toMatch(/whole number/)
  })

  it("refuses a bogus sameSite, contentSecurity, lifecycle type or extendOn", () => {
    expect(configError({ cookie: { sameSite: 'bogus' as never } }).message).toMatch(/sameSite/)
    expect(configError({ contentSecurity: 'plain' as never }).message).toMatch(/contentSecurity/)
    expect(configError({ lifecycle: { type: 'forever' } as never }).message).toMatch(/lifecycle.type/)
    expect(configError({ lifecycle: { type: 'browser', extendOn: 'sometimes' as never } }).message).toMatch(/extendOn/)
  })

  it('refuses a misspelt option instead of ignoring it', () => {
    expect(configError({ cookie: { samesite: 'lax' } as never }).message).toMatch(/unknown option cookie.samesite/)
    expect(configError({ key: [key] } as never).message).toMatch(/unknown option key/)
  })

  it('refuses a missing store', () => {
    expect(configError({ store: undefined as never }).message).toMatch(/store must be/)
  })

  // security.md §4b item 34: header injection through names, paths and domains fails at start-up.
  const badNames = ['', 'a b', 'a;b', 'a=b', 'a,b', 'a\rb', 'a\nb', 'a\tb', 'a\u0000b', 'a\u007fb', 'a\u00a0b', 'ünïcode', '"q"', 'a(b)', 'a/b']
  for (const name of badNames) {
    it(`refuses the cookie name ${JSON.stringify(name)}`, () => {
      expect(configError({ cookie: { name } }).message).toMatch(/cookie.name/)
    })
  }

  const badPaths = ['no-slash', '/a;b', '/a\rb', '/a\nb', '/a\u0000', '/ü', '/a\u00a0']
  for (const path of badPaths) {
    it(`refuses the cookie path ${JSON.stringify(path)}`, () => {
      expect(configError({ cookie: { path } }).message).toMatch(/cookie.path/)
    })
  }

  const badDomains = ['.example.com', 'example.com;', 'exa mple.com', 'example.com\r\n', 'ex\u0000.com', 'bücher.de', 'example.com:8080', 'http://example.com', 'a,b.com', '']
  for (const domain of badDomains) {
    it(`refuses the cookie domain ${JSON.stringify(domain)}`, () => {
      expect(configError({ cookie: { domain } }).message).toMatch(/cookie.domain/)
    })
  }

  it('accepts a plain domain and an IDN in its xn-- form', () => {
    expect(resolveOptions({ ...base(), cookie: { domain: 'xn--bcher-kva.de' } }).cookie.domain).toBe('xn--bcher-kva.de')
    expect(resolveOptions({ ...base(), cookie: { domain: 'localhost' } }).cookie.domain).toBe('localhost')
  })
})
