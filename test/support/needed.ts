/**
 * The one answer every test file gives when something it needs is missing (a side package, a
 * browser): `true` when nothing is (`missing` is `undefined`); otherwise `false` after a loud
 * warning, and under `CI=true` an error instead, so a CI run cannot pass by skipping.
 *
 * @example
 * ```ts
 * const installed = needed('the runtime matrix', runtimePackageMissing())
 * describe.skipIf(!installed)('the portable suite', () => { … })
 * ```
 */
export function needed(what: string, missing: string | undefined): boolean {
  if (missing === undefined) return true
  if (process.env['CI'] === 'true') throw new Error(`${what}: ${missing}; CI needs it`)
  console.warn(`\n!!!!! SKIPPING ${what}: ${missing} !!!!!\n`)
  return false
}
