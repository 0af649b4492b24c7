/**
 * `pnpm bench`: run the benchmark, print the tables, and write `results/<name>.json` and
 * `results/<name>.md` (`latest`, or `quick` with `--quick`).
 *
 * Flags (each also as an environment variable, `--upload-mib` as `BENCH_UPLOAD_MIB`, ...):
 * `--rounds N`, `--quick`, `--sequential N`, `--concurrent N`, `--concurrency N`,
 * `--download-mib N`, `--redirects N`, `--upload-mib N`, `--uploads N`, `--upload-from stream|iterable`,
 * `--clients a,b`, `--scenarios x,y`,
 * `--no-warmup`, `--in-process`, `--name NAME`, `--no-write`.
 *
 * @since 0.1.0
 */
import { mkdirSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import * as Bench from "./Bench.js"
import * as Clients from "./Clients.js"
import * as Report from "./Report.js"

const MiB = 1024 * 1024

const USAGE = `usage: pnpm bench [--quick] [--rounds N] [--sequential N] [--concurrent N] [--concurrency N]
                  [--download-mib N] [--redirects N] [--upload-mib N] [--uploads N] [--upload-from stream|iterable]
                  [--clients a,b] [--scenarios x,y]
                  [--no-warmup] [--in-process] [--name NAME] [--no-write]
clients: ${Clients.all.map((c) => c.name).join(", ")}
scenarios: get-sequential, get-concurrent, download, redirect, upload`

const NUMERIC = [
  "rounds",
  "sequential",
  "concurrent",
  "concurrency",
  "download-mib",
  "redirects",
  "upload-mib",
  "uploads"
] as const

const envName = (flag: string) => `BENCH_${flag.toUpperCase().replace(/-/g, "_")}`

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(NUMERIC.map((flag) => [flag, { type: "string" as const }])),
      quick: { type: "boolean" },
      "upload-from": { type: "string" },
      clients: { type: "string" },
      scenarios: { type: "string" },
      "no-warmup": { type: "boolean" },
      "in-process": { type: "boolean" },
      name: { type: "string" },
      "no-write": { type: "boolean" },
      help: { type: "boolean", short: "h" }
    }
  })
  if (values.help === true) {
    console.log(USAGE)
    return
  }
  const flag = (name: string): string | undefined =>
    (values as Record<string, string | boolean | undefined>)[name] as string | undefined ?? process.env[envName(name)]
  const isOn = (name: string): boolean => {
    const value = (values as Record<string, unknown>)[name] ?? process.env[envName(name)]
    return value === true || value === "1" || value === "true"
  }
  const number = (name: (typeof NUMERIC)[number]): number | undefined => {
    const raw = flag(name)
    if (raw === undefined) return undefined
    const n = Number(raw)
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${raw}\n${USAGE}`)
    return n
  }
  const list = (name: string): Array<string> =>
    (flag(name) ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
  const uploadFrom = flag("upload-from") ?? "stream"
  if (uploadFrom !== "stream" && uploadFrom !== "iterable") {
    throw new Error(`--upload-from must be stream or iterable, got ${uploadFrom}\n${USAGE}`)
  }
  const quick = isOn("quick")
  const base = quick ? Bench.quick : Bench.defaults
  const options: Bench.Options = {
    ...base,
    rounds: Math.trunc(number("rounds") ?? base.rounds),
    sequential: Math.trunc(number("sequential") ?? base.sequential),
    concurrent: Math.trunc(number("concurrent") ?? base.concurrent),
    concurrency: Math.trunc(number("concurrency") ?? base.concurrency),
    downloadBytes: Math.trunc((number("download-mib") ?? base.downloadBytes / MiB) * MiB),
    redirectChains: Math.trunc(number("redirects") ?? base.redirectChains),
    uploadBytes: Math.trunc((number("upload-mib") ?? base.uploadBytes / MiB) * MiB),
    uploads: Math.trunc(number("uploads") ?? base.uploads),
    uploadFrom,
    warmup: !isOn("no-warmup"),
    isolation: isOn("in-process") ? "none" : "process",
    clients: list("clients"),
    scenarios: list("scenarios") as Array<Bench.ScenarioId>,
    log: (line) => console.error(`[bench] ${line}`)
  }
  const report = await Bench.run(options)
  console.log(Report.formatText(report))
  if (isOn("no-write")) return
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "results")
  const name = flag("name") ?? (quick ? "quick" : "latest")
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(path.join(dir, `${name}.md`), Report.formatMarkdown(report))
  console.error(`[bench] wrote ${path.join(dir, `${name}.json`)} and ${name}.md`)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : String(error))
  process.exit(1)
})
