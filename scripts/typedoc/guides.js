// A TypeDoc plugin for the guides in docs/ (typedoc.json's projectDocuments): each page is titled by
// its first heading and grouped by its folder (docs/stores → Stores, docs/adapters → Frameworks, the
// rest → Guides), so the Markdown files stay plain for GitHub (no front matter); and the guides are
// listed in reading order. A page's front matter `title` or `group` still wins.
//
// TypeDoc comes from the package beside this file (package.json), which `npm run docs` installs.
import { basename, dirname, relative } from 'node:path'
import process from 'node:process'
import { Converter } from 'typedoc'

/** The guides in the order a newcomer reads them; a page not listed here follows, alphabetically. */
const ORDER = [
  'concepts',
  'session-lifecycle',
  'data',
  'accounts',
  'security-model',
  'deploying',
  'runtimes',
  'writing-a-store',
  'writing-an-adapter',
  'design-notes',
]

const GROUPS = { stores: 'Stores', adapters: 'Frameworks' }

/** @param {import('typedoc').Application} app */
export function load(app) {
  /** @type {Map<import('typedoc').DocumentReflection, string>} */
  const files = new Map()

  app.converter.on(Converter.EVENT_CREATE_DOCUMENT, (_context, document) => {
    // TypeDoc registers a document's file before announcing it.
    const file = document.project.files.getReflectionPath(document)
    if (file === undefined) return
    files.set(document, file)
    const path = relative(process.cwd(), file)
    if (!('group' in document.frontmatter) && document.parent?.isProject()) {
      document.frontmatter.group = GROUPS[basename(dirname(path))] ?? 'Guides'
    }
    // The page's own title, unless front matter gave one: TypeDoc names a page by its file name otherwise.
    const heading = document.content.map((part) => part.text).join('').match(/^#{1,6}\s+(.+?)\s*$/m)
    if (heading && /^[\w/.-]+$/.test(document.name)) document.name = heading[1].replace(/`/g, '')
  })

  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const rank = (reflection) => {
      const file = files.get(reflection)
      if (file === undefined) return -1
      const index = ORDER.indexOf(basename(file, '.md'))
      return index === -1 ? ORDER.length : index
    }
    // A stable sort: TypeDoc's own order keeps documents where they are, so this order is the one shown.
    const byRank = (a, b) => (a.isDocument() && b.isDocument() ? rank(a) - rank(b) || a.name.localeCompare(b.name) : 0)
    context.project.documents?.sort(byRank)
    context.project.childrenIncludingDocuments?.sort(byRank)
  })
}

