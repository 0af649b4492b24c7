/**
 * `pnpm --filter @effect-requests/bench run profile -- --client session --scenario redirect`:
 * warm one client up on one scenario, then record a CPU profile of one more run (V8's sampling
 * profiler, in process) and print where the time went: self time by package or file, and our own
 * functions with their self and inclusive time, mapped back to the TypeScript sources.
 * The raw `.cpuprofile` is written too (open it in Chrome DevTools or speedscope).
 *
 * Flags: `--client NAME` (default session), `--scenario ID` (default get-sequential), the size
 * flags of `pnpm bench` (`--sequential N`, ..., `--upload-from`), `--top N` (default 25), `--out FILE`.
 *
 * @since 0.1.0
 */
import { readFileSync, writeFileSync } from "node:fs"
import { Session as Inspector } from "node:inspector/promises"
import { findSourceMap } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import * as Bench from "./Bench.js"
import * as Clients from "./Clients.js"
import * as Server from "./Server.js"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const MiB = 1024 * 1024

const sources = new Map<string, ReadonlyArray<string>>()

/** Line `line` (1-based) of a source file, trimmed: names the function that starts there. */
const sourceLine = (file: string, line: number): string => {
  let lines = sources.get(file)
  if (lines === undefined) {
    try {
      lines = readFileSync(file, "utf8").split("\n")
    } catch {
      lines = []
    }
    sources.set(file, lines)
  }
  const text = (lines[line - 1] ?? "").trim()
  return text.length > 70 ? `${text.slice(0, 70)}…` : text
}

/** Where a frame is, in the sources (`packages/core/src/Session.ts:482  const drain = (`), or a package name. */
const locate = (frame: CallFrame): { readonly group: string; readonly site: string | undefined } => {
  const url = frame.url
  if (url === "") {
    const name = frame.functionName === "" ? "native" : frame.functionName
    return { group: name.startsWith("(") ? name : `(${name})`, site: undefined }
  }
  if (url.startsWith("node:")) return { group: "node internals", site: undefined }
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\/(?:dist\/esm\/|lib\/)?(.*)$/.exec(
    url
  )
  if (pkg !== null) return { group: `${pkg[1]!}: ${pkg[2]!}`, site: undefined }
  const entry = findSourceMap(url)?.findEntry(frame.lineNumber, frame.columnNumber)
  const source = entry !== undefined && "originalSource" in entry ? entry.originalSource : url
  const line = entry !== undefined && "originalLine" in entry ? entry.originalLine + 1 : frame.lineNumber + 1
  const absolute = source.replace(/^file:\/\//, "")
  const file = absolute.replace(/^.*?\/packages\//, "packages/")
  return { group: file, site: `${file}:${line}  ${sourceLine(absolute, line)}` }
}

const summarise = (profile: Profile, top: number): string => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const time = new Map<number, number>()
  profile.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const located = new Map(profile.nodes.map((n) => [n.id, locate(n.callFrame)]))
  const selfByGroup = new Map<string, number>()
  const selfBySite = new Map<string, number>()
  const inclusiveBySite = new Map<string, number>()
  let total = 0
  let idle = 0
  let profiler = 0
  const add = (map: Map<string, number>, key: string, t: number) => map.set(key, (map.get(key) ?? 0) + t)
  const inInspector = (id: number): boolean => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (byId.get(at)!.callFrame.url === "node:inspector") return true
    }
    return false
  }
  for (const [id, t] of time) {
    if (inInspector(id)) {
      profiler += t
      continue
    }
    total += t
    const here = located.get(id)!
    if (here.group === "(idle)") idle += t
    add(selfByGroup, here.group, t)
    if (here.site !== undefined) add(selfBySite, here.site, t)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const site = located.get(byId.get(at)!.id)!.site
      if (site !== undefined && !seen.has(site)) {
        seen.add(site)
        add(inclusiveBySite, site, t)
      }
    }
  }
  const busy = total - idle
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`
  const ranked = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top)
  const ours = (map: Map<string, number>) => new Map([...map].filter(([k]) => k.startsWith("packages/")))
  return [
    `${(total / 1000).toFixed(0)} ms sampled, ${(idle / 1000).toFixed(0)} ms idle (${
      (profiler / 1000).toFixed(0)
    } ms in the profiler itself, left out); shares below are of the busy time`,
    "",
    "self time by package / file:",
    ...ranked(selfByGroup).filter(([k]) => k !== "(idle)").map(([k, t]) => `${pct(t)}  ${k}`),
    "",
    "our functions, self time:",
    ...ranked(ours(selfBySite)).map(([k, t]) => `${pct(t)}  ${k}`),
    "",
    "our functions, inclusive time (Effect's run loop hides callers of effects, so this undercounts):",
    ...ranked(ours(inclusiveBySite)).map(([k, t]) => `${pct(t)}  ${k}`)
  ].join("\n")
}

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      client: { type: "string", default: "session" },
      scenario: { type: "string", default: "get-sequential" },
      sequential: { type: "string" },
      concurrent: { type: "string" },
      "download-mib": { type: "string" },
      redirects: { type: "string" },
      "upload-mib": { type: "string" },
      "upload-from": { type: "string", default: "stream" },
      top: { type: "string", default: "25" },
      out: { type: "string" }
    }
  })
  const client = Clients.all.find((c) => c.name === values.client)
  if (client === undefined) throw new Error(`unknown client ${values.client}`)
  const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v))
  const options: Bench.Options = {
    ...Bench.defaults,
    sequential: num(values.sequential, 5_000),
    concurrent: num(values.concurrent, 10_000),
    downloadBytes: num(values["download-mib"], 256) * MiB,
    redirectChains: num(values.redirects, 500),
    uploadBytes: num(values["upload-mib"], 128) * MiB,
    uploadFrom: values["upload-from"] === "iterable" ? "iterable" : "stream"
  }
  const server = await Server.start()
  const workload = client.make()
  try {
    const scenario = Bench.makeScenarios(server.origin, options).find((s) => s.info.id === values.scenario)
    if (scenario === undefined) throw new Error(`unknown scenario ${values.scenario}`)
    await scenario.warm(workload)
    await scenario.run(workload)
    await scenario.prepare(workload)
    const inspector = new Inspector()
    inspector.connect()
    await inspector.post("Profiler.enable")
    await inspector.post("Profiler.setSamplingInterval", { interval: 250 })
    await inspector.post("Profiler.start")
    const started = performance.now()
    const { units } = await scenario.run(workload)
    const seconds = (performance.now() - started) / 1000
    const { profile } = await inspector.post("Profiler.stop")
    inspector.disconnect()
    const out = values.out ??
      path.join(os.tmpdir(), `bench-${client.name.replace(/\W+/g, "_")}-${scenario.info.id}.cpuprofile`)
    writeFileSync(out, JSON.stringify(profile))
    console.log(`${client.name} ${scenario.info.id}: ${(units / seconds).toFixed(0)} ${scenario.info.unit} (profiled)`)
    console.log(`profile written to ${out}\n`)
    console.log(summarise(profile as unknown as Profile, Number(values.top)))
  } finally {
    await workload.close()
    await server.stop()
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : String(error))
  process.exit(1)
})
