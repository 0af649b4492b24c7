/**
 * TLS against an https httpbin with certificates made at test time (utils/pki.ts): verify with a
 * CA (PEM, file, directory, REQUESTS_CA_BUNDLE), verify off, no connection reused across TLS
 * settings (CVE-2024-35195), untrusted / wrong-host / expired certificates, mutual TLS.
 */
import { Session } from "@effect-requests/core"
import type { RequestError } from "@effect-requests/core"
import { Httpbin } from "@effect-requests/httpbin"
import { makePki } from "@effect-requests/httpbin/TestCertificates"
import { type NodeSession } from "@effect-requests/node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { inSession } from "./utils/layers.js"

const pki = await makePki()

/** A temporary directory with the PKI's PEM files, removed with the scope. */
const files = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(path.join(tmpdir(), "effect-requests-tls-"))
    const write = (name: string, text: string) => {
      const file = path.join(dir, name)
      writeFileSync(file, text)
      return file
    }
    const caDir = path.join(dir, "certs")
    mkdirSync(caDir)
    writeFileSync(path.join(caDir, "5a3c1f0e.0"), pki.caCert)
    return {
      dir,
      ca: write("ca.pem", pki.caCert),
      caDir,
      clientCert: write("client.crt", pki.clientCert),
      clientKey: write("client.key", pki.clientKey),
      clientBoth: write("client-both.pem", `${pki.clientCert}\n${pki.clientKey}`),
      notPem: write("empty.pem", "nothing here\n"),
      missing: path.join(dir, "does-not-exist.pem")
    }
  }),
  ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const serverTls = { key: pki.serverKey, cert: pki.serverCert }
const mtls = { ...serverTls, ca: pki.caCert, requestCert: true, rejectUnauthorized: true }

const ssl = (error: RequestError.RequestError) => {
  assert.strictEqual(error._tag, "SSLError", error.message)
  return error as RequestError.SSLError
}

describe("verify", () => {
  it.scoped("passes with the CA as PEM text, a file or a directory", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: serverTls })
      const f = yield* files
      for (const verify of [pki.caCert, f.ca, f.caDir]) {
        const response = yield* inSession(Session.get(httpbin.url("/get")), { verify })
        assert.strictEqual(response.status, 200)
      }
    }))

  it.scoped("fails with SSLError carrying the reason when the CA is not trusted", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: serverTls })
      const error = ssl(yield* inSession(Effect.flip(Session.get(httpbin.url("/get")))))
      assert.oneOf(error.reason, ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"])
      assert.include(error.message, httpbin.origin)
      assert.lengthOf(yield* httpbin.requests, 0)
    }))

  it.scoped("fails on a certificate for another host, and on an expired one, even with the CA", () =>
    Effect.gen(function*() {
      const wrongHost = yield* Httpbin.make({ tls: { key: pki.wrongHostKey, cert: pki.wrongHostCert } })
      const expired = yield* Httpbin.make({ tls: { key: pki.expiredKey, cert: pki.expiredCert } })
      const [a, b] = yield* inSession(
        Effect.all([Effect.flip(Session.get(wrongHost.url("/get"))), Effect.flip(Session.get(expired.url("/get")))]),
        { verify: pki.caCert }
      )
      assert.strictEqual(ssl(a).reason, "ERR_TLS_CERT_ALTNAME_INVALID")
      assert.strictEqual(ssl(b).reason, "CERT_HAS_EXPIRED")
    }))

  it.scoped("verify: false passes, and a later verified request to the same host gets a new connection and fails", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: serverTls })
      const url = httpbin.url("/get")
      const [off, on, offAgain, withCa, defaultAgain] = yield* inSession(Effect.all([
        Effect.either(Session.get(url, { verify: false })),
        Effect.either(Session.get(url)),
        Effect.either(Session.get(url, { verify: false })),
        Effect.either(Session.get(url, { verify: pki.caCert })),
        Effect.either(Session.get(url, { verify: true }))
      ]))
      assert.deepStrictEqual([off._tag, on._tag, offAgain._tag, withCa._tag, defaultAgain._tag], [
        "Right",
        "Left",
        "Right",
        "Right",
        "Left"
      ])
      if (on._tag === "Left") ssl(on.left)
      // The two unverified requests shared a connection; the CA-verified one had its own.
      const log = yield* httpbin.requests
      assert.lengthOf(log, 3)
      assert.strictEqual(log[0]!.socketId, log[1]!.socketId)
      assert.notStrictEqual(log[2]!.socketId, log[0]!.socketId)
    }))

  it.scoped("session verify: false applies to every request; a request may turn it back on", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: serverTls })
      const [plain, strict] = yield* inSession(
        Effect.all([
          Effect.either(Session.get(httpbin.url("/get"))),
          Effect.either(Session.get(httpbin.url("/get"), { verify: true }))
        ]),
        { verify: false }
      )
      assert.deepStrictEqual([plain._tag, strict._tag], ["Right", "Left"])
    }))

  it.scoped("fails typed (not thrown) on a missing or empty CA bundle, before connecting", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: serverTls })
      const f = yield* files
      const missing = ssl(yield* inSession(Effect.flip(Session.get(httpbin.url("/get"), { verify: f.missing }))))
      assert.strictEqual(missing.reason, "CA_BUNDLE_NOT_FOUND")
      assert.include(missing.message, `invalid path: ${f.missing}`)
      assert.isDefined(missing.request)
      const empty = ssl(yield* inSession(Effect.flip(Session.get(httpbin.url("/get"), { verify: f.notPem }))))
      assert.strictEqual(empty.reason, "CA_BUNDLE_INVALID")
      const connections = yield* httpbin.connections
      assert.strictEqual(connections.total, 0)
    }))

  it.scoped("ignores TLS settings for plain http (a missing CA file does not matter there)", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make()
      const f = yield* files
      const response = yield* inSession(Session.get(httpbin.url("/get")), { verify: f.missing })
      assert.strictEqual(response.status, 200)
    }))
})

describe("CA bundle from the environment (through the ConfigProvider)", () => {
  it.scoped("REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE are used for verify: true", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: serverTls })
      const f = yield* files
      for (const name of ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"]) {
        const response = yield* inSession(Session.get(httpbin.url("/get")), {}, [[name, f.ca]])
        assert.strictEqual(response.status, 200, name)
      }
    }))

  it.scoped("explicit settings win: trustEnv: false ignores it, verify: false or a CA path beat it", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: serverTls })
      const f = yield* files
      const url = httpbin.url("/get")
      const ignored = yield* inSession(Effect.flip(Session.get(url)), { trustEnv: false }, [[
        "REQUESTS_CA_BUNDLE",
        f.ca
      ]])
      ssl(ignored)
      // A bundle that does not exist would fail every verified request; explicit settings never read it.
      const env = [["REQUESTS_CA_BUNDLE", f.missing]] as const
      const off = yield* inSession(Session.get(url), { verify: false }, env)
      const own = yield* inSession(Session.get(url), { verify: f.ca }, env)
      assert.deepStrictEqual([off.status, own.status], [200, 200])
      const broken = ssl(yield* inSession(Effect.flip(Session.get(url)), {}, env))
      assert.strictEqual(broken.reason, "CA_BUNDLE_NOT_FOUND")
    }))
})

describe("client certificates (mutual TLS)", () => {
  interface ClientCert {
    readonly authorized: boolean
    readonly subject: { readonly CN?: string } | null
  }
  const clientCert = (url: string, cert?: NodeSession.Options["cert"]) =>
    Effect.flatMap(
      Session.get(url, cert === undefined ? {} : { cert }),
      (r) => Effect.map(r.json, (j) => j as ClientCert)
    )

  it.scoped("presents a certificate + key pair (PEM or paths) or one combined file", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: mtls })
      const f = yield* files
      const url = httpbin.url("/tls/client-cert")
      for (
        const cert of [
          { cert: pki.clientCert, key: pki.clientKey },
          { cert: f.clientCert, key: f.clientKey },
          f.clientBoth
        ]
      ) {
        const seen = yield* inSession(clientCert(url), { verify: pki.caCert, cert })
        assert.isTrue(seen.authorized)
        assert.strictEqual(seen.subject?.CN, "test client")
      }
    }))

  it.scoped("decrypts an encrypted key with its passphrase; a wrong passphrase fails typed", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: mtls })
      const url = httpbin.url("/tls/client-cert")
      const good = { cert: pki.clientCert, key: pki.clientKeyEncrypted, passphrase: Redacted.make(pki.passphrase) }
      const seen = yield* inSession(clientCert(url), { verify: pki.caCert, cert: good })
      assert.strictEqual(seen.subject?.CN, "test client")
      const bad = { ...good, passphrase: Redacted.make("not it") }
      const error = ssl(yield* inSession(Effect.flip(clientCert(url)), { verify: pki.caCert, cert: bad }))
      assert.include(error.message, "client certificate")
      assert.notInclude(error.message, "not it")
      assert.notInclude(error.message, pki.passphrase)
    }))

  it.scoped("uses a per-request certificate on its own connection only", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({
        tls: { ...serverTls, ca: pki.caCert, requestCert: true, rejectUnauthorized: false }
      })
      const url = httpbin.url("/tls/client-cert")
      const [withCert, without] = yield* inSession(
        Effect.all([clientCert(url, { cert: pki.clientCert, key: pki.clientKey }), clientCert(url)]),
        { verify: pki.caCert }
      )
      assert.strictEqual(withCert.subject?.CN, "test client")
      assert.isNull(without.subject, "the second request did not reuse the client-certificate connection")
    }))

  it.scoped("fails with SSLError without a certificate, or with one from another CA", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: mtls })
      const url = httpbin.url("/tls/client-cert")
      const [none, stranger] = yield* inSession(
        Effect.all([
          Effect.flip(clientCert(url)),
          Effect.flip(clientCert(url, { cert: pki.strangerCert, key: pki.strangerKey }))
        ]),
        { verify: pki.caCert }
      )
      assert.strictEqual(ssl(none).reason, "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED")
      // TLS 1.3: the server checks the certificate after the handshake and may just close.
      assert.oneOf(stranger._tag, ["SSLError", "ConnectionError"])
      assert.lengthOf(yield* httpbin.requests, 0)
    }))

  it.scoped("fails typed on a missing certificate or key file", () =>
    Effect.gen(function*() {
      const httpbin = yield* Httpbin.make({ tls: mtls })
      const f = yield* files
      const url = httpbin.url("/tls/client-cert")
      const noCert = ssl(yield* inSession(Effect.flip(clientCert(url, { cert: f.missing, key: f.clientKey }))))
      assert.strictEqual(noCert.reason, "CERT_FILE_NOT_FOUND")
      const noKey = ssl(yield* inSession(Effect.flip(clientCert(url, { cert: f.clientCert, key: f.missing }))))
      assert.strictEqual(noKey.reason, "KEY_FILE_NOT_FOUND")
      const mismatch = ssl(
        yield* inSession(Effect.flip(clientCert(url, { cert: pki.clientCert, key: pki.strangerKey })))
      )
      assert.include(mismatch.message, "client certificate")
    }))
})
