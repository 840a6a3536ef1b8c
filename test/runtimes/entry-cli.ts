// The entry of the Node, Bun and Deno bundles: `<runtime> bundle.mjs suite` prints the suite's
// report, `seal <mode>` a cookie sealed here, `open <mode> <cookie>` the entries it opens to.
// Output is one line between markers, so a runtime's own banner or warnings cannot garble it.
import { openAcross, sealAcross, type ContentSecurity } from './cross-runtime.js'
import { runPortableSuite } from './portable-suite.js'
import { BEGIN } from './protocol.js'

declare const process: { argv: string[]; exitCode?: number } | undefined
declare const Deno: { args: string[] } | undefined

function args(): string[] {
  if (typeof Deno !== 'undefined') return Deno.args
  return typeof process === 'undefined' ? [] : process.argv.slice(2)
}

async function main(): Promise<unknown> {
  const [command, mode, cookie] = args()
  if (command === 'suite') return runPortableSuite()
  if (command === 'seal') return { cookie: await sealAcross(mode as ContentSecurity) }
  if (command === 'open') return { entries: await openAcross(mode as ContentSecurity, cookie ?? '') }
  throw new Error(`unknown command ${String(command)}: use suite, seal <mode> or open <mode> <cookie>`)
}

console.log(BEGIN + JSON.stringify(await main()))
