import type { Redis } from 'ioredis'
import type { IoRedisLike } from '../../src/stores/redis/client.js'
import type { Script } from '../../src/stores/redis/scripts.js'

/**
 * One command a script ran that touched a key its caller did not declare.
 *
 * @example
 * ```ts
 * const found: UndeclaredKey = { script: 'delete', command: 'DEL', key: 'p:{t}h', declared: ['p:{t}g'] }
 * ```
 */
export interface UndeclaredKey {
  script: string
  command: string
  key: string
  declared: string[]
}

/**
 * Wraps `source` so that every `redis.call`/`redis.pcall` it makes is logged, and the script returns
 * `{ its own result, the log }`. A local named `redis` shadows the global for the whole chunk, so
 * the helper functions the scripts define use the logging one too. A shebang line stays first.
 */
function instrument(source: string): string {
  const newline = source.indexOf('\n')
  const shebang = source.startsWith('#!') ? source.slice(0, newline + 1) : ''
  const body = shebang === '' ? source : source.slice(newline + 1)
  return `${shebang}local __real = redis
local __log = {}
local function __record(...)
  local entry = {}
  for i = 1, select('#', ...) do entry[i] = tostring((select(i, ...))) end
  __log[#__log + 1] = entry
end
local redis = setmetatable({
  call = function(...) __record(...); return __real.call(...) end,
  pcall = function(...) __record(...); return __real.pcall(...) end,
}, { __index = __real })
local __result = (function()
${body}
end)()
if __result == nil then __result = false end
return { __result, __log }
`
}

/**
 * A client for `RedisStore` that runs the store's real scripts on a real Redis, each wrapped so that
 * every command it runs is logged; Redis itself (`COMMAND GETKEYS`) then says which arguments of
 * each command are keys, and any key that is not among the script's declared `KEYS` is recorded in
 * `undeclared`. Redis only rejects an undeclared key in a cluster when it lies in another slot or on
 * another node (a slot migration), so this is what shows that a script declares every key it touches.
 *
 * @example
 * ```ts
 * const recorder = new ScriptRecorder(new Redis(), [APPLY, DELETE])
 * const store = new RedisStore({ client: recorder })
 * await store.delete(id)
 * expect(recorder.undeclared).toEqual([])
 * ```
 */
export class ScriptRecorder implements IoRedisLike {
  readonly isCluster = false
  /** Every key a script touched without declaring it. */
  readonly undeclared: UndeclaredKey[] = []
  /** How many times each script ran, by name. */
  readonly runs = new Map<string, number>()
  readonly #scripts: Map<string, Script>
  readonly #takesKeysCache = new Map<string, boolean>()

  constructor(
    readonly inner: Redis,
    scripts: readonly Script[],
  ) {
    this.#scripts = new Map(scripts.flatMap((script) => [[script.sha, script], [script.source, script]] as const))
  }

  get status(): string {
    return this.inner.status
  }

  async call(command: string, args: (string | number)[]): Promise<unknown> {
    const upper = command.toUpperCase()
    const script = upper === 'EVALSHA' || upper === 'EVAL' ? this.#scripts.get(String(args[0])) : undefined
    if (script === undefined) return this.inner.call(command, args)
    const numKeys = Number(args[1])
    const keys = args.slice(2, 2 + numKeys).map(String)
    const rest = args.slice(1)
    const [result, log] = (await this.inner.call('EVAL', [instrument(script.source), ...rest])) as [unknown, string[][]]
    this.runs.set(script.name, (this.runs.get(script.name) ?? 0) + 1)
    await Promise.all(log.map((entry) => this.#check(script.name, entry, keys)))
    return result
  }

  async #check(script: string, entry: string[], declared: string[]): Promise<void> {
    if (!(await this.#takesKeys(entry[0] ?? ''))) return
    const touched = (await this.inner.call('COMMAND', ['GETKEYS', ...entry])) as string[]
    for (const key of touched) {
      if (!declared.includes(key)) this.undeclared.push({ script, command: entry[0] ?? '', key, declared })
    }
  }

  /** Whether a command can take keys at all (COMMAND GETKEYS refuses TIME and other keyless ones). */
  async #takesKeys(command: string): Promise<boolean> {
    const name = command.toLowerCase()
    let known = this.#takesKeysCache.get(name)
    if (known === undefined) {
      const [info] = (await this.inner.call('COMMAND', ['INFO', name])) as [[string, number, string[], number] | null]
      if (!info) throw new Error(`a script ran ${command}, which this Redis does not know`)
      const [, , flags, firstKey] = info
      known = firstKey !== 0 || flags.includes('movablekeys')
      this.#takesKeysCache.set(name, known)
    }
    return known
  }
}
