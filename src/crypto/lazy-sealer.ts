import type { CookieSealer } from './types.js'

/**
 * A sealer made on first use. A WebCrypto sealer arrives as a promise (its keys are imported
 * asynchronously); once it is ready, `get()` answers the ready sealer itself, so later requests take
 * the synchronous path. A sealer that failed to be made is made again on the next `get()`.
 *
 * @internal
 */
export class LazySealer {
  #sealer: CookieSealer | Promise<CookieSealer> | undefined
  readonly #make: () => CookieSealer | Promise<CookieSealer>

  constructor(make: () => CookieSealer | Promise<CookieSealer>) {
    this.#make = make
  }

  get(): CookieSealer | Promise<CookieSealer> {
    if (this.#sealer === undefined) {
      const made = this.#make()
      this.#sealer = made
      if (made instanceof Promise) {
        made.then(
          (ready) => void (this.#sealer = ready),
          () => void (this.#sealer = undefined),
        )
      }
    }
    return this.#sealer
  }
}
