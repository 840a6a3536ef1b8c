import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Metafile, type Plugin } from 'esbuild'

/** A runtime the portable suite is bundled for. */
export type Target = 'node' | 'bun' | 'deno' | 'workerd'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * The export conditions each runtime resolves with (besides `import` and `default`), as their
 * own resolvers do: Bun adds `bun`, Deno `deno`, and wrangler/workerd `workerd`, `worker`, `browser`.
 */
export const CONDITIONS: Record<Target, string[]> = {
  node: ['node'],
  bun: ['bun', 'node'],
  deno: ['deno', 'node'],
  workerd: ['workerd', 'worker', 'browser'],
}

/** The result of one build. */
export interface Bundle {
  target: Target
  file: string
  /** The source files `#crypto` resolved to, relative to the repository. */
  crypto: string
  /** Every import the bundle leaves to the runtime (`node:*` and other externals). */
  externals: string[]
}

type ConditionMap = { [condition: string]: string | ConditionMap }

/**
 * Picks the target of a package.json `imports` entry the way Node's resolver does: the first key,
 * in the file's order, that is an active condition (`types` is for the compiler only).
 */
export function resolveConditions(entry: string | ConditionMap, conditions: readonly string[]): string | undefined {
  if (typeof entry === 'string') return entry
  const active = new Set([...conditions, 'import', 'default'])
  for (const [condition, target] of Object.entries(entry)) {
    if (condition === 'types' || !active.has(condition)) continue
    const resolved = resolveConditions(target, conditions)
    if (resolved !== undefined) return resolved
  }
  return undefined
}

// Resolves `#crypto` through the package's own `imports` map with the target's conditions, then
// maps the published `./dist/*.js` path to its source (the suite runs from source, unbuilt).
function packageImports(target: Target, picked: { crypto?: string }): Plugin {
  return {
    name: 'package-imports',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^#/ }, async (args) => {
        const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { imports?: Record<string, string | ConditionMap> }
        const entry = manifest.imports?.[args.path]
        if (entry === undefined) return { errors: [{ text: `package.json has no imports entry for ${args.path}` }] }
        const published = resolveConditions(entry, CONDITIONS[target])
        if (published === undefined) return { errors: [{ text: `no condition of ${target} matches imports["${args.path}"]` }] }
        const source = published.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')
        picked.crypto = source
        return { path: join(ROOT, source) }
      })
    },
  }
}

// workerd has no node:assert without nodejs_compat: the conformance suites' `node:assert/strict`
// becomes the portable one for that build only.
const portableAssert: Plugin = {
  name: 'portable-assert',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^node:assert(\/strict)?$/ }, () => ({ path: join(ROOT, 'test/runtimes/assert.ts') }))
  },
}

function externalsOf(metafile: Metafile): string[] {
  const found = new Set<string>()
  for (const input of Object.values(metafile.inputs)) for (const imported of input.imports) if (imported.external) found.add(imported.path)
  return [...found].sort()
}

/**
 * Bundles one entry of the portable suite for `target` into `outDir`: ESM, with the target's
 * export conditions, and for workerd with no `node:` import left at all.
 *
 * @example
 * ```ts
 * const bundle = await bundleFor('workerd', 'entry-worker.ts', tmp) // { crypto: 'src/crypto/web.ts', externals: [] }
 * ```
 */
export async function bundleFor(target: Target, entry: 'entry-cli.ts' | 'entry-worker.ts', outDir: string): Promise<Bundle> {
  const picked: { crypto?: string } = {}
  const file = join(outDir, `${target}.mjs`)
  const worker = target === 'workerd'
  const result = await build({
    entryPoints: [join(ROOT, 'test/runtimes', entry)],
    outfile: file,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: worker ? 'browser' : 'node',
    conditions: CONDITIONS[target],
    plugins: worker ? [packageImports(target, picked), portableAssert] : [packageImports(target, picked)],
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
  })
  if (picked.crypto === undefined) throw new Error('the bundle never imported #crypto')
  return { target, file, crypto: picked.crypto, externals: externalsOf(result.metafile) }
}

/**
 * The `node:` module specifiers a bundle's text still imports (static, dynamic or `require`):
 * must be empty for workerd.
 *
 * @example
 * ```ts
 * nodeImportsIn(await readFile(bundle.file, 'utf8')) // []
 * ```
 */
export function nodeImportsIn(text: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'](node:[^"']+)["']/g
  return [...text.matchAll(pattern)].map((match) => match[1] as string)
}
