/**
 * What the examples need besides httpbin, all on 127.0.0.1 and made on the spot: a throwaway CA
 * with a server certificate, and a real forward proxy (the npm `proxy` package) that asks for
 * credentials and logs what it is asked.
 */
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { Effect } from "effect"
import { webcrypto } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { createProxy } from "proxy"

/** A throwaway CA and a server certificate for 127.0.0.1, made in memory. */
export const makeCertificates = Effect.promise(async () => {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto)
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const
  const keys = () => webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]) as Promise<CryptoKeyPair>
  const period = { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) }
  const caKeys = await keys()
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=proxies-and-tls example CA",
    ...period,
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)]
  })
  const serverKeys = await keys()
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: "CN=127.0.0.1",
    issuer: ca.subject,
    ...period,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "ip", value: "127.0.0.1" }])]
  })
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", serverKeys.privateKey)).toString("base64")
  const key = `-----BEGIN PRIVATE KEY-----\n${der.replace(/(.{64})/g, "$1\n")}\n-----END PRIVATE KEY-----\n`
  return { caCert: ca.toString("pem"), serverCert: server.toString("pem"), serverKey: key }
})

/** The npm `proxy` package on 127.0.0.1, asking for `alice:s3cret`, logging what it is asked. */
export const startProxy = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly seen: Array<string>; readonly server: http.Server }>((resume) => {
    const seen: Array<string> = []
    const server = createProxy(http.createServer())
    server.authenticate = (req) =>
      req.headers["proxy-authorization"] === `Basic ${Buffer.from("alice:s3cret").toString("base64")}`
    server.prependListener("request", (req: http.IncomingMessage) => seen.push(`${req.method} ${req.url}`))
    server.prependListener("connect", (req: http.IncomingMessage) => seen.push(`${req.method} ${req.url}`))
    server.listen(
      0,
      "127.0.0.1",
      () => resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server }))
    )
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)
