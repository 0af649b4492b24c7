/**
 * Throwaway TLS material for tests and demos, made in memory on each call (nothing is written to
 * disk, no key material is ever committed): a CA; server certificates for 127.0.0.1 and
 * `localhost` (a valid one, one for another name, an expired one); a client certificate signed by
 * the CA, also with its key encrypted under a passphrase; and a client certificate from a CA the
 * server does not trust. ECDSA P-256 keys, PEM strings, through `@peculiar/x509` on WebCrypto.
 *
 * ```ts
 * const pki = yield* TestCertificates.make
 * const server = yield* Httpbin.make({ tls: { key: pki.serverKey, cert: pki.serverCert } })
 * ```
 *
 * @since 0.1.0
 */
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { Effect } from "effect"
import { createPrivateKey, webcrypto } from "node:crypto"

x509.cryptoProvider.set(webcrypto as unknown as Crypto)

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const

/**
 * PEM strings of the generated material.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestPki {
  readonly caCert: string
  /** For 127.0.0.1 and `localhost`. */
  readonly serverKey: string
  readonly serverCert: string
  /** Valid, but for the name `other.invalid` only. */
  readonly wrongHostKey: string
  readonly wrongHostCert: string
  /** For 127.0.0.1, expired yesterday. */
  readonly expiredKey: string
  readonly expiredCert: string
  readonly clientKey: string
  readonly clientCert: string
  /** The client key encrypted (AES-256-CBC, PKCS#8) with `passphrase`. */
  readonly clientKeyEncrypted: string
  readonly passphrase: string
  /** A client certificate signed by a CA the server does not trust. */
  readonly strangerKey: string
  readonly strangerCert: string
}

const pemKey = async (key: CryptoKey): Promise<string> => {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key))
  return `-----BEGIN PRIVATE KEY-----\n${
    der.toString("base64").replace(/(.{64})/g, "$1\n")
  }\n-----END PRIVATE KEY-----\n`
}

const keys = () => webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as Promise<CryptoKeyPair>

const DAY = 86_400_000
const valid = () => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + DAY) })
const expired = () => ({ notBefore: new Date(Date.now() - 3 * DAY), notAfter: new Date(Date.now() - DAY) })

const selfSignedCa = async (name: string) => {
  const pair = await keys()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name,
    ...valid(),
    keys: pair,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)
    ]
  })
  return { pair, cert }
}

const leaf = async (
  ca: { readonly pair: CryptoKeyPair; readonly cert: x509.X509Certificate },
  subject: string,
  serial: string,
  extensions: Array<x509.Extension>,
  period = valid()
) => {
  const pair = await keys()
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject,
    issuer: ca.cert.subject,
    ...period,
    publicKey: pair.publicKey,
    signingKey: ca.pair.privateKey,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(false), ...extensions]
  })
  return { key: await pemKey(pair.privateKey), cert: cert.toString("pem") }
}

const serverNames = (names: ReadonlyArray<x509.JsonGeneralName>) => [
  new x509.SubjectAlternativeNameExtension([...names]),
  new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])
]

const clientUse = () => [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])]

/**
 * A fresh PKI, as a promise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePki = async (): Promise<TestPki> => {
  const ca = await selfSignedCa("CN=effect-requests test CA")
  const stranger = await selfSignedCa("CN=stranger CA")
  const loopback = [{ type: "ip", value: "127.0.0.1" }, { type: "dns", value: "localhost" }] as const
  const server = await leaf(ca, "CN=127.0.0.1", "02", serverNames(loopback))
  const wrongHost = await leaf(ca, "CN=other.invalid", "05", serverNames([{ type: "dns", value: "other.invalid" }]))
  const old = await leaf(ca, "CN=127.0.0.1", "06", serverNames(loopback), expired())
  const client = await leaf(ca, "CN=test client,O=effect-requests", "03", clientUse())
  const strangerClient = await leaf(stranger, "CN=stranger", "04", clientUse())
  const passphrase = "correct horse battery staple"
  const clientKeyEncrypted = createPrivateKey(client.key).export({
    type: "pkcs8",
    format: "pem",
    cipher: "aes-256-cbc",
    passphrase
  }) as string
  return {
    caCert: ca.cert.toString("pem"),
    serverKey: server.key,
    serverCert: server.cert,
    wrongHostKey: wrongHost.key,
    wrongHostCert: wrongHost.cert,
    expiredKey: old.key,
    expiredCert: old.cert,
    clientKey: client.key,
    clientCert: client.cert,
    clientKeyEncrypted,
    passphrase,
    strangerKey: strangerClient.key,
    strangerCert: strangerClient.cert
  }
}

/**
 * A fresh PKI, as an Effect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<TestPki> = Effect.promise(makePki)
