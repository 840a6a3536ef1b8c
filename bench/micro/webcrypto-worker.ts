// The workerd side of the WebCrypto micro benchmark: a module worker that runs `n` iterations of one
// crypto operation per request (GET /?op=seal%2Bopen&n=1000). Keys are derived and imported once,
// at the first request; the harness measures the workerd process's CPU time around each request.
import { cryptoProvider } from '../../src/crypto/web.js'
import { cryptoFixture, runCryptoOp, type CryptoFixture, type CryptoOp } from './crypto-ops.js'

let fixture: Promise<CryptoFixture> | undefined

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    fixture ??= cryptoFixture(cryptoProvider)
    const ready = await fixture
    await runCryptoOp(ready, url.searchParams.get('op') as CryptoOp, Number(url.searchParams.get('n') ?? '0'))
    return new Response('ok')
  },
}
