/**
 * Throwaway TLS material made in memory for each test run: a CA, a server
 * certificate for 127.0.0.1 / localhost, and a client certificate, all signed by the CA.
 * Nothing is written to disk.
 */
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { webcrypto } from "node:crypto"

x509.cryptoProvider.set(webcrypto as unknown as Crypto)

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const

/** PEM strings of the generated material. */
export interface TestPki {
  readonly caCert: string
  readonly serverKey: string
  readonly serverCert: string
  readonly clientKey: string
  readonly clientCert: string
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

const validity = () => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) })

const selfSignedCa = async (name: string) => {
  const pair = await keys()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name,
    ...validity(),
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
  extensions: Array<x509.Extension>
) => {
  const pair = await keys()
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject,
    issuer: ca.cert.subject,
    ...validity(),
    publicKey: pair.publicKey,
    signingKey: ca.pair.privateKey,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(false), ...extensions]
  })
  return { key: await pemKey(pair.privateKey), cert: cert.toString("pem") }
}

/** Generate a fresh PKI. */
export const makePki = async (): Promise<TestPki> => {
  const ca = await selfSignedCa("CN=httpbin test CA")
  const stranger = await selfSignedCa("CN=stranger CA")
  const server = await leaf(ca, "CN=127.0.0.1", "02", [
    new x509.SubjectAlternativeNameExtension([{ type: "ip", value: "127.0.0.1" }, { type: "dns", value: "localhost" }]),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])
  ])
  const client = await leaf(ca, "CN=test client,O=effect-requests", "03", [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])
  ])
  const strangerClient = await leaf(stranger, "CN=stranger", "04", [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])
  ])
  return {
    caCert: ca.cert.toString("pem"),
    serverKey: server.key,
    serverCert: server.cert,
    clientKey: client.key,
    clientCert: client.cert,
    strangerKey: strangerClient.key,
    strangerCert: strangerClient.cert
  }
}
