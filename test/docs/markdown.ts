// Reading the guides as data for the docs tests: which Markdown files there are, their fenced code
// blocks (with the line each starts on and the hidden prelude that gives it context), their headings'
// anchors and their links. A small line-based reader: the guides use plain fences, ATX headings and
// inline links, and what it does not understand shows up as a test failure that names file and line.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

/** The repository's root directory. */
export const ROOT = join(import.meta.dirname, '../..')

/** Every guide the docs tests read: README.md and each Markdown file under docs/, as paths relative to the root. */
export function guideFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
      const path = `${dir}/${entry.name}`
      if (entry.isDirectory()) return walk(path)
      return entry.name.endsWith('.md') ? [path] : []
    })
  return ['README.md', ...walk('docs').sort()]
}

/** A fenced code block of a guide. */
export interface CodeBlock {
  /** The guide, relative to the root. */
  file: string
  /** The 1-based line of the first line of code (the line after the opening fence). */
  line: number
  /** The info string's first word: `ts`, `sh`… */
  lang: string
  /** The words after it: `nocheck: why` marks a block that is deliberately not compiled. */
  flags: string
  /** The code. */
  code: string
  /** The body of an HTML comment `<!-- prelude … -->` right above the fence: code compiled before the block, not shown to readers. */
  prelude: string | undefined
}

const FENCE = /^(\s*)(```+|~~~+)\s*([^\s`]*)\s*(.*)$/

/** The fenced code blocks of `file` (relative to the root), in order. */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n')
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!)
    if (!open) continue
    const [, indent, fence, lang, flags] = open
    const start = i + 1
    let end = start
    while (end < lines.length && !new RegExp(`^\\s*${fence![0]}{${fence!.length},}\\s*$`).test(lines[end]!)) end++
    if (end === lines.length) throw new Error(`${file}:${i + 1}: a code fence that is never closed`)
    const code = lines
      .slice(start, end)
      .map((text) => (text.startsWith(indent!) ? text.slice(indent!.length) : text))
      .join('\n')
    blocks.push({ file, line: start + 1, lang: lang!, flags: flags!.trim(), code, prelude: preludeAbove(lines, i) })
    i = end
  }
  return blocks
}

/** The body of a `<!-- prelude … -->` comment ending on the line above `fenceIndex` (blank lines between allowed). */
function preludeAbove(lines: string[], fenceIndex: number): string | undefined {
  let end = fenceIndex - 1
  while (end >= 0 && lines[end]!.trim() === '') end--
  if (end < 0 || !lines[end]!.trim().endsWith('-->')) return undefined
  let start = end
  while (start >= 0 && !lines[start]!.includes('<!--')) start--
  if (start < 0) return undefined
  const comment = lines.slice(start, end + 1).join('\n')
  const match = /<!--\s*prelude\b([\s\S]*?)-->\s*$/.exec(comment)
  return match ? match[1]!.trim() : undefined
}

/** The lines of `file` outside fenced code blocks, with inline code spans blanked (links in them are not links). */
function proseLines(file: string): { line: number; text: string }[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n')
  const out: { line: number; text: string }[] = []
  let fence: string | undefined
  lines.forEach((text, index) => {
    const open = FENCE.exec(text)
    if (fence === undefined && open) {
      fence = open[2]
      return
    }
    if (fence !== undefined) {
      if (new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`).test(text)) fence = undefined
      return
    }
    out.push({ line: index + 1, text: text.replace(/(`+)[\s\S]*?\1/g, (span) => ' '.repeat(span.length)) })
  })
  return out
}

/**
 * GitHub's anchor for a heading: lower case, markup and punctuation dropped (letters, digits, `-`,
 * `_` and spaces kept), spaces to `-`; a repeated anchor gets `-1`, `-2`….
 */
export function anchors(file: string): Set<string> {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n')
  const prose = new Set(proseLines(file).map(({ line }) => line))
  lines.forEach((text, index) => {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)
    if (!heading || !prose.has(index + 1)) return
    const slug = heading[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    result.add(count === 0 ? slug : `${slug}-${count}`)
  })
  for (const match of readFileSync(join(ROOT, file), 'utf8').matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) result.add(match[1]!)
  return result
}

/** A link in a guide's prose. */
export interface Link {
  file: string
  line: number
  target: string
}

/** The links of `file`: inline `[text](target)` and `![alt](target)`, reference definitions `[name]: target`, and `href`/`src` attributes. */
export function links(file: string): Link[] {
  const found: Link[] = []
  for (const { line, text } of proseLines(file)) {
    for (const match of text.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) found.push({ file, line, target: match[1]! })
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/.exec(text)
    if (definition) found.push({ file, line, target: definition[1]! })
    for (const match of text.matchAll(/\b(?:href|src)="([^"]*)"/g)) found.push({ file, line, target: match[1]! })
  }
  return found
}

/** `path` (absolute) relative to the root, for messages. */
export const fromRoot = (path: string): string => relative(ROOT, path)
