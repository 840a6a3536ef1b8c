// docs/writing-an-adapter.md, run: its example adapter and its conformance block, taken from the page
// as they are, register the adapter conformance suite here. A guide whose adapter stops keeping the
// rules, or whose harness stops working, fails this file.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { codeBlocks, ROOT } from './markdown.js'

const GUIDE = 'docs/writing-an-adapter.md'
const blocks = codeBlocks(GUIDE)
const adapter = blocks.find((block) => block.code.includes('export function sessions('))
const suite = blocks.find((block) => block.code.includes('defineAdapterConformance('))
if (adapter === undefined || suite === undefined) {
  throw new Error(`${GUIDE} no longer shows a block with "export function sessions(" and one calling defineAdapterConformance(; update this test with the page`)
}

// The page imports the published names; here they resolve to the sources. The suite's block gets the
// page's adapter where the page's hidden prelude only declared it.
const sources = (code: string): string =>
  code
    .replace(/from 'cloakroom\/testing'/g, `from '${join(ROOT, 'src/testing/index.ts')}'`)
    .replace(/from 'cloakroom'/g, `from '${join(ROOT, 'src/index.ts')}'`)
const dir = join(ROOT, '.tmp/doc-adapter')
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, 'adapter.ts'), sources(adapter.code))
writeFileSync(join(dir, 'suite.ts'), `import { getSession, serve, sessions } from './adapter.js'\n${sources(suite.code)}\n`)
await import(join(dir, 'suite.ts'))
