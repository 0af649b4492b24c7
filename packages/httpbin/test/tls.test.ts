import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Httpbin } from "../src/index.js"
import { makePki } from "../src/TestCertificates.js"
import { fetchAll } from "./utils/fetch.js"
import { exchange, get, headersOf, parseResponse, type Target } from "./utils/raw.js"

const pki = await makePki()

const tlsGet = (httpbin: { readonly port: number }, path: string, client: Partial<Target["tls"]> = {}) =>
  Effect.map(
    Effect.promise(() =>
      exchange(
        { host: "127.0.0.1", port: httpbin.port, tls: { ca: pki.caCert, servername: "localhost", ...client } },
        get(path)
      )
    ),
    (raw) => ({ raw, res: raw.bytes.length > 0 ? parseResponse(raw.bytes) : undefined })
  )

const json = (res: { readonly body: Buffer } | undefined) => JSON.parse(res!.body.toString())

layer(Httpbin.layerOptions({
  tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: false }
}))("https mode", (it) => {
  it.effect("serves https; urls, echo and log say so", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      assert.strictEqual(httpbin.protocol, "https")
      assert.strictEqual(httpbin.origin, `https://127.0.0.1:${httpbin.port}`)
      const { res } = yield* tlsGet(httpbin, "/get?a=1")
      assert.strictEqual(res!.status, 200)
      assert.strictEqual(json(res).url, "https://127.0.0.1/get?a=1")
      const entry = Option.getOrThrow(yield* httpbin.lastRequest)
      assert.isTrue(entry.tls)
      assert.isAbove(entry.socketId, 0)
    }))

  it.effect("/tls/client-cert reports a client certificate signed by the CA as authorized", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const { res } = yield* tlsGet(httpbin, "/tls/client-cert", { key: pki.clientKey, cert: pki.clientCert })
      const body = json(res)
      assert.isTrue(body.authorized)
      assert.strictEqual(body.subject.CN, "test client")
      assert.strictEqual(body.subject.O, "effect-requests")
      assert.strictEqual(body.issuer.CN, "effect-requests test CA")
      assert.isNull(body.authorizationError)
    }))

  it.effect("/tls/client-cert reports no certificate, or an untrusted one, as not authorized", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const none = json((yield* tlsGet(httpbin, "/tls/client-cert")).res)
      assert.isFalse(none.authorized)
      assert.isNull(none.subject)
      const stranger = json(
        (yield* tlsGet(httpbin, "/tls/client-cert", { key: pki.strangerKey, cert: pki.strangerCert })).res
      )
      assert.isFalse(stranger.authorized)
      assert.strictEqual(stranger.subject.CN, "stranger")
      assert.isString(stranger.authorizationError)
    }))

  it.effect("cookies set over https are Secure", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const { res } = yield* tlsGet(httpbin, "/cookies/set?a=1")
      assert.deepStrictEqual(headersOf(res!, "set-cookie"), ["a=1; Secure; Path=/"])
    }))

  it.effect("/fault/reset-mid-body resets the TCP connection under TLS too", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const { raw, res } = yield* tlsGet(httpbin, "/fault/reset-mid-body?bytes=50")
      assert.strictEqual(raw.errorCode, "ECONNRESET")
      assert.strictEqual(res!.body.length, 50)
    }))
})

layer(Httpbin.layerOptions({
  tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: true }
}))("https mode refusing unauthorized clients", (it) => {
  it.effect("a client without a trusted certificate gets no response; a trusted one does", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      const refused = yield* tlsGet(httpbin, "/get", { key: pki.strangerKey, cert: pki.strangerCert })
      assert.isUndefined(refused.res)
      assert.strictEqual(refused.raw.bytes.length, 0)
      const accepted = yield* tlsGet(httpbin, "/tls/client-cert", { key: pki.clientKey, cert: pki.clientCert })
      assert.isTrue(json(accepted.res).authorized)
    }))
})

layer(Httpbin.layer)("http mode", (it) => {
  it.effect("/tls/client-cert is 404 over plain http", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.Httpbin
      assert.strictEqual((yield* fetchAll(httpbin.url("/tls/client-cert"))).status, 404)
    }))
})
