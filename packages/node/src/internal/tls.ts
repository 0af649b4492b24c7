/**
 * TLS material for a dispatcher: `verify` (true, false, a CA bundle as a path, a directory of
 * certificates or PEM text) and `cert` (one PEM holding certificate and key, or a certificate and a
 * key, each a path or PEM text, with an optional passphrase). Files are read once, when the
 * dispatcher is made, and the whole set is checked there with `tls.createSecureContext`, so a
 * missing file, a wrong passphrase or a key that does not match fails with a typed `SSLError`
 * before any connection is attempted (requests raises a bare `OSError`).
 *
 * A CA bundle replaces the default trust store; it never adds to it (CVE-2019-11324).
 *
 * @internal
 */
import type { Adapter } from "@effect-requests/core"
import { RequestError } from "@effect-requests/core"
import { Effect, Redacted } from "effect"
import { readdirSync, readFileSync, statSync } from "node:fs"
import * as path from "node:path"
import * as tls from "node:tls"
import type * as undici from "undici"

/** What undici's connector and `tls.connect` take. */
export interface TlsOptions {
  readonly rejectUnauthorized: boolean
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  readonly passphrase?: string
}

const isPem = (value: string) => value.includes("-----BEGIN")

const fail = (message: string, reason: string, cause?: unknown) =>
  Effect.fail(new RequestError.SSLError({ message, reason, cause }))

const readFile = (file: string): Effect.Effect<string | undefined> =>
  Effect.sync(() => {
    try {
      return readFileSync(file, "utf8")
    } catch {
      return undefined
    }
  })

/** Every certificate in a directory (OpenSSL's hashed `*.0` links, `.pem`, `.crt`, ...). */
const readDirectory = (dir: string): Effect.Effect<string> =>
  Effect.sync(() => {
    const out: Array<string> = []
    for (const name of readdirSync(dir).sort()) {
      try {
        const file = path.join(dir, name)
        if (!statSync(file).isFile()) continue
        const text = readFileSync(file, "utf8")
        if (text.includes("-----BEGIN CERTIFICATE-----")) out.push(text)
      } catch {
        // unreadable entries are skipped, as OpenSSL does
      }
    }
    return out.join("\n")
  })

const isDirectory = (value: string): Effect.Effect<boolean> =>
  Effect.sync(() => {
    try {
      return statSync(value).isDirectory()
    } catch {
      return false
    }
  })

const loadCa = (verify: string): Effect.Effect<string, RequestError.SSLError> =>
  Effect.gen(function*() {
    if (isPem(verify)) return verify
    const text = (yield* isDirectory(verify)) ? yield* readDirectory(verify) : yield* readFile(verify)
    if (text === undefined) {
      return yield* fail(
        `Could not find a suitable TLS CA certificate bundle, invalid path: ${verify}`,
        "CA_BUNDLE_NOT_FOUND"
      )
    }
    if (!text.includes("-----BEGIN CERTIFICATE-----")) {
      return yield* fail(`The TLS CA certificate bundle holds no certificate: ${verify}`, "CA_BUNDLE_INVALID")
    }
    return text
  })

const loadPem = (
  value: string,
  what: "certificate" | "key"
): Effect.Effect<string, RequestError.SSLError> =>
  isPem(value)
    ? Effect.succeed(value)
    : Effect.flatMap(readFile(value), (text) =>
      text === undefined
        ? fail(
          `Could not find the TLS ${what} file, invalid path: ${value}`,
          what === "key" ? "KEY_FILE_NOT_FOUND" : "CERT_FILE_NOT_FOUND"
        )
        : Effect.succeed(text))

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === "string" ? code : undefined
}

/** Load and check the TLS options for `verify` and `cert`. */
export const load = (
  verify: boolean | string,
  cert: Adapter.Cert | undefined
): Effect.Effect<TlsOptions, RequestError.SSLError> =>
  Effect.gen(function*() {
    const options: { -readonly [K in keyof TlsOptions]: TlsOptions[K] } = { rejectUnauthorized: verify !== false }
    if (typeof verify === "string") options.ca = yield* loadCa(verify)
    if (cert !== undefined) {
      if (typeof cert === "string") {
        const pem = yield* loadPem(cert, "certificate")
        options.cert = pem
        options.key = pem
      } else {
        options.cert = yield* loadPem(cert.cert, "certificate")
        options.key = yield* loadPem(cert.key, "key")
        if (cert.passphrase !== undefined) options.passphrase = Redacted.value(cert.passphrase)
      }
    }
    // Check everything now: a bad CA, a wrong passphrase or a key that does not match the certificate.
    yield* Effect.try({
      try: () => tls.createSecureContext(options),
      catch: (cause) => {
        const code = codeOf(cause) ?? "TLS_CONFIG_INVALID"
        const what = options.cert !== undefined ? "the client certificate and key" : "the CA certificate bundle"
        const detail = cause instanceof Error ? cause.message : String(cause)
        return new RequestError.SSLError({
          message: `Could not load ${what}: ${code === "ERR_OSSL_BAD_DECRYPT" ? "wrong passphrase" : detail}`,
          reason: code,
          cause
        })
      }
    })
    return options
  })

type Connector = undici.buildConnector.connector

const isTlsAlert = (error: unknown): boolean => {
  const code = codeOf(error)
  return code !== undefined && code.startsWith("ERR_SSL_")
}

/**
 * Keep a TLS alert the server sent after the handshake (TLS 1.3 reports a rejected or missing
 * client certificate that way) as the connection's error: undici would otherwise report the close
 * that follows ("other side closed") and the reason would be lost.
 */
export const keepAlerts = (connect: Connector): Connector => (options, callback) =>
  connect(options, (...args) => {
    const [error, socket] = args
    if (error !== null) return callback(error, null)
    let alert: Error | undefined
    socket.on("error", (cause: Error) => {
      if (alert === undefined && isTlsAlert(cause)) alert = cause
    })
    const destroy = socket.destroy.bind(socket)
    socket.destroy = (reason?: Error) => destroy(alert !== undefined && reason !== undefined ? alert : reason)
    callback(null, socket)
  })
