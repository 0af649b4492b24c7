/**
 * The benchmark runner: the scenarios, their sizes, and interleaved rounds. In each round every
 * client runs every scenario once, clients in an order that rotates from round to round, so that
 * a slow phase of the machine does not land on one client only. Each client's throughput is the
 * median over the rounds; its ratio to raw undici is computed per round (against undici's run of
 * the same round) and its median reported.
 *
 * @since 0.1.0
 */
import { fork } from "node:child_process"
import * as os from "node:os"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import * as Clients from "./Clients.js"
import * as Report from "./Report.js"
import * as Server from "./Server.js"

const KiB = 1024
const MiB = 1024 * KiB

/**
 * Sizes and selection. Every field has a default (`defaults`), and `quick` is a fast smoke run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Interleaved rounds (each client runs each scenario once per round). */
  readonly rounds: number
  /** Small GETs per sequential run. */
  readonly sequential: number
  /** Small GETs per concurrent run. */
  readonly concurrent: number
  /** Requests in flight in the concurrent run. */
  readonly concurrency: number
  /** Bytes of the streamed download. */
  readonly downloadBytes: number
  /** Redirect chains per run (each `hops` redirects then the final GET). */
  readonly redirectChains: number
  readonly hops: number
  /** Bytes of each streamed upload. */
  readonly uploadBytes: number
  /**
   * Uploads per measured run, one after the other: a single 64 MiB upload takes under 100 ms,
   * too short a run to measure steadily on a busy machine.
   */
  readonly uploads: number
  /** Size of each upload chunk (one buffer, reused). */
  readonly chunkSize: number
  /** What the Effect clients upload from (see `Clients.UploadFrom`). */
  readonly uploadFrom: Clients.UploadFrom
  /** Warm each client up (once, with every scenario) before the first round. */
  readonly warmup: boolean
  /** Client names to run (all when empty); undici is always kept, as the reference. */
  readonly clients: ReadonlyArray<string>
  /** Scenario ids to run (all when empty). */
  readonly scenarios: ReadonlyArray<ScenarioId>
  /** A run that takes longer fails (and the benchmark goes on). */
  readonly runTimeoutMs: number
  /**
   * `process` (the default): each client runs in a child process of its own, spawned once for the
   * whole benchmark, so that no client's JIT state, heap or GC work touches another's measurement.
   * `none`: every client in this process (what `profile` does).
   */
  readonly isolation: "process" | "none"
  /** Progress lines. */
  readonly log: (line: string) => void
}

/**
 * The default sizes: about 4 minutes on 2 idle cores (much longer when the machine is busy).
 *
 * @since 0.1.0
 * @category options
 */
export const defaults: Options = {
  rounds: 7,
  sequential: 2_000,
  concurrent: 5_000,
  concurrency: 64,
  downloadBytes: 256 * MiB,
  redirectChains: 500,
  hops: 5,
  uploadBytes: 64 * MiB,
  uploads: 4,
  chunkSize: 64 * KiB,
  uploadFrom: "stream",
  warmup: true,
  clients: [],
  scenarios: [],
  runTimeoutMs: 120_000,
  isolation: "process",
  log: () => {}
}

/**
 * A fast smoke run (`--quick`): 2 rounds, small sizes.
 *
 * @since 0.1.0
 * @category options
 */
export const quick: Options = {
  ...defaults,
  rounds: 2,
  sequential: 300,
  concurrent: 1_000,
  downloadBytes: 32 * MiB,
  redirectChains: 60,
  uploadBytes: 16 * MiB,
  uploads: 1
}

/**
 * @since 0.1.0
 * @category models
 */
export type ScenarioId = "get-sequential" | "get-concurrent" | "download" | "redirect" | "upload"

/**
 * What one measured run gives.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sample {
  readonly throughput: number
  readonly requests: number
  /** Connections the server accepted during the run. */
  readonly newConnections?: number
  /** Largest RSS minus RSS at the start, in bytes. */
  readonly rssGrowth?: number
  /** CPU time of this process (all its threads) per unit, in microseconds. */
  readonly cpuPerUnit: number
}

/**
 * A scenario: its description, what it measures, and its workloads.
 *
 * @since 0.1.0
 * @category models
 */
export interface Scenario {
  readonly info: Report.ScenarioInfo & { readonly id: ScenarioId }
  readonly connections: boolean
  readonly rss: boolean
  /** Warm the pool right before a measured run (so that steady-state reuse is measured). */
  readonly prepare: (workload: Clients.Workload) => Promise<void>
  /** The measured work; returns the units done (requests, chains or bytes) and the HTTP requests sent. */
  readonly run: (workload: Clients.Workload) => Promise<{ readonly units: number; readonly requests: number }>
  /** A smaller run, to warm a client up once. */
  readonly warm: (workload: Clients.Workload) => Promise<unknown>
}

const expectBytes = (what: string, got: number, expected: number): number => {
  if (got !== expected) throw new Error(`${what}: ${got} bytes instead of ${expected}`)
  return got
}

const count = (n: number): string => n.toLocaleString("en-US")

const sizeText = (bytes: number): string =>
  bytes >= MiB ? `${count(bytes / MiB)} MiB` : bytes >= KiB ? `${count(bytes / KiB)} KiB` : `${bytes} B`

/**
 * The scenarios against the server at `origin`, at the sizes of `options`.
 *
 * @since 0.1.0
 * @category scenarios
 */
export const makeScenarios = (origin: string, options: Options): ReadonlyArray<Scenario> => {
  const small = `${origin}/get`
  const download = `${origin}/stream-bytes/${options.downloadBytes}?chunk_size=65536`
  const redirect = `${origin}/redirect/${options.hops}`
  const upload = `${origin}/upload`
  const chunk = Buffer.alloc(options.chunkSize, 0x61)
  const chunks = Math.ceil(options.uploadBytes / options.chunkSize)
  const uploadBytes = chunks * options.chunkSize
  const c = options.concurrency
  return [
    {
      info: {
        id: "get-sequential",
        title: `Sequential small GETs (GET /get × ${count(options.sequential)}, one at a time)`,
        unit: "req/s",
        perUnit: "req",
        reference: "undici",
        targetRatio: 0.75
      },
      connections: true,
      rss: false,
      prepare: (w) => w.get(small, Math.min(100, options.sequential), 1),
      run: async (w) => {
        await w.get(small, options.sequential, 1)
        return { units: options.sequential, requests: options.sequential }
      },
      warm: (w) => w.get(small, Math.min(1_000, options.sequential), 1)
    },
    {
      info: {
        id: "get-concurrent",
        title: `Concurrent small GETs (GET /get × ${count(options.concurrent)}, ${c} in flight)`,
        unit: "req/s",
        perUnit: "req",
        reference: "undici",
        targetRatio: 0.6
      },
      connections: true,
      rss: false,
      prepare: (w) => w.get(small, Math.min(8 * c, options.concurrent), c),
      run: async (w) => {
        await w.get(small, options.concurrent, c)
        return { units: options.concurrent, requests: options.concurrent }
      },
      warm: (w) => w.get(small, Math.min(2_000, options.concurrent), c)
    },
    {
      info: {
        id: "download",
        title: `Streamed download (${sizeText(options.downloadBytes)} from /stream-bytes, 64 KiB chunks)`,
        unit: "MiB/s",
        perUnit: "MiB",
        reference: "undici",
        targetRatio: 0.9,
        rssLimitMiB: 64
      },
      connections: false,
      rss: true,
      // A short download first, so that the measured one starts on a warm connection.
      prepare: async (w) => {
        await w.download(`${origin}/stream-bytes/${Math.min(16 * MiB, options.downloadBytes)}?chunk_size=65536`)
      },
      run: async (w) => ({
        units: expectBytes("download", await w.download(download), options.downloadBytes) / MiB,
        requests: 1
      }),
      warm: (w) => w.download(`${origin}/stream-bytes/${Math.min(128 * MiB, options.downloadBytes)}?chunk_size=65536`)
    },
    {
      info: {
        id: "redirect",
        title: `Redirect chains (GET /redirect/${options.hops} × ${
          count(options.redirectChains)
        }: ${options.hops} hops + the final GET, one chain at a time)`,
        unit: "chains/s",
        perUnit: "chain",
        reference: "undici + interceptors.redirect",
        targetRatio: 0.8
      },
      connections: true,
      rss: false,
      prepare: (w) => w.redirects(redirect, Math.min(20, options.redirectChains), options.hops),
      run: async (w) => {
        await w.redirects(redirect, options.redirectChains, options.hops)
        return { units: options.redirectChains, requests: options.redirectChains * (options.hops + 1) }
      },
      warm: (w) => w.redirects(redirect, Math.min(100, options.redirectChains), options.hops)
    },
    {
      info: {
        id: "upload",
        title: `Streamed upload (POST /upload${options.uploads > 1 ? ` × ${options.uploads}` : ""}, ${
          sizeText(uploadBytes)
        }${options.uploads > 1 ? " each" : ""} in ${sizeText(options.chunkSize)} chunks${
          options.uploadFrom === "iterable" ? ", every client from an async generator" : ""
        })`,
        unit: "MiB/s",
        perUnit: "MiB",
        reference: "undici",
        targetRatio: 0.9
      },
      connections: false,
      rss: false,
      prepare: async () => {},
      run: async (w) => {
        for (let i = 0; i < options.uploads; i++) {
          expectBytes("upload", await w.upload(upload, chunk, chunks, options.uploadFrom), uploadBytes)
        }
        return { units: (options.uploads * uploadBytes) / MiB, requests: options.uploads }
      },
      warm: (w) =>
        w.upload(upload, chunk, Math.min(chunks, Math.ceil((16 * MiB) / options.chunkSize)), options.uploadFrom)
    }
  ]
}

/** Sample RSS every 5 ms until stopped; returns the largest growth over the starting RSS. */
const rssSampler = () => {
  const start = process.memoryUsage.rss()
  let max = start
  const timer = setInterval(() => {
    max = Math.max(max, process.memoryUsage.rss())
  }, 5)
  return () => {
    clearInterval(timer)
    max = Math.max(max, process.memoryUsage.rss())
    return max - start
  }
}

const withTimeout = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

const measure = async (
  scenario: Scenario,
  workload: Clients.Workload,
  connections: () => Promise<Server.Connections>
): Promise<Sample> => {
  // No forced GC before a run: it shrinks the young generation and slows the next second or so of
  // allocation-heavy code several times over (undici too), which is not a state a running
  // application is in.
  await scenario.prepare(workload)
  const before = scenario.connections ? await connections() : undefined
  const stopRss = scenario.rss ? rssSampler() : undefined
  const cpu = process.cpuUsage()
  const start = performance.now()
  const { requests, units } = await scenario.run(workload)
  const seconds = (performance.now() - start) / 1000
  const cpuUsed = process.cpuUsage(cpu)
  const rssGrowth = stopRss?.()
  const after = before === undefined ? undefined : await connections()
  return {
    throughput: units / seconds,
    requests,
    cpuPerUnit: (cpuUsed.user + cpuUsed.system) / units,
    ...(before !== undefined && after !== undefined ? { newConnections: after.total - before.total - 1 } : {}),
    ...(rssGrowth !== undefined ? { rssGrowth } : {})
  }
}

/**
 * One client, ready to warm up and measure scenarios by id, wherever it runs.
 *
 * @since 0.1.0
 * @category running
 */
export interface Runner {
  readonly warm: (scenario: ScenarioId) => Promise<void>
  readonly measure: (scenario: ScenarioId) => Promise<Sample>
  readonly close: () => Promise<void>
}

/** What a runner needs of the options (all of them but the log, which cannot cross a process). */
export type RunnerOptions = Omit<Options, "log">

/**
 * A runner in this process.
 *
 * @since 0.1.0
 * @category running
 */
export const inProcess = (client: Clients.Client, origin: string, options: RunnerOptions): Runner => {
  const workload = client.make()
  const scenarios = makeScenarios(origin, { ...options, log: () => {} })
  const scenario = (id: ScenarioId): Scenario => {
    const found = scenarios.find((s) => s.info.id === id)
    if (found === undefined) throw new Error(`unknown scenario ${id}`)
    return found
  }
  return {
    warm: async (id) => {
      await scenario(id).warm(workload)
    },
    measure: (id) => measure(scenario(id), workload, () => Server.connectionsAt(origin)),
    close: () => workload.close()
  }
}

/** The loader that `worker.ts` runs under (see `loader/hooks.mjs`). */
const loaderPath = fileURLToPath(new URL("../loader/register.mjs", import.meta.url))
const workerPath = fileURLToPath(new URL("./worker.ts", import.meta.url))

/** A message from `worker.ts`: the answer to call `id`. */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value?: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string }

/** A message to `worker.ts`. */
export type WorkerCall =
  | {
    readonly id: number
    readonly op: "init"
    readonly client: string
    readonly origin: string
    readonly options: RunnerOptions
  }
  | { readonly id: number; readonly op: "warm" | "measure"; readonly scenario: ScenarioId }
  | { readonly id: number; readonly op: "close" }

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never

/**
 * A runner in a child process of its own (`worker.ts`), spoken to over IPC. A call that does not
 * answer within `runTimeoutMs` fails, and the child is killed: the client is out for the rest of
 * the run.
 *
 * @since 0.1.0
 * @category running
 */
export const inChild = async (client: Clients.Client, origin: string, options: RunnerOptions): Promise<Runner> => {
  const child = fork(workerPath, [], {
    execArgv: ["--import", loaderPath],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    serialization: "advanced"
  })
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  let nextId = 0
  let gone: string | undefined
  const failAll = (reason: string) => {
    gone ??= reason
    for (const waiter of pending.values()) waiter.reject(new Error(`${client.name} worker: ${reason}`))
    pending.clear()
  }
  child.on("message", (reply: WorkerReply) => {
    const waiter = pending.get(reply.id)
    if (waiter === undefined) return
    pending.delete(reply.id)
    if (reply.ok) waiter.resolve(reply.value)
    else waiter.reject(new Error(reply.error))
  })
  child.once("exit", (code, signal) => failAll(`exited (${signal ?? code})`))
  child.once("error", (error) => failAll(error.message))
  const call = <A>(message: WithoutId<WorkerCall>, timeoutMs = options.runTimeoutMs): Promise<A> => {
    if (gone !== undefined) return Promise.reject(new Error(`${client.name} worker: ${gone}`))
    const id = nextId++
    let timer: ReturnType<typeof setTimeout> | undefined
    return new Promise<A>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error(`${client.name} ${message.op} took longer than ${timeoutMs} ms`))
        gone ??= "killed after a call timed out"
        child.kill("SIGKILL")
      }, timeoutMs)
      child.send({ ...message, id })
    }).finally(() => clearTimeout(timer))
  }
  // Only data crosses the process boundary (a caller may hand over all of `Options`, `log` included).
  const { log: _log, ...data } = options as Partial<Options> & RunnerOptions
  try {
    // Loading a client's modules (ours through the loader) takes seconds on a busy machine.
    await call({ op: "init", client: client.name, origin, options: data }, Math.max(options.runTimeoutMs, 60_000))
  } catch (error) {
    child.kill("SIGKILL")
    throw error
  }
  return {
    warm: (scenario) => call({ op: "warm", scenario }),
    measure: (scenario) => call({ op: "measure", scenario }),
    close: async () => {
      if (gone === undefined) await call({ op: "close" }).catch(() => undefined)
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          const kill = setTimeout(() => child.kill("SIGKILL"), 5_000)
          child.once("exit", () => {
            clearTimeout(kill)
            resolve()
          })
          child.disconnect()
        })
      }
    }
  }
}

const rotate = <A>(items: ReadonlyArray<A>, by: number): ReadonlyArray<A> => {
  const k = items.length === 0 ? 0 : by % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const pickClients = (options: Options): ReadonlyArray<Clients.Client> => {
  if (options.clients.length === 0) return Clients.all
  const unknown = options.clients.filter((name) => !Clients.all.some((c) => c.name === name))
  if (unknown.length > 0) {
    throw new Error(`unknown client(s) ${unknown.join(", ")}; known: ${Clients.all.map((c) => c.name).join(", ")}`)
  }
  return Clients.all.filter((c) => c.name === Clients.undiciClient.name || options.clients.includes(c.name))
}

/**
 * Start httpbin in a child process, run the rounds, stop the server, and summarise.
 *
 * @since 0.1.0
 * @category running
 */
export const run = async (options: Options = defaults): Promise<Report.Report> => {
  const started = performance.now()
  const loadAtStart = os.loadavg()[0] ?? 0
  const clients = pickClients(options)
  const server = await Server.start()
  const log = options.log
  log(`httpbin (pid ${server.pid}) at ${server.origin}`)
  const { log: _log, ...runnerOptions } = options
  const runners = new Map<string, Runner>()
  try {
    // Started a few at a time (one per core); each is registered as soon as it is up, so that
    // `finally` closes it even when another fails to start.
    const queue = [...clients]
    const start = async (): Promise<void> => {
      for (let client = queue.shift(); client !== undefined; client = queue.shift()) {
        const runner = options.isolation === "process"
          ? await inChild(client, server.origin, runnerOptions)
          : inProcess(client, server.origin, runnerOptions)
        runners.set(client.name, runner)
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, os.cpus().length) }, start))
    if (options.isolation === "process") log(`one process per client: ${clients.map((c) => c.name).join(", ")}`)
    const chosen = makeScenarios(server.origin, options).filter(
      (s) => options.scenarios.length === 0 || options.scenarios.includes(s.info.id)
    )
    if (options.warmup) {
      const warmupStarted = performance.now()
      for (const client of clients) {
        log(`warming up ${client.name}`)
        for (const scenario of chosen) {
          await withTimeout(
            runners.get(client.name)!.warm(scenario.info.id),
            options.runTimeoutMs,
            `${client.name} warm-up ${scenario.info.id}`
          )
        }
      }
      log(`warm-up took ${((performance.now() - warmupStarted) / 1000).toFixed(0)} s`)
    }
    const samples = new Map<string, Array<Report.Run>>()
    const key = (scenario: string, client: string) => `${scenario}\u0000${client}`
    for (let round = 0; round < options.rounds; round++) {
      const roundStarted = performance.now()
      for (const scenario of chosen) {
        const line: Array<string> = []
        for (const client of rotate(clients, round)) {
          const runner = runners.get(client.name)!
          const what = `${client.name} ${scenario.info.id}`
          let result: Report.Run
          try {
            const sample = await withTimeout(runner.measure(scenario.info.id), options.runTimeoutMs, what)
            result = { round, ...sample }
            line.push(`${client.name} ${Report.formatNumber(sample.throughput)}`)
          } catch (error) {
            result = { round, throughput: Number.NaN, requests: 0, cpuPerUnit: Number.NaN, error: errorText(error) }
            line.push(`${client.name} FAILED (${errorText(error)})`)
          }
          const k = key(scenario.info.id, client.name)
          samples.set(k, [...(samples.get(k) ?? []), result])
        }
        log(`round ${round + 1}/${options.rounds} ${scenario.info.id} [${scenario.info.unit}]: ${line.join(", ")}`)
      }
      log(`round ${round + 1} took ${((performance.now() - roundStarted) / 1000).toFixed(0)} s`)
    }
    return Report.summarise({
      meta: {
        node: process.version,
        date: new Date().toISOString(),
        cpu: os.cpus()[0]?.model ?? "unknown",
        cores: os.cpus().length,
        platform: `${os.platform()} ${os.release()} ${os.arch()}`,
        versions: Report.packageVersions(["undici", "effect", "@effect/platform", "axios", "got", "ky"]),
        sizes: {
          rounds: options.rounds,
          sequential: options.sequential,
          concurrent: options.concurrent,
          concurrency: options.concurrency,
          downloadBytes: options.downloadBytes,
          redirectChains: options.redirectChains,
          hops: options.hops,
          uploadBytes: options.uploadBytes,
          uploads: options.uploads,
          chunkSize: options.chunkSize
        }
      },
      scenarios: chosen.map((s) => s.info),
      clients,
      runs: (scenario, client) => samples.get(key(scenario, client)) ?? [],
      seconds: (performance.now() - started) / 1000,
      loadAverage: { start: loadAtStart, end: os.loadavg()[0] ?? 0 }
    })
  } finally {
    await Promise.all(Array.from(runners.values(), (runner) => runner.close().catch(() => undefined)))
    await server.stop()
  }
}
