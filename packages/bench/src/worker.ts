/**
 * One client of the benchmark in a process of its own (see `Bench.inChild`): it builds the
 * client's workload and runs what the main process asks for over IPC (warm-ups and measured
 * runs, timed and CPU-counted here), so that no other client's JIT state, heap or GC shares the
 * process.
 *
 * @since 0.1.0
 */
import * as Bench from "./Bench.js"
import * as Clients from "./Clients.js"

let runner: Bench.Runner | undefined

const reply = (message: Bench.WorkerReply) => process.send?.(message)

const handle = async (call: Bench.WorkerCall): Promise<unknown> => {
  switch (call.op) {
    case "init": {
      const client = Clients.all.find((c) => c.name === call.client)
      if (client === undefined) throw new Error(`unknown client ${call.client}`)
      runner = Bench.inProcess(client, call.origin, call.options)
      return undefined
    }
    case "warm":
    case "measure": {
      if (runner === undefined) throw new Error("not initialised")
      return call.op === "warm" ? runner.warm(call.scenario) : runner.measure(call.scenario)
    }
    case "close": {
      await runner?.close()
      runner = undefined
      return undefined
    }
  }
}

process.on("message", (call: Bench.WorkerCall) => {
  handle(call).then(
    (value) => reply({ id: call.id, ok: true, value }),
    (error: unknown) => reply({ id: call.id, ok: false, error: error instanceof Error ? error.message : String(error) })
  )
})
// The main process going away (or `disconnect`) ends the worker.
process.on("disconnect", () => {
  void Promise.resolve(runner?.close()).finally(() => process.exit(0))
})
