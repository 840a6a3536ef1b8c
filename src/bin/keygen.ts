#!/usr/bin/env node
// `npx cloakroom keygen`: prints a new secret for the `keys` option.
import { generateKey } from '../crypto/keys.js'

const [command = 'keygen'] = process.argv.slice(2)
if (command === 'keygen') {
  console.log(generateKey())
} else {
  console.error(`cloakroom: unknown command ${JSON.stringify(command)}; try \`npx cloakroom keygen\``)
  process.exitCode = 1
}
