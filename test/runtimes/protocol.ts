/**
 * Marks the start of the one JSON line a CLI bundle prints, so a runtime's own banner or
 * warnings cannot garble the report.
 *
 * @example
 * ```ts
 * const json = stdout.slice(stdout.lastIndexOf(BEGIN) + BEGIN.length).split('\n')[0]
 * ```
 */
export const BEGIN = '<<<cloakroom-portable>>>'
