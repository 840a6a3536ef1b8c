// placeholder: replaced by the node:crypto implementation
import type { CryptoProvider } from './types.js'
export declare const cryptoProvider: CryptoProvider
