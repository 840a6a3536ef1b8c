// Every ```ts block of README.md and docs/**/*.md is compiled, strict, against the package's own
// sources: `cloakroom`, `cloakroom/hono`… resolve to src/ through the package's exports, so a guide
// that shows an option, an import or a signature the code no longer has fails here, naming the guide,
// the line and the compiler's message.
//
// A block may need context it does not show (a `store`, an `app`): a hidden comment right above the
// fence gives it, compiled before the block and invisible once rendered:
//
//   <!-- prelude
//   import { MemoryStore } from 'cloakroom'
//   const store = new MemoryStore()
//   -->
//
// A block that cannot compile on purpose (a fragment with `…`, a wrong example) says so and why in
// its info string: ```ts nocheck: why. Each block is its own module; a block that augments
// `Register` (which types every session of a program) is compiled in a program of its own.
//
// A block whose first line names a file (`// lib/sessions.ts: …`, as the Next.js pages do) is that
// file of a small app: the guide's named blocks are written at their paths and compiled together as
// an app is (bundler resolution, `@/` for the app's root), so they may import one another. Blocks that
// import `next/…` need the Next.js test app's package (test/next, `npm --prefix test/next ci`):
// without it they are skipped with a loud message, except under CI=true, where they fail.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { codeBlocks, guideFiles, ROOT, type CodeBlock } from './markdown.js'

const TS = new Set(['ts', 'typescript', 'mts'])
const OUT = join(ROOT, '.tmp/doc-blocks')
const NEXT = join(ROOT, 'test/next/node_modules/next')
const CI = process.env.CI === 'true'

/** The file a block says it is (`// app/actions.ts: …` on its first line), or undefined. */
const namedFile = (block: CodeBlock): string | undefined => /^\/\/ ((?:[\w.@-]+\/)*[\w.-]+\.tsx?)(?::|\s|$)/.exec(block.code)?.[1]
const slug = (file: string): string => file.replace(/[/.]/g, '_')

/** `cloakroom` and its subpaths → the sources, read from package.json's exports (`./dist/x.d.ts` → `./src/x.ts`). */
function packagePaths(): Record<string, string[]> {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> }
  const paths: Record<string, string[]> = {}
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    const types = typeof target === 'object' && target !== null ? (target as { types?: string }).types : undefined
    if (types === undefined) continue
    const name = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`
    paths[name] = [types.replace(/^\.\/dist\//, './src/').replace(/\.d\.ts$/, '.ts')]
  }
  paths['#crypto'] = ['./src/crypto/node.ts']
  // Next.js lives in the Next.js test app's package, not the repository's.
  if (existsSync(NEXT)) paths['next/*'] = ['./test/next/node_modules/next/*']
  return paths
}

function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path))
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT)
  return { ...parsed.options, noEmit: true, baseUrl: ROOT, paths: packagePaths() }
}

interface Written {
  block: CodeBlock
  path: string
  /** How many lines of prelude precede the block's code in the written file. */
  offset: number
}

function write(block: CodeBlock): Written {
  const named = namedFile(block)
  const path = named === undefined ? join(OUT, `${slug(block.file)}_L${block.line}.ts`) : join(OUT, slug(block.file), named)
  mkdirSync(dirname(path), { recursive: true })
  const prelude = block.prelude === undefined ? '' : `${block.prelude}\n`
  // `export {}` keeps every block a module of its own: top-level names never clash between blocks.
  // Deno's `npm:` specifiers name the same packages as bare ones.
  const code = block.code.replace(/(from\s+|import\s+)(['"])npm:/g, '$1$2')
  writeFileSync(path, `${prelude}${code}\nexport {}\n`)
  return { block, path, offset: prelude === '' ? 0 : prelude.split('\n').length - 1 }
}

/** A compiler host that parses each file once for all the programs (the sources and typings they share are most of the work). */
function cachingHost(options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options)
  const parsed = new Map<string, ts.SourceFile | undefined>()
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    const key = `${fileName}\0${JSON.stringify(languageVersion)}`
    if (!parsed.has(key)) parsed.set(key, getSourceFile(fileName, languageVersion, ...rest))
    return parsed.get(key)
  }
  return host
}

/** Compiles `files` as one program; a message per diagnostic, located in the guide. */
function compile(files: Written[], options: ts.CompilerOptions, host: ts.CompilerHost): string[] {
  // The package's entry is a root too: a block that only augments `Register` needs the module it augments in the program.
  const program = ts.createProgram([join(ROOT, 'src/index.ts'), ...files.map((file) => file.path)], options, host)
  const problems = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map(
    (d) => `compiler: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
  )
  for (const file of files) {
    const source = program.getSourceFile(file.path)!
    for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
      const { line } = source.getLineAndCharacterOfPosition(d.start ?? 0)
      const codeLine = line - file.offset
      const where =
        codeLine < 0
          ? `${file.block.file}:${file.block.line} (in the prelude comment above the block, its line ${line + 1})`
          : `${file.block.file}:${file.block.line + codeLine} (block from line ${file.block.line})`
      const text = source.text.split('\n')[line]?.trim() ?? ''
      problems.push(`${where}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}\n    ${text}`)
    }
  }
  return problems
}

const blocks = guideFiles().flatMap(codeBlocks)
const typescript = blocks.filter((block) => TS.has(block.lang))
const checked = typescript.filter((block) => !block.flags.startsWith('nocheck'))

describe('the guides\' TypeScript blocks', () => {
  it('are found (README.md and docs/)', () => {
    expect(checked.length).toBeGreaterThan(40)
  })

  it('each skipped block says why (```ts nocheck: reason)', () => {
    const bare = typescript.filter((block) => block.flags.startsWith('nocheck') && !/^nocheck:\s*\S/.test(block.flags))
    expect(bare.map((block) => `${block.file}:${block.line}: \`\`\`ts nocheck without a reason: write \`\`\`ts nocheck: why`)).toEqual([])
  })

  it('each TypeScript block is fenced as ts (not js, tsx or unlabelled, which nothing would check)', () => {
    const suspicious = blocks.filter(
      (block) => !TS.has(block.lang) && (block.lang === '' || block.lang === 'js' || block.lang === 'javascript') && /\b(import|const|await)\b/.test(block.code),
    )
    expect(suspicious.map((block) => `${block.file}:${block.line}: a code block labelled "${block.lang}" that looks like TypeScript: fence it as \`\`\`ts`)).toEqual([])
  })

  // Compiling takes seconds (many more on a loaded machine): one program for the plain blocks, one per Register block.
  it('compile, strict, against the package\'s sources', { timeout: 300_000 }, () => {
    rmSync(OUT, { recursive: true, force: true })
    mkdirSync(OUT, { recursive: true })
    const options = compilerOptions()
    const host = cachingHost(options)
    // A block importing another of the guide's files ('@/lib/…') needs what that file imports: Next.js.
    const needsNext = (block: CodeBlock): boolean => /from ['"](next\/|@\/)/.test(block.code)
    const skipped = existsSync(NEXT) || CI ? [] : checked.filter(needsNext)
    if (skipped.length > 0) {
      console.warn(
        `\n!!!!!!!!\n!!! SKIPPING ${skipped.length} code block(s) that import next/… (${[...new Set(skipped.map((b) => b.file))].join(', ')}): ` +
          `the Next.js test app's package is not installed (npm --prefix test/next ci)\n!!!!!!!!\n`,
      )
    }
    const written = checked.filter((block) => !skipped.includes(block)).map(write)
    const registers = written.filter((file) => /declare module ['"]cloakroom['"]/.test(file.block.prelude ?? '') || /declare module ['"]cloakroom['"]/.test(file.block.code))
    const apps = new Map<string, Written[]>()
    for (const file of written.filter((candidate) => !registers.includes(candidate) && namedFile(candidate.block) !== undefined)) {
      apps.set(file.block.file, [...(apps.get(file.block.file) ?? []), file])
    }
    const plain = written.filter((file) => !registers.includes(file) && namedFile(file.block) === undefined)
    const problems = [plain, ...registers.map((file) => [file])].flatMap((group) => (group.length === 0 ? [] : compile(group, options, host)))
    // Each guide's app: bundler resolution as Next.js compiles it, `@/` its root.
    for (const [guide, files] of apps) {
      const appOptions: ts.CompilerOptions = {
        ...options,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        paths: { ...options.paths, '@/*': [`./${join('.tmp/doc-blocks', slug(guide))}/*`] },
      }
      problems.push(...compile(files, appOptions, cachingHost(appOptions)))
    }
    expect(problems, `${problems.length} compile error(s) in the guides' code blocks:\n${problems.join('\n')}`).toEqual([])
  })
})
