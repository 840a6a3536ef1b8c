import { Hono } from 'hono'
import { html } from 'hono/html'
import type { DemoEnv } from './data.js'
import { formField } from './form.js'
import type { Markup } from './layout.js'

/** The demo shop's catalogue: what a cart may hold (anything else posted is refused). */
export const CATALOGUE = [
  { sku: 'scarf', name: 'Wool scarf', cents: 1900 },
  { sku: 'umbrella', name: 'Umbrella', cents: 2400 },
  { sku: 'hanger', name: 'Cedar hanger', cents: 600 },
] as const

/** The most of one item a cart holds: a cart stays small in any store, the cookie store included. */
export const MAX_QUANTITY = 9

const bySku = new Map<string, (typeof CATALOGUE)[number]>(CATALOGUE.map((item) => [item.sku, item]))
const euros = (cents: number): string => `€${(cents / 100).toFixed(2)}`

/** The catalogue with an "Add" form per item. */
export function catalogue(): Markup {
  return html`<section aria-labelledby="shop-heading">
    <h2 id="shop-heading">Shop</h2>
    <ul class="catalogue">
      ${CATALOGUE.map(
        (item) => html`<li>
          <span>${item.name} <small>${euros(item.cents)}</small></span>
          <form method="post" action="/cart/add"><input type="hidden" name="sku" value="${item.sku}" /><button aria-label="Add ${item.name}">Add</button></form>
        </li>`,
      )}
    </ul>
  </section>`
}

/** The cart as a table (id `cart`), each line with a "Remove" form, and an "Empty the cart" form. */
export function cartView(cart: Record<string, number> | undefined): Markup {
  const lines = Object.entries(cart ?? {}).flatMap(([sku, quantity]) => {
    const item = bySku.get(sku)
    return item === undefined ? [] : [{ item, quantity }]
  })
  if (lines.length === 0) return html`<section aria-labelledby="cart-heading"><h2 id="cart-heading">Your cart</h2><p id="cart-empty">Your cart is empty.</p></section>`
  const total = lines.reduce((sum, { item, quantity }) => sum + item.cents * quantity, 0)
  return html`<section aria-labelledby="cart-heading">
    <h2 id="cart-heading">Your cart</h2>
    <table id="cart">
      <thead><tr><th>Item</th><th>Qty</th><th>Price</th><th></th></tr></thead>
      <tbody>
        ${lines.map(
          ({ item, quantity }) => html`<tr data-sku="${item.sku}">
            <td>${item.name}</td><td class="qty">${quantity}</td><td>${euros(item.cents * quantity)}</td>
            <td><form method="post" action="/cart/remove"><input type="hidden" name="sku" value="${item.sku}" /><button aria-label="Remove ${item.name}">Remove</button></form></td>
          </tr>`,
        )}
      </tbody>
      <tfoot><tr><th colspan="2">Total</th><th id="cart-total">${euros(total)}</th><th></th></tr></tfoot>
    </table>
    <form method="post" action="/cart/clear"><button>Empty the cart</button></form>
  </section>`
}

/**
 * The cart's forms: `POST /cart/add` and `/cart/remove` (a `sku` from the catalogue), `POST
 * /cart/clear`. Each writes only the `cart` key: the change set sent to the store holds that key
 * alone, so a request changing the cart never undoes another that signed in meanwhile.
 */
export function cartRoutes(): Hono<DemoEnv> {
  const routes = new Hono<DemoEnv>()

  routes.post('/add', async (c) => {
    const item = bySku.get((await formField(c, 'sku')) ?? '')
    if (item === undefined) return c.text('No such item.', 400)
    const session = c.get('session')
    await session.updateOr('cart', { [item.sku]: 1 }, (cart) => ({ ...cart, [item.sku]: Math.min(MAX_QUANTITY, (cart[item.sku] ?? 0) + 1) }))
    // Shown once, on the page this redirect leads to.
    session.flash('notice', `Added ${item.name} to the cart.`)
    return c.redirect('/', 303)
  })

  routes.post('/remove', async (c) => {
    const sku = (await formField(c, 'sku')) ?? ''
    if (!bySku.has(sku)) return c.text('No such item.', 400)
    const session = c.get('session')
    const rest = Object.fromEntries(Object.entries((await session.get('cart')) ?? {}).filter(([key]) => key !== sku))
    if (Object.keys(rest).length === 0) await session.remove('cart')
    else session.insert('cart', rest)
    return c.redirect('/', 303)
  })

  routes.post('/clear', async (c) => {
    await c.get('session').remove('cart')
    return c.redirect('/', 303)
  })

  return routes
}
