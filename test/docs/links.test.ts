// The links of README.md and docs/**/*.md: a relative link must name a file of the
// repository, and its #anchor a heading of that Markdown file (GitHub's anchors); an in-page #anchor a
// heading of the page; a directory is refused (the API reference cannot carry it). External links are
// only checked for their syntax: no network here.
import { existsSync, statSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { describe, expect, it } from 'vitest'
import { anchors, guideFiles, links, ROOT, type Link } from './markdown.js'

/** Why `link` is broken, or undefined when it is fine. */
function problem(link: Link): string | undefined {
  const { target } = link
  if (target === '') return 'an empty link target'
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    if (!/^(https?|mailto):/i.test(target)) return `an unexpected scheme (${target.split(':')[0]}:)`
    if (/^mailto:/i.test(target)) return undefined
    try {
      const url = new URL(target)
      if (!url.hostname.includes('.')) return `"${url.hostname}" is not a public host name`
    } catch {
      return 'not a valid URL'
    }
    return undefined
  }
  if (target.startsWith('//')) return 'a protocol-relative URL: write https://'
  const [path = '', fragment] = target.split('#', 2) as [string, string | undefined]
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return 'a path with a malformed %-escape'
  }
  const file = decoded === '' ? link.file : normalize(join(dirname(link.file), decoded))
  if (file.startsWith('..')) return `${decoded} leads out of the repository`
  const absolute = join(ROOT, file)
  if (!existsSync(absolute)) return `${file} does not exist`
  // The API reference (TypeDoc) copies linked files, not directories: a directory link would break there.
  if (statSync(absolute).isDirectory()) return `${file} is a directory: link to a file in it (the API reference cannot carry a directory link)`
  if (fragment === undefined) return undefined
  if (!file.endsWith('.md')) return `an anchor (#${fragment}) on ${file}, which is not a Markdown page`
  const known = anchors(file)
  if (!known.has(fragment)) {
    const word = fragment.split('-').find((part) => part.length > 3) ?? fragment
    const near = [...known].filter((anchor) => anchor.includes(word)).slice(0, 5)
    return `${file} has no heading with the anchor #${fragment}${near.length > 0 ? ` (its anchors include: ${near.map((a) => `#${a}`).join(', ')})` : ''}`
  }
  return undefined
}

describe("the guides' links", () => {
  const found = guideFiles().flatMap(links)

  it('are found (README.md and docs/)', () => {
    expect(found.length).toBeGreaterThan(50)
  })

  it('each leads to a file of the repository (and a heading of it), or is a well-formed https URL', () => {
    const broken = found.flatMap((link) => {
      const why = problem(link)
      return why === undefined ? [] : [`${link.file}:${link.line}: (${link.target}) ${why}`]
    })
    expect(broken, `${broken.length} broken link(s):\n${broken.join('\n')}`).toEqual([])
  })
})
