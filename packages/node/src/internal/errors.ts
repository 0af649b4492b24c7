/**
 * The one place where undici and Node errors become our tagged errors, by their stable codes.
 *
 * @internal
 */
import type { PreparedRequest } from "@effect-requests/core"
import { RequestError } from "@effect-requests/core"
import { isTlsStall } from "./timings.js"

/** Where in the exchange the error happened. */
export type Phase = "connect" | "headers" | "body"

const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_CRL",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_TLS_HANDSHAKE_TIMEOUT",
  "ERR_TLS_INVALID_PROTOCOL_VERSION",
  "ERR_TLS_PROTOCOL_VERSION_CONFLICT",
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
  "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE",
  "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
  "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
  "ERR_SSL_BAD_DECRYPT",
  "ERR_OSSL_BAD_DECRYPT",
  "ERR_OSSL_EVP_BAD_DECRYPT",
  "ERR_SSL_PEM_ROUTINES",
  "EPROTO"
])

const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "EADDRNOTAVAIL",
  "ECONNABORTED"
])

/** A failure of the proxy leg, as `internal/proxy.ts` reports it. */
const isProxyConnectError = (error: unknown): boolean => error instanceof Error && error.name === "ProxyConnectError"

/** The status a proxy answered instead of 200 to CONNECT, when that is what failed. */
const proxyStatus = (error: unknown): number | undefined => {
  const status = (error as { status?: unknown } | null)?.status
  if (typeof status === "number") return status
  const match = /Proxy response \((\d{3})\)/.exec(messageOf(error))
  return match ? Number(match[1]) : undefined
}

/** False for a failure that happened before the proxy was involved (a local DNS lookup for `socks5://`). */
const proxyFailure = (error: unknown): boolean => (error as { proxyFailure?: unknown } | null)?.proxyFailure !== false

const codeOf = (error: unknown): string | undefined => {
  if (typeof error !== "object" || error === null) return undefined
  const code = (error as { code?: unknown }).code
  if (typeof code === "string") return code
  const cause = (error as { cause?: unknown }).cause
  return cause === undefined || cause === error ? undefined : codeOf(cause)
}

const allCodes = (error: unknown, seen = new Set<unknown>()): Array<string> => {
  if (typeof error !== "object" || error === null || seen.has(error)) return []
  seen.add(error)
  const out: Array<string> = []
  const code = (error as { code?: unknown }).code
  if (typeof code === "string") out.push(code)
  const reason = (error as { reason?: unknown }).reason
  if (typeof reason === "string") out.push(reason)
  return [...out, ...allCodes((error as { cause?: unknown }).cause, seen)]
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const isSsl = (error: unknown): string | undefined => {
  for (const code of allCodes(error)) {
    if (TLS_CODES.has(code) || code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_")) return code
  }
  const message = messageOf(error)
  if (/certificate|self[- ]signed|SSL routines|TLS/i.test(message)) return message
  return undefined
}

/** Map an error from undici or Node to our error for `request`, given the phase it happened in. */
export const classify = (
  error: unknown,
  phase: Phase,
  request: PreparedRequest.PreparedRequest,
  context: { readonly proxy: string | undefined; readonly url: string }
): RequestError.RequestError => {
  if (RequestError.isRequestError(error)) return error
  const code = codeOf(error)
  const message = messageOf(error)
  const where = context.url
  if (code === "UND_ERR_CONNECT_TIMEOUT") {
    const tls = isTlsStall(error)
    return new RequestError.ConnectTimeout({
      message: `Connection to ${where} timed out (connect timeout${tls ? ", during the TLS handshake" : ""})`,
      phase: tls ? "tls" : "connect",
      request,
      cause: error
    })
  }
  if (code === "UND_ERR_HEADERS_TIMEOUT") {
    return new RequestError.ReadTimeout({
      message: `Read timed out waiting for the response headers from ${where}`,
      phase: "headers",
      request,
      cause: error
    })
  }
  if (code === "UND_ERR_BODY_TIMEOUT") {
    return new RequestError.ReadTimeout({
      message: `Read timed out waiting for the response body from ${where}`,
      phase: "body",
      request,
      cause: error
    })
  }
  const ssl = phase !== "body" ? isSsl(error) : undefined
  if (ssl !== undefined) {
    return new RequestError.SSLError({
      message: `TLS error talking to ${where}: ${ssl === message ? message : `${ssl}: ${message}`}`,
      reason: ssl,
      request,
      cause: error
    })
  }
  if (context.proxy !== undefined && phase === "connect" && proxyFailure(error)) {
    const statusCode = proxyStatus(error)
    if (statusCode !== undefined || isProxyConnectError(error) || CONNECT_CODES.has(code ?? "")) {
      return new RequestError.ProxyError({
        message: statusCode !== undefined
          ? `The proxy ${context.proxy} answered ${statusCode} for ${where}`
          : `Cannot connect to proxy ${context.proxy} for ${where}: ${message}`,
        ...(statusCode !== undefined ? { status: statusCode } : {}),
        request,
        cause: error
      })
    }
  }
  if (code === "UND_ERR_MAX_ORIGINS_REACHED") {
    return new RequestError.ConnectionError({
      message: `Connection pool is full: too many origins (maxOrigins) for ${where}`,
      code,
      request,
      cause: error
    })
  }
  if (code === "UND_ERR_INVALID_ARG" || code === "UND_ERR_NOT_SUPPORTED") {
    const header = /invalid (\S+) header|(\S+) header not supported/.exec(message)
    if (header) {
      return new RequestError.InvalidHeader({
        message: `The ${header[1] ?? header[2]} header cannot be sent by the Node adapter: ${message}`,
        name: header[1] ?? header[2] ?? "",
        request,
        cause: error
      })
    }
    return new RequestError.InvalidRequest({
      message: `Invalid request to ${where}: ${message}`,
      request,
      cause: error
    })
  }
  if (code === "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH") {
    return new RequestError.InvalidRequest({
      message: `The request body's length does not match its Content-Length (${where})`,
      request,
      cause: error
    })
  }
  if (phase === "body") {
    return new RequestError.ChunkedEncodingError({
      message: `Connection broken while reading the body of ${where}: ${message}`,
      request,
      cause: error
    })
  }
  if (code === "UND_ERR_CLOSED" || code === "UND_ERR_DESTROYED") {
    return new RequestError.ConnectionError({
      message: `The connection pool is closed (${where})`,
      code,
      request,
      cause: error
    })
  }
  return new RequestError.ConnectionError({
    message: `Connection to ${where} failed: ${code !== undefined ? `${code}: ` : ""}${message}`,
    ...(code !== undefined ? { code } : {}),
    request,
    cause: error
  })
}
