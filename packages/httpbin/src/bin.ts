/**
 * CLI: `pnpm httpbin [--port 8080] [--host 127.0.0.1] [--no-log] [--tls-key k.pem --tls-cert c.pem]`.
 * Listens on loopback by default, prints the URL, and on SIGINT / SIGTERM closes
 * every connection and exits 0.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
// The server class directly, not the Effect wrapper: the CLI starts faster without loading effect.
import { HttpbinServer } from "./internal/server.js"

const USAGE = `usage: httpbin [--port 8080] [--host 127.0.0.1] [--no-log] [--tls-key key.pem --tls-cert cert.pem]`

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8080" },
      host: { type: "string", default: "127.0.0.1" },
      "no-log": { type: "boolean", default: false },
      "tls-key": { type: "string" },
      "tls-cert": { type: "string" },
      help: { type: "boolean", short: "h", default: false }
    }
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${values.port}\n${USAGE}`)
  if ((values["tls-key"] === undefined) !== (values["tls-cert"] === undefined)) {
    throw new Error(`--tls-key and --tls-cert go together\n${USAGE}`)
  }
  const tls = values["tls-key"] !== undefined && values["tls-cert"] !== undefined
    ? { key: readFileSync(values["tls-key"]), cert: readFileSync(values["tls-cert"]) }
    : undefined
  const server = await HttpbinServer.start({ port, host: values.host, log: !values["no-log"], ...(tls ? { tls } : {}) })
  console.log(`httpbin listening on ${server.origin}`)
  const stop = (signal: string) => {
    console.log(`httpbin: ${signal}, closing`)
    void server.close().then(() => process.exit(0))
  }
  process.once("SIGINT", () => stop("SIGINT"))
  process.once("SIGTERM", () => stop("SIGTERM"))
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error))
  process.exit(1)
})
