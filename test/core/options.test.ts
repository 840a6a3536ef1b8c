import { describe, expect, it } from 'vitest'
import * as v from 'valibot'
import { createSessionManager } from '../../src/create.js'
import { ConfigError } from '../../src/core/errors.js'
import { resolveOptions, type SessionOptions } from '../../src/core/options.js'
import { generateKey } from '../../src/crypto/keys.js'
import { MemoryStore } from '../../src/stores/memory/index.js'

// A fixed test secret (never use it in an app); random-looking, as keys must be.
const key = 'Xm9n5fdjbsMPAh8uKkzjTKH-MGjiB4MS6-JituLO4E8'
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
  it('fills in the secure defaults', () => {
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
    const bytes = Uint8Array.from(Buffer.from('U0ODQrXTdHR6OKews5xQOlh2fq40eylZphq9ihtt-MM', 'base64url'))
    const text = 'ünïcödé: sixteen accented letters ôñ'
    const resolved = resolveOptions({ ...base(), keys: [bytes, text] })
    expect(resolved.keys[0]).toBe(bytes)
    expect(resolved.keys[1]).toEqual(new Uint8Array(Buffer.from(text, 'utf8')))
    expect(resolved.keys[1]?.length).toBeGreaterThan(text.length)
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

  // Header injection through names, paths and domains fails at start-up.
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
    expect(resolveOptions({ ...base(), cookie: { domain: 'app.example.com' } }).cookie.domain).toBe('app.example.com')
  })
})

// The options a user writes, checked where the user meets them: createSessionManager throws.
describe('createSessionManager refuses options it would otherwise ignore or could not honour', () => {
  const construct = (options: Partial<SessionOptions> & Record<string, unknown>): unknown => {
    try {
      createSessionManager({ ...base(), ...options } as SessionOptions)
    } catch (error) {
      return error
    }
    return undefined
  }
  const refusal = (options: Partial<SessionOptions> & Record<string, unknown>): string => {
    const error = construct(options)
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).message
  }

  describe('misspelt keys inside lifecycle', () => {
    it('a browser lifecycle given ttl: names the valid keys and points to stateTtl', () => {
      const message = refusal({ lifecycle: { type: 'browser', ttl: 900 } as never })
      expect(message).toMatch(/unknown option lifecycle\.ttl/)
      expect(message).toMatch(/type, stateTtl, extendOn/)
      expect(message).toMatch(/stateTtl/)
    })

    it('a browser lifecycle given stateTTL', () => {
      const message = refusal({ lifecycle: { type: 'browser', stateTTL: 900 } as never })
      expect(message).toMatch(/unknown option lifecycle\.stateTTL.*type, stateTtl, extendOn/)
    })

    it('a persistent lifecycle given stateTtl: names the valid keys and points to ttl', () => {
      const message = refusal({ lifecycle: { type: 'persistent', stateTtl: 900 } as never })
      expect(message).toMatch(/unknown option lifecycle\.stateTtl/)
      expect(message).toMatch(/type, ttl, extendOn/)
      expect(message).toMatch(/persistent lifecycle's idle window is ttl/)
    })

    it('a misspelt extendOn', () => {
      expect(refusal({ lifecycle: { type: 'persistent', ttl: 60, extendon: 'every-request' } as never })).toMatch(/lifecycle\.extendon/)
    })

    it('a lifecycle or cookie that is not an object', () => {
      expect(refusal({ lifecycle: null as never })).toMatch(/lifecycle must be an object/)
      expect(refusal({ cookie: null as never })).toMatch(/cookie must be an object/)
      expect(refusal({ cookie: 'id' as never })).toMatch(/cookie must be an object/)
    })
  })

  describe('the logger', () => {
    it('refuses a logger with none of debug, warn or error (a misspelt one)', () => {
      expect(refusal({ logger: { degub: () => {} } as never })).toMatch(/logger.*debug, warn, error/)
    })

    it('refuses a logger whose debug, warn or error is not a function', () => {
      expect(refusal({ logger: { warn: 'yes' } as never })).toMatch(/logger\.warn must be a function/)
    })

    it('accepts console, whose other methods are not typos', () => {
      expect(construct({ logger: console })).toBeUndefined()
    })

    it('calls a logger whose methods live on its class, as methods of that logger', async () => {
      class Collector {
        readonly lines: string[] = []
        debug(message: string): void {
          this.lines.push(message)
        }
        warn(): void {}
        error(): void {}
      }
      const logger = new Collector()
      const manager = createSessionManager({ ...base(), logger })
      const request = new Request('http://localhost/', { headers: { cookie: 'id=e1.AAAAAAAA.forged' } })
      const response = await manager.handle(request, async (session) => new Response(JSON.stringify(await session.entries())))
      expect(response.status).toBe(200)
      expect(logger.lines).toEqual([expect.stringMatching(/did not verify/)])
    })
  })

  describe('__Host- and __Secure- prefixes, matched case-insensitively as browsers do (RFC 6265bis)', () => {
    it('refuses __host-id with a domain, __HOST-id with another path, __Host-ID without secure', () => {
      expect(refusal({ cookie: { name: '__host-id', domain: 'example.com' } })).toMatch(/__Host-/)
      expect(refusal({ cookie: { name: '__HOST-id', path: '/app' } })).toMatch(/__Host-/)
      expect(refusal({ cookie: { name: '__hOsT-id', secure: false } })).toMatch(/__Host-/)
    })

    it('refuses __SECURE-id and __secure-id without secure', () => {
      expect(refusal({ cookie: { name: '__SECURE-id', secure: false } })).toMatch(/__Secure-/)
      expect(refusal({ cookie: { name: '__secure-id', secure: false } })).toMatch(/__Secure-/)
    })
  })

  describe('durations are bounded by the 400 days browsers cap Max-Age at (RFC 6265bis)', () => {
    it('refuses ttl: 1e20, stateTtl one second over 400 days and absoluteTimeout: MAX_SAFE_INTEGER', () => {
      expect(refusal({ lifecycle: { type: 'persistent', ttl: 1e20 } })).toMatch(/lifecycle\.ttl must be at most 34560000 seconds \(400 days\).*RFC 6265bis/)
      expect(refusal({ lifecycle: { type: 'browser', stateTtl: 34_560_001 } })).toMatch(/lifecycle\.stateTtl must be at most 34560000/)
      expect(refusal({ absoluteTimeout: Number.MAX_SAFE_INTEGER })).toMatch(/absoluteTimeout must be at most 34560000/)
    })

    it('accepts exactly 400 days', () => {
      expect(construct({ lifecycle: { type: 'persistent', ttl: 34_560_000 }, absoluteTimeout: 34_560_000 })).toBeUndefined()
    })
  })

  describe('cookie.domain and cookie.path that browsers or the cookie package refuse', () => {
    for (const domain of ['com', 'localhost', 'LOCAL']) {
      it(`refuses the single-label domain ${JSON.stringify(domain)} and says to leave it unset`, () => {
        expect(refusal({ cookie: { domain } })).toMatch(/cookie\.domain .*single label.*leave cookie\.domain unset/)
      })
    }

    for (const domain of ['127.0.0.1', '10.0.0.255', '::1', '[::1]', '2001:db8::1', '::ffff:127.0.0.1']) {
      it(`refuses the IP address ${JSON.stringify(domain)} as a domain and says to leave it unset`, () => {
        expect(refusal({ cookie: { domain } })).toMatch(/cookie\.domain .*IP address.*leave cookie\.domain unset/)
      })
    }

    it('still accepts a domain of two labels or more', () => {
      expect(construct({ cookie: { domain: 'example.com' } })).toBeUndefined()
      expect(construct({ cookie: { domain: 'app.example.co.uk' } })).toBeUndefined()
    })

    it("refuses a path with '<', which the cookie package refuses (a ConfigError, not its TypeError)", () => {
      expect(refusal({ cookie: { path: '/a<b' } })).toMatch(/cookie\.path/)
    })

    it("accepts a path the cookie package accepts, such as one with '=' or '>'", () => {
      expect(construct({ cookie: { path: '/a=b>c' } })).toBeUndefined()
    })
  })

  describe('keys that are obviously not secret', () => {
    const weak: [string, string | Uint8Array][] = [
      ["'a'.repeat(32)", 'a'.repeat(32)],
      ['32 zero bytes', new Uint8Array(32)],
      ['64 bytes of 0xff', new Uint8Array(64).fill(0xff)],
      ["'ab'.repeat(16)", 'ab'.repeat(16)],
      ["'password'.repeat(4)", 'password'.repeat(4)],
    ]
    for (const [name, key] of weak) {
      it(`refuses ${name} and points to npx cloakroom keygen`, () => {
        expect(refusal({ keys: [key] })).toMatch(/keys\[0\].*not secret.*npx cloakroom keygen/)
      })
    }

    it('refuses a weak key anywhere in the ring, naming its position', () => {
      expect(refusal({ keys: [generateKey(), 'z'.repeat(40)] })).toMatch(/keys\[1\]/)
    })

    it('accepts a key from generateKey() and a long passphrase', () => {
      expect(construct({ keys: [generateKey(), 'correct horse battery staple, thirty-two bytes'] })).toBeUndefined()
    })
  })
})

describe('options: schema, onInvalid, version and migrate', () => {
  const number = v.number()
  const migrate = (): Record<string, never> => ({})

  it('takes one Standard Schema for the record or one per key, with onInvalid, and leaves them out when none is given', () => {
    expect(resolveOptions(base()).dataRules).toBeUndefined()
    const whole = v.object({ n: number })
    expect(resolveOptions({ ...base(), schema: whole }).dataRules).toMatchObject({ schema: { whole }, onInvalid: 'drop' })
    const perKey = resolveOptions({ ...base(), schema: { n: number }, onInvalid: 'error' }).dataRules
    expect(perKey?.onInvalid).toBe('error')
    expect(perKey?.schema !== undefined && 'keys' in perKey.schema && perKey.schema.keys.get('n')).toBe(number)
    expect(resolveOptions({ ...base(), version: 3, migrate }).dataRules).toMatchObject({ version: 3, migrate })
  })

  it('refuses a schema that is not a Standard Schema, naming the key', () => {
    expect(configError({ schema: 'number' as never }).message).toMatch(/schema must be a Standard Schema for the whole record .* or an object with one Standard Schema per key/)
    expect(configError({ schema: [number] as never }).message).toMatch(/schema must be a Standard Schema/)
    expect(configError({ schema: { n: number, user: { type: 'string' } } as never }).message).toMatch(/schema\.user is not a Standard Schema/)
    expect(configError({ schema: { '~standard': { version: 2, validate: () => ({ value: 1 }) } } as never }).message).toMatch(/schema must be a Standard Schema/)
  })

  it('refuses an onInvalid other than drop or error, or one with nothing to apply to', () => {
    expect(configError({ schema: { n: number }, onInvalid: 'ignore' as never }).message).toMatch(/onInvalid must be 'drop' or 'error' \(got "ignore"\)/)
    expect(configError({ onInvalid: 'error' }).message).toMatch(/onInvalid only applies with a schema/)
  })

  it('needs version and migrate together, version a whole number from 1, migrate a function', () => {
    expect(configError({ version: 2 }).message).toMatch(/version needs migrate\(data, version\)/)
    expect(configError({ migrate }).message).toMatch(/migrate needs version/)
    for (const version of [0, 1.5, -1, '2', Number.MAX_VALUE]) {
      expect(configError({ version: version as never, migrate }).message).toMatch(/version must be a whole number of at least 1/)
    }
    expect(configError({ version: 1, migrate: 'v1' as never }).message).toMatch(/migrate must be a function/)
  })

  it('still refuses a misspelt data option, listing the real ones', () => {
    const message = configError({ schemas: { n: number } } as never).message
    expect(message).toMatch(/unknown option schemas/)
    expect(message).toMatch(/schema, onInvalid, version, migrate/)
  })
})

describe('options: cookieCache', () => {
  it('is on by default with its bounds, takes bounds of its own, and false turns it off', () => {
    expect(resolveOptions(base()).cookieCache).toEqual({ maxEntries: 10_000, maxChars: 4_194_304 })
    expect(resolveOptions({ ...base(), cookieCache: { maxEntries: 50 } }).cookieCache).toEqual({ maxEntries: 50, maxChars: 4_194_304 })
    expect(resolveOptions({ ...base(), cookieCache: { maxCharacters: 1000 } }).cookieCache).toEqual({ maxEntries: 10_000, maxChars: 1000 })
    expect(resolveOptions({ ...base(), cookieCache: false }).cookieCache).toBe(false)
  })

  it('refuses bounds that are not whole numbers of at least 1, a misspelt bound, and a value that is not an object', () => {
    expect(configError({ cookieCache: { maxEntries: 0 } }).message).toMatch(/cookieCache\.maxEntries must be a whole number of at least 1.*cookieCache: false/)
    expect(configError({ cookieCache: { maxCharacters: 1.5 } }).message).toMatch(/cookieCache\.maxCharacters/)
    expect(configError({ cookieCache: { maxChars: 10 } as never }).message).toMatch(/unknown option cookieCache\.maxChars/)
    expect(configError({ cookieCache: true as never }).message).toMatch(/cookieCache must be an object/)
  })
})
