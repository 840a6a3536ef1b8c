import { describe, expect, it } from 'vitest'
import { applyChanges } from './change-set.js'
import type { ChangeSet } from './store.js'

function changes(partial: Partial<ChangeSet>): ChangeSet {
  return { clear: false, set: {}, remove: [], ...partial }
}

describe('applyChanges', () => {
  it('keeps untouched keys when nothing is cleared', () => {
    expect(applyChanges({ a: 1, b: 2 }, changes({ set: { c: 3 } }))).toEqual({ a: 1, b: 2, c: 3 })
  })

  it('clears before it sets, so only the set keys remain', () => {
    expect(applyChanges({ a: 1, b: 2 }, changes({ clear: true, set: { c: 3 } }))).toEqual({ c: 3 })
  })

  it('removes before it sets, so a key both removed and set ends up set', () => {
    expect(applyChanges({ k: 'old' }, changes({ remove: ['k'], set: { k: 'new' } }))).toEqual({ k: 'new' })
  })

  it('removes listed keys', () => {
    expect(applyChanges({ a: 1, b: 2 }, changes({ remove: ['a'] }))).toEqual({ b: 2 })
  })

  it('accepts the removal of an absent key', () => {
    expect(applyChanges({ a: 1 }, changes({ remove: ['missing'] }))).toEqual({ a: 1 })
  })

  it('replaces nested values instead of merging them', () => {
    expect(applyChanges({ a: { x: 1, y: 2 } }, changes({ set: { a: { x: 3 } } }))).toEqual({ a: { x: 3 } })
  })

  it('stores null as a value rather than removing the key', () => {
    const result = applyChanges({ a: 1 }, changes({ set: { a: null } }))
    expect(Object.hasOwn(result, 'a')).toBe(true)
    expect(result['a']).toBeNull()
  })

  it('leaves an empty object after a clear with nothing set', () => {
    expect(applyChanges({ a: 1 }, changes({ clear: true }))).toEqual({})
  })

  it('does not mutate the data it is given', () => {
    const data = { a: 1, b: { c: 2 } }
    applyChanges(data, changes({ clear: true, remove: ['a'], set: { d: 4 } }))
    expect(data).toEqual({ a: 1, b: { c: 2 } })
  })

  it('does not mutate the change set it is given', () => {
    const set = { a: 1 }
    const remove = ['b']
    applyChanges({ b: 2 }, { clear: false, set, remove })
    expect(set).toEqual({ a: 1 })
    expect(remove).toEqual(['b'])
  })

  it('returns a new object even when there are no changes', () => {
    const data = { a: 1 }
    expect(applyChanges(data, changes({}))).not.toBe(data)
  })

  it('keeps a set __proto__ key as an own key without changing the prototype', () => {
    const set = JSON.parse('{"__proto__":{"polluted":true}}') as Record<string, never>
    const result = applyChanges({}, changes({ set }))
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype)
    expect(Object.keys(result)).toEqual(['__proto__'])
    expect(Object.getOwnPropertyDescriptor(result, '__proto__')?.value).toEqual({ polluted: true })
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
  })

  it('copies an existing own __proto__ key as a key', () => {
    const data = JSON.parse('{"__proto__":{"admin":true},"a":1}') as Record<string, never>
    const result = applyChanges(data, changes({}))
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype)
    expect(JSON.stringify(result)).toBe('{"__proto__":{"admin":true},"a":1}')
  })

  it('removes an own __proto__ key without touching Object.prototype', () => {
    const data = JSON.parse('{"__proto__":1,"a":1}') as Record<string, never>
    const result = applyChanges(data, changes({ remove: ['__proto__'] }))
    expect(JSON.stringify(result)).toBe('{"a":1}')
    expect(typeof Object.prototype.hasOwnProperty).toBe('function')
  })

  it('keeps odd keys as they are', () => {
    const keys = ['a.b', 'q"k', '$', '', '[0]', '🔑', 'constructor']
    const set = Object.fromEntries(keys.map((key, i) => [key, i]))
    expect(Object.keys(applyChanges({}, changes({ set })))).toEqual(keys)
  })
})
