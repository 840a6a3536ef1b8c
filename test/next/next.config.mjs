// The test app's Next.js configuration. Its own folder is the root (the repository above has a
// lockfile of its own, which Next.js would otherwise take for the workspace's root).
const here = import.meta.dirname

/** @type {import('next').NextConfig} */
export default {
  turbopack: { root: here },
  outputFileTracingRoot: here,
  poweredByHeader: false,
  // unauthorized() and forbidden(): a thrown 401 must commit the session as a returned 401 does.
  experimental: { authInterrupts: true },
}
