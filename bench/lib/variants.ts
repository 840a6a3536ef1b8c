/**
 * Other builds of cloakroom measured in the same run as this one: `BENCH_VARIANTS=name=/path,...`
 * names checkouts (built with `npm run build`, their `bench/node_modules` in place) whose own
 * server files and `dist/` are measured beside this checkout's, against the same bare servers.
 * One run, so the machine's load at the time weighs on both alike.
 *
 * ```sh
 * git worktree add --detach /tmp/before 6505f11 && (cd /tmp/before && npm run build)
 * BENCH_VARIANTS=before=/tmp/before BENCH_ONLY='cloakroom/(express|node)/memory' BENCH_OUT=bench/.work/cmp-1 npx tsx bench/run.ts
 * ```
 *
 * @module
 */
import type { Target } from '../matrix.js'

/**
 * The targets of the other checkouts named in `spec`, one per chosen cloakroom target, each right
 * after its counterpart; ids read `cloakroom@name/framework/store`.
 *
 * @example
 * ```ts
 * withVariants(chosen, 'before=/tmp/before') // [cloakroom/node/memory, cloakroom@before/node/memory, ...]
 * ```
 */
export function withVariants(targets: readonly Target[], spec: string | undefined): Target[] {
  const variants = (spec ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=')
      if (eq < 1) throw new Error(`BENCH_VARIANTS entry ${part} is not name=/path/to/checkout`)
      return { name: part.slice(0, eq), root: part.slice(eq + 1).replace(/\/$/, '') }
    })
  return targets.flatMap((target) =>
    target.library !== 'cloakroom'
      ? [target]
      : [
          target,
          ...variants.map((variant) => ({
            ...target,
            id: target.id.replace(/^cloakroom/, `cloakroom@${variant.name}`),
            library: `cloakroom@${variant.name}`,
            file: `${variant.root}/${target.file}`,
          })),
        ],
  )
}
