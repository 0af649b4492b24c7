import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const packageDir = fileURLToPath(new URL("..", import.meta.url))

/** Spawn the CLI with tsx; resolves the first stdout line that matches `pattern` (or undefined on exit). */
const run = (args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/bin.ts", ...args], {
    cwd: packageDir,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
  const listening = new Promise<string | undefined>((resolve) => {
    const check = () => {
      const m = /httpbin listening on (\S+)/.exec(stdout)
      if (m) resolve(m[1])
    }
    child.stdout.on("data", check)
    void exited.then(() => resolve(undefined))
  })
  return { child, exited, listening, output: () => ({ stdout, stderr }) }
}

const kill = (child: ChildProcess) => {
  if (child.exitCode === null) child.kill("SIGKILL")
}

describe.concurrent("CLI", () => {
  it("listens on loopback, serves, and exits 0 on SIGINT even with a stalled request", async () => {
    const cli = run(["--port", "0"])
    try {
      const url = await cli.listening
      assert.match(url ?? "", /^http:\/\/127\.0\.0\.1:\d+$/, JSON.stringify(cli.output()))
      const res = await fetch(`${url}/get?a=1`)
      assert.deepStrictEqual((await res.json()).args, { a: "1" })
      const stalled = fetch(`${url}/fault/stall-headers?ms=30000`).then(() => "answered", () => "failed")
      for (let i = 0; i < 300; i++) {
        const { activeRequests } = await (await fetch(`${url}/__connections`)).json()
        if (activeRequests === 1) break
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      const log = await (await fetch(`${url}/__log`)).json()
      assert.strictEqual(log.length, 2)
      cli.child.kill("SIGINT")
      const exit = await cli.exited
      assert.deepStrictEqual(exit, { code: 0, signal: null })
      assert.strictEqual(await stalled, "failed")
    } finally {
      kill(cli.child)
    }
  })

  it("--no-log turns the log off; SIGTERM also exits 0", async () => {
    const cli = run(["--port", "0", "--host", "127.0.0.1", "--no-log"])
    try {
      const url = await cli.listening
      await fetch(`${url}/get`)
      assert.deepStrictEqual(await (await fetch(`${url}/__log`)).json(), [])
      cli.child.kill("SIGTERM")
      assert.strictEqual((await cli.exited).code, 0)
    } finally {
      kill(cli.child)
    }
  })

  it("rejects a bad port with exit code 1", async () => {
    const cli = run(["--port", "nope"])
    try {
      assert.strictEqual((await cli.exited).code, 1)
      assert.include(cli.output().stderr, "invalid --port")
    } finally {
      kill(cli.child)
    }
  })
})
