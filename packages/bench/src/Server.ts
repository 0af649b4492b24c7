/**
 * The httpbin server the benchmarks talk to, in a child process of its own so that its CPU is
 * not counted in the measuring process: started with `node --import tsx` on the httpbin CLI,
 * with logging off, stopped with SIGTERM.
 *
 * @since 0.1.0
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Http from "node:http"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/**
 * Sockets the server has open now, and has accepted since it started.
 *
 * @since 0.1.0
 * @category models
 */
export interface Connections {
  readonly open: number
  readonly total: number
}

/**
 * A running server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Server {
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string
  readonly pid: number
  /**
   * `GET /__connections` on a connection of its own (closed afterwards): the count includes that
   * one connection, so the connections opened between two readings are `after - before - 1`.
   */
  readonly connections: () => Promise<Connections>
  /** SIGTERM, then wait for the process to exit (SIGKILL after 5 s). */
  readonly stop: () => Promise<void>
}

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

const binPath = (): string => createRequire(import.meta.url).resolve("@effect-requests/httpbin/bin")

const getJson = (origin: string, target: string): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const request = Http.get(`${origin}${target}`, { agent: false, headers: { connection: "close" } }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")))
        } catch (error) {
          reject(error)
        }
      })
      res.on("error", reject)
    })
    request.on("error", reject)
  })

/**
 * The connection counts of the httpbin server at `origin` (`GET /__connections` on a connection of
 * its own, counted too: see `Server.connections`).
 *
 * @since 0.1.0
 * @category connections
 */
export const connectionsAt = async (origin: string): Promise<Connections> => {
  const stats = (await getJson(origin, "/__connections")) as Partial<Connections>
  return { open: Number(stats.open), total: Number(stats.total) }
}

const waitForExit = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const kill = setTimeout(() => child.kill("SIGKILL"), 5_000)
    child.once("exit", () => {
      clearTimeout(kill)
      resolve()
    })
  })

/**
 * Start httpbin on a free port of 127.0.0.1 and wait until it listens.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = (options: { readonly port?: number } = {}): Promise<Server> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", binPath(), "--port", String(options.port ?? 0), "--no-log"],
      { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] }
    )
    let output = ""
    let errors = ""
    const fail = (reason: string) => {
      child.kill("SIGKILL")
      reject(new Error(`httpbin did not start: ${reason}\n${output}${errors}`))
    }
    const timer = setTimeout(() => fail("no 'listening' line after 20 s"), 20_000)
    child.stderr.setEncoding("utf8").on("data", (text: string) => (errors += text))
    child.once("error", (error) => {
      clearTimeout(timer)
      fail(error.message)
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      fail(`exited with code ${code}`)
    })
    child.stdout.setEncoding("utf8").on("data", function onData(text: string) {
      output += text
      const match = /httpbin listening on (http:\/\/\S+)/.exec(output)
      if (match === null) return
      clearTimeout(timer)
      child.stdout.off("data", onData)
      child.removeAllListeners("exit")
      child.stdout.resume()
      const origin = match[1]!
      resolve({
        origin,
        pid: child.pid ?? 0,
        connections: () => connectionsAt(origin),
        stop: () => {
          child.kill("SIGTERM")
          return waitForExit(child)
        }
      })
    })
  })
