import type { ConformanceTestApi } from '../../src/testing/store-conformance.js'

/** The outcome of one portable test. */
export interface CaseResult {
  /** The describe titles and the test's own, joined with ' > '. */
  name: string
  ok: boolean
  /** The failure's message (and stack where the runtime gives one); absent when `ok`. */
  error?: string
  ms: number
}

type Hook = () => Promise<void> | void

interface Group {
  title: string
  children: Array<Group | Case>
  beforeAll: Hook[]
  afterAll: Hook[]
}

interface Case {
  title: string
  fn: () => Promise<void> | void
}

function isGroup(node: Group | Case): node is Group {
  return 'children' in node
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`
  return String(error)
}

/**
 * A test runner small enough to run anywhere JavaScript runs (workerd has no vitest): it offers
 * the `describe`/`it`/`beforeAll`/`afterAll` shape of the conformance suites, runs the cases one
 * after another (some of them swap `Date.now`, so nothing may overlap), and returns plain results
 * that cross a process or worker boundary as JSON.
 *
 * @example
 * ```ts
 * const runner = new PortableRunner()
 * runner.api.it('adds', () => { if (1 + 1 !== 2) throw new Error('no') })
 * const results = await runner.run() // [{ name: 'adds', ok: true, ms: 0 }]
 * ```
 */
export class PortableRunner {
  readonly #root: Group = { title: '', children: [], beforeAll: [], afterAll: [] }
  #current: Group = this.#root

  /** The registration functions, in the shape `defineStoreConformance` and `defineAdapterConformance` take. */
  readonly api: Required<ConformanceTestApi> = {
    describe: (title, fn) => {
      const group: Group = { title, children: [], beforeAll: [], afterAll: [] }
      this.#current.children.push(group)
      const parent = this.#current
      this.#current = group
      try {
        fn()
      } finally {
        this.#current = parent
      }
    },
    it: (title, fn) => {
      this.#current.children.push({ title, fn })
    },
    beforeAll: (fn) => {
      this.#current.beforeAll.push(fn)
    },
    afterAll: (fn) => {
      this.#current.afterAll.push(fn)
    },
  }

  /** Runs every registered case in registration order. Never rejects: a failing hook fails the cases under it. */
  async run(): Promise<CaseResult[]> {
    const results: CaseResult[] = []
    await this.#runGroup(this.#root, [], results)
    return results
  }

  async #runGroup(group: Group, path: string[], results: CaseResult[]): Promise<void> {
    const here = group.title === '' ? path : [...path, group.title]
    let setupError: string | undefined
    for (const hook of group.beforeAll) {
      try {
        await hook()
      } catch (error) {
        setupError = `beforeAll failed: ${describeError(error)}`
        break
      }
    }
    for (const child of group.children) {
      if (isGroup(child)) {
        if (setupError === undefined) await this.#runGroup(child, here, results)
        else for (const name of caseNames(child, here)) results.push({ name, ok: false, error: setupError, ms: 0 })
        continue
      }
      const name = [...here, child.title].join(' > ')
      if (setupError !== undefined) {
        results.push({ name, ok: false, error: setupError, ms: 0 })
        continue
      }
      const started = Date.now()
      try {
        await child.fn()
        results.push({ name, ok: true, ms: Date.now() - started })
      } catch (error) {
        results.push({ name, ok: false, error: describeError(error), ms: Date.now() - started })
      }
    }
    for (const hook of group.afterAll) {
      try {
        await hook()
      } catch (error) {
        results.push({ name: [...here, 'afterAll'].join(' > '), ok: false, error: describeError(error), ms: 0 })
      }
    }
  }
}

function caseNames(group: Group, path: string[]): string[] {
  const here = [...path, group.title]
  return group.children.flatMap((child) => (isGroup(child) ? caseNames(child, here) : [[...here, child.title].join(' > ')]))
}
