import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Bench, Clients, Report, Server } from "../src/index.js"

const KiB = 1024

const tiny: Bench.Options = {
  ...Bench.defaults,
  rounds: 1,
  sequential: 5,
  concurrent: 16,
  concurrency: 4,
  downloadBytes: 256 * KiB,
  redirectChains: 2,
  uploadBytes: 256 * KiB,
  uploads: 2,
  chunkSize: 64 * KiB,
  runTimeoutMs: 10_000,
  isolation: "none"
}

const positive = (n: number | null) => n !== null && Number.isFinite(n) && n > 0

describe("bench", () => {
  it.live("runs every client through every scenario and reports finite positive numbers", () =>
    Effect.gen(function*() {
      const report = yield* Effect.promise(() => Bench.run(tiny))
      assert.deepStrictEqual(report.scenarios.map((s) => s.id), [
        "get-sequential",
        "get-concurrent",
        "download",
        "redirect",
        "upload"
      ])
      for (const scenario of report.scenarios) {
        assert.deepStrictEqual(scenario.rows.map((r) => r.client), Clients.all.map((c) => c.name))
        for (const row of scenario.rows) {
          const where = `${scenario.id} / ${row.client}`
          assert.deepStrictEqual(row.errors, [], where)
          assert.isTrue(positive(row.median) && positive(row.min) && positive(row.max), where)
          assert.isTrue(positive(row.ratio), `${where}: ratio ${row.ratio}`)
          assert.isTrue(positive(row.cpuPerUnit) && positive(row.cpuRatio), `${where}: cpu ${row.cpuPerUnit}`)
          if (scenario.id === "download") assert.isTrue(Number.isFinite(row.rssGrowthMiB), where)
          if (scenario.id !== "download" && scenario.id !== "upload") {
            assert.isTrue(Number.isFinite(row.newConnectionsPer1k), where)
          }
          assert.strictEqual(row.checks !== null, row.ours, where)
        }
      }
      // Two uploads per run (`uploads: 2`), each checked against the server's byte count.
      assert.include(report.scenarios.find((s) => s.id === "upload")!.title, "POST /upload × 2, 256 KiB each")
      const text = Report.formatText(report)
      const markdown = Report.formatMarkdown(report)
      for (const client of Clients.all) {
        assert.include(text, client.name)
        assert.include(markdown, client.name)
      }
    }), { timeout: 30_000 })

  it.live("runs each client in a process of its own, which measures itself", () =>
    Effect.gen(function*() {
      const report = yield* Effect.promise(() =>
        Bench.run({ ...tiny, isolation: "process", clients: ["session"], scenarios: ["get-sequential", "download"] })
      )
      for (const scenario of report.scenarios) {
        assert.deepStrictEqual(scenario.rows.map((r) => r.client), ["undici", "session"])
        for (const row of scenario.rows) {
          const where = `${scenario.id} / ${row.client}`
          assert.deepStrictEqual(row.errors, [], where)
          assert.isTrue(positive(row.median) && positive(row.cpuPerUnit), where)
        }
      }
      const sequential = report.scenarios.find((s) => s.id === "get-sequential")!
      assert.isTrue(sequential.rows.every((row) => Number.isFinite(row.newConnectionsPer1k)))
    }), { timeout: 60_000 })

  it.live(
    "uploads from an async generator with uploadFrom: iterable, and says so in the title",
    () =>
      Effect.gen(function*() {
        const report = yield* Effect.promise(() =>
          Bench.run({
            ...tiny,
            uploadFrom: "iterable",
            clients: ["session", "@effect/platform"],
            scenarios: ["upload"]
          })
        )
        const [upload] = report.scenarios
        assert.include(upload!.title, "every client from an async generator")
        assert.deepStrictEqual(upload!.rows.map((r) => r.client), ["undici", "session", "@effect/platform"])
        for (const row of upload!.rows) {
          assert.deepStrictEqual(row.errors, [], row.client)
          assert.isTrue(positive(row.median) && positive(row.cpuPerUnit), row.client)
        }
      }),
    { timeout: 30_000 }
  )

  it.live("a worker that cannot start fails the run with its reason", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(Effect.promise(() => Server.start()), (s) => Effect.promise(s.stop))
      const ghost: Clients.Client = { ...Clients.sessionClient, name: "no-such-client" }
      const error = yield* Effect.flip(Effect.tryPromise(() => Bench.inChild(ghost, server.origin, tiny)))
      assert.include(String(error.cause), "unknown client no-such-client")
    }).pipe(Effect.scoped), { timeout: 60_000 })

  it.live(
    "a worker that does not answer in time is killed, and its later runs fail at once",
    () =>
      Effect.gen(function*() {
        const server = yield* Effect.acquireRelease(Effect.promise(() => Server.start()), (s) => Effect.promise(s.stop))
        const runner = yield* Effect.promise(() =>
          Bench.inChild(Clients.sessionClient, server.origin, {
            ...tiny,
            downloadBytes: 1024 * 1024 * 1024,
            runTimeoutMs: 50
          })
        )
        const error = yield* Effect.flip(Effect.tryPromise(() => runner.measure("download")))
        assert.include(String(error.cause), "took longer than 50 ms")
        const after = yield* Effect.flip(Effect.tryPromise(() => runner.measure("get-sequential")))
        assert.include(String(after.cause), "session worker")
        yield* Effect.promise(() => runner.close())
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )
})
