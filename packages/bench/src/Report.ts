/**
 * The results: per-run samples summarised per client and scenario (median throughput over the
 * rounds, median of the per-round ratios to undici, new connections per 1,000 requests, RSS
 * growth, whether our clients meet the project's targets), and their text, Markdown and JSON
 * forms.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/**
 * A scenario as the report shows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScenarioInfo {
  readonly id: string
  readonly title: string
  readonly unit: string
  /** What one unit of work is (`req`, `chain`, `MiB`), for the CPU column. */
  readonly perUnit: string
  /** What the ratio is computed against. */
  readonly reference: string
  /** Our clients must reach this ratio to the reference. */
  readonly targetRatio: number
  /** Our clients' RSS growth must stay under this (MiB). */
  readonly rssLimitMiB?: number
}

/**
 * One measured run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Run {
  readonly round: number
  /** Units per second (NaN when the run failed). */
  readonly throughput: number
  /** HTTP requests sent (redirect hops included). */
  readonly requests: number
  readonly newConnections?: number
  /** Bytes. */
  readonly rssGrowth?: number
  /** CPU time of the measuring process per unit, in microseconds (NaN when the run failed). */
  readonly cpuPerUnit: number
  readonly error?: string
}

/**
 * One check of a target.
 *
 * @since 0.1.0
 * @category models
 */
export interface Check {
  readonly what: string
  readonly met: boolean
}

/**
 * One client in one scenario.
 *
 * @since 0.1.0
 * @category models
 */
export interface Row {
  readonly client: string
  readonly description: string
  readonly ours: boolean
  /** Median throughput over the rounds. */
  readonly median: number
  readonly min: number
  readonly max: number
  /** Median of the per-round ratios to the reference; null without a reference run. */
  readonly ratio: number | null
  /** Median CPU time of the measuring process per unit, in microseconds. */
  readonly cpuPerUnit: number
  /**
   * Median over the rounds of the reference's CPU per unit divided by this client's (1 = as frugal
   * as the reference, 0.5 = twice its CPU); null without a reference run.
   */
  readonly cpuRatio: number | null
  readonly runs: ReadonlyArray<Run>
  readonly ratios: ReadonlyArray<number>
  /** New server connections per 1,000 requests over every run; null when not measured. */
  readonly newConnectionsPer1k: number | null
  /** The largest RSS growth of any run, in MiB; null when not measured. */
  readonly rssGrowthMiB: number | null
  readonly errors: ReadonlyArray<string>
  /** The target checks (our clients only). */
  readonly checks: ReadonlyArray<Check> | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ScenarioReport extends ScenarioInfo {
  readonly rows: ReadonlyArray<Row>
}

/**
 * Where and how the benchmark ran.
 *
 * @since 0.1.0
 * @category models
 */
export interface Meta {
  readonly node: string
  readonly date: string
  readonly cpu: string
  readonly cores: number
  readonly platform: string
  readonly versions: Readonly<Record<string, string>>
  readonly sizes: Readonly<Record<string, number>>
  /** 1-minute load average at the start and at the end (other work on the machine skews wall times). */
  readonly loadAverage: { readonly start: number; readonly end: number }
  /** Wall time of the whole benchmark. */
  readonly seconds: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly meta: Meta
  readonly scenarios: ReadonlyArray<ScenarioReport>
}

/** What `summarise` needs to know of a client. */
interface ClientInfo {
  readonly name: string
  readonly description: string
  readonly ours: boolean
}

/** How the numbers were taken, for the Markdown report. */
const METHOD: ReadonlyArray<string> = [
  "Each client runs in a child process of its own, started once for the whole run, which times and CPU-counts " +
  "its own runs: no client's JIT state, heap or GC work lands in another's numbers (`--in-process` puts them all " +
  "in one process instead). httpbin runs in another child process on the same machine (127.0.0.1), so all share " +
  "its cores; one client works at a time.",
  "Our packages are loaded from their TypeScript sources with the types stripped by esbuild and nothing else " +
  "(`loader/hooks.mjs`), as `tsc` would emit them: tsx's `keepNames` would add a `__name()` call to every " +
  "closure our request path creates, a cost no published build pays.",
  "Interleaved rounds: in each round every client runs every scenario once, clients in an order that rotates " +
  "from round to round. Throughput is the median over the rounds; the ratio is the median of the per-round ratios " +
  "to undici's run of the same round.",
  "Every client is warmed up once on every scenario, and its pool warmed again right before each measured run " +
  "(no forced GC: it would shrink the young generation and slow the run down).",
  "Client CPU is the CPU time of the client's process (all its threads) per request, chain or MiB: it does not " +
  "depend on what else runs on the machine as much as throughput does. \"CPU × undici\" is undici's CPU per unit " +
  "divided by the client's (median over the rounds): 0.5 means twice undici's CPU.",
  "New connections come from the server's own count (`GET /__connections`) before and after the run.",
  "RSS growth is the largest RSS sampled every 5 ms during the run minus the RSS at its start."
]

/**
 * Fewer new connections than this per 1,000 requests count as "no new connection per request or
 * per hop". One at a time, a pooled client opens none once warm. With many in flight, a pool grows
 * and regrows (undici's own opens a few per 1,000 when the server closed idle connections between
 * rounds), so there the bound is 10 per 1,000 — each connection carries 100 requests or more on
 * average; a client that opened one per request would show 1,000.
 */
const connectionsLimitPer1k = (scenario: string): number => scenario === "get-concurrent" ? 10 : 1

/** New server connections per 1,000 requests over the runs that counted them; null when none did. */
const connectionsPer1k = (runs: ReadonlyArray<Run>): number | null => {
  const counted = runs.filter((r) => r.error === undefined && r.newConnections !== undefined)
  const requests = counted.reduce((n, r) => n + r.requests, 0)
  return counted.length === 0 || requests === 0
    ? null
    : (counted.reduce((n, r) => n + r.newConnections!, 0) / requests) * 1000
}

/**
 * The median of the finite values (NaN when there are none).
 *
 * @since 0.1.0
 * @category statistics
 */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const REFERENCE = "undici"

const summariseRow = (
  scenario: ScenarioInfo,
  client: ClientInfo,
  runs: ReadonlyArray<Run>,
  reference: ReadonlyArray<Run>
): Row => {
  const ok = runs.filter((r) => r.error === undefined && Number.isFinite(r.throughput))
  const throughputs = ok.map((r) => r.throughput)
  const ratios = ok.flatMap((r) => {
    const base = reference.find((b) => b.round === r.round && b.error === undefined)
    return base === undefined || !(base.throughput > 0) ? [] : [r.throughput / base.throughput]
  })
  const cpuRatios = ok.flatMap((r) => {
    const base = reference.find((b) => b.round === r.round && b.error === undefined)
    return base === undefined || !(r.cpuPerUnit > 0) ? [] : [base.cpuPerUnit / r.cpuPerUnit]
  })
  const newConnectionsPer1k = connectionsPer1k(ok)
  const withRss = ok.filter((r) => r.rssGrowth !== undefined)
  const rssGrowthMiB = withRss.length === 0 ? null : Math.max(...withRss.map((r) => r.rssGrowth!)) / (1024 * 1024)
  const errors = runs.flatMap((r) => (r.error === undefined ? [] : [`round ${r.round + 1}: ${r.error}`]))
  const ratio = ratios.length === 0 ? null : median(ratios)
  let checks: Array<Check> | null = null
  if (client.ours) {
    checks = [{
      what: `≥ ${scenario.targetRatio}× ${scenario.reference}`,
      met: errors.length === 0 && ratio !== null && ratio >= scenario.targetRatio
    }]
    if (scenario.rssLimitMiB !== undefined) {
      checks.push({
        what: `RSS growth < ${scenario.rssLimitMiB} MiB`,
        met: rssGrowthMiB !== null && rssGrowthMiB < scenario.rssLimitMiB
      })
    }
    if (newConnectionsPer1k !== null) {
      const limit = connectionsLimitPer1k(scenario.id)
      checks.push({
        what: `new connections / 1k requests < ${limit} or ≤ ${REFERENCE}'s`,
        met: newConnectionsPer1k < limit || newConnectionsPer1k <= (connectionsPer1k(reference) ?? 0)
      })
    }
  }
  return {
    client: client.name,
    description: client.description,
    ours: client.ours,
    median: median(throughputs),
    min: throughputs.length === 0 ? Number.NaN : Math.min(...throughputs),
    max: throughputs.length === 0 ? Number.NaN : Math.max(...throughputs),
    ratio,
    cpuPerUnit: median(ok.map((r) => r.cpuPerUnit)),
    cpuRatio: cpuRatios.length === 0 ? null : median(cpuRatios),
    runs,
    ratios,
    newConnectionsPer1k,
    rssGrowthMiB,
    errors,
    checks
  }
}

/**
 * Summarise the runs of every (scenario, client).
 *
 * @since 0.1.0
 * @category constructors
 */
export const summarise = (input: {
  readonly meta: Omit<Meta, "seconds" | "loadAverage">
  readonly seconds: number
  readonly loadAverage: Meta["loadAverage"]
  readonly scenarios: ReadonlyArray<ScenarioInfo>
  readonly clients: ReadonlyArray<ClientInfo>
  readonly runs: (scenario: string, client: string) => ReadonlyArray<Run>
}): Report => ({
  meta: { ...input.meta, seconds: input.seconds, loadAverage: input.loadAverage },
  scenarios: input.scenarios.map((scenario) => {
    const reference = input.runs(scenario.id, REFERENCE)
    return {
      ...scenario,
      rows: input.clients.map((client) =>
        summariseRow(scenario, client, input.runs(scenario.id, client.name), reference)
      )
    }
  })
})

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/**
 * Installed versions of this package's dependencies, best effort.
 *
 * @since 0.1.0
 * @category constructors
 */
export const packageVersions = (names: ReadonlyArray<string>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of names) {
    try {
      const json = JSON.parse(readFileSync(path.join(packageDir, "node_modules", name, "package.json"), "utf8"))
      out[name] = String(json.version)
    } catch {
      out[name] = "?"
    }
  }
  return out
}

/**
 * A throughput for people: thousands separated, fewer decimals as it grows.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatNumber = (n: number): string => {
  if (!Number.isFinite(n)) return "—"
  const digits = n >= 100 ? 0 : n >= 10 ? 1 : 2
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

const formatRatio = (ratio: number | null): string => (ratio === null ? "—" : `${ratio.toFixed(2)}×`)

const verdict = (row: Row): string => {
  if (row.checks === null) return ""
  if (row.errors.length > 0) return "FAILED"
  return row.checks.every((c) => c.met)
    ? "met"
    : `MISSED: ${row.checks.filter((c) => !c.met).map((c) => c.what).join("; ")}`
}

/** One cell of the targets table: the measured figures, then met / missed. */
const targetCell = (row: Row): string => {
  const extra: Array<string> = []
  if (row.rssGrowthMiB !== null) extra.push(`RSS +${row.rssGrowthMiB.toFixed(1)} MiB`)
  if (row.newConnectionsPer1k !== null) extra.push(`${row.newConnectionsPer1k.toFixed(1)} new conns / 1k req`)
  return `${formatRatio(row.ratio)}${extra.length === 0 ? "" : ` (${extra.join(", ")})`}: ${verdict(row)}`
}

interface Column {
  readonly header: string
  readonly align: "left" | "right"
  readonly cell: (row: Row) => string
}

const columns = (scenario: ScenarioReport): ReadonlyArray<Column> => {
  const connections = scenario.rows.some((r) => r.newConnectionsPer1k !== null)
  const rss = scenario.rows.some((r) => r.rssGrowthMiB !== null)
  const list: Array<Column> = [
    { header: "client", align: "left", cell: (r) => r.client },
    { header: `median ${scenario.unit}`, align: "right", cell: (r) => formatNumber(r.median) },
    { header: "min–max", align: "right", cell: (r) => `${formatNumber(r.min)}–${formatNumber(r.max)}` },
    { header: `× ${scenario.reference}`, align: "right", cell: (r) => formatRatio(r.ratio) },
    { header: `client CPU µs/${scenario.perUnit}`, align: "right", cell: (r) => formatNumber(r.cpuPerUnit) },
    { header: "CPU × undici", align: "right", cell: (r) => formatRatio(r.cpuRatio) }
  ]
  if (connections) {
    list.push({
      header: "new conns / 1k req",
      align: "right",
      cell: (r) => (r.newConnectionsPer1k === null ? "—" : r.newConnectionsPer1k.toFixed(1))
    })
  }
  if (rss) {
    list.push({
      header: "max RSS growth",
      align: "right",
      cell: (r) => (r.rssGrowthMiB === null ? "—" : `${r.rssGrowthMiB.toFixed(1)} MiB`)
    })
  }
  list.push({ header: "target", align: "left", cell: verdict })
  return list
}

const targetLine = (scenario: ScenarioReport): string =>
  `target for our session: ≥ ${scenario.targetRatio}× ${scenario.reference}` +
  (scenario.rssLimitMiB === undefined ? "" : `, RSS growth < ${scenario.rssLimitMiB} MiB`)

const metaLines = (meta: Meta): Array<string> => [
  `Node ${meta.node} · ${meta.cpu} (${meta.cores} cores) · ${meta.platform} · ${meta.date}`,
  `versions: ${Object.entries(meta.versions).map(([k, v]) => `${k} ${v}`).join(", ")}`,
  `sizes: ${Object.entries(meta.sizes).map(([k, v]) => `${k}=${v}`).join(", ")}`,
  `${meta.seconds.toFixed(0)} s · load average ${meta.loadAverage.start.toFixed(1)} at the start, ${
    meta.loadAverage.end.toFixed(1)
  } at the end`
]

const errorLines = (scenario: ScenarioReport): Array<string> =>
  scenario.rows.flatMap((r) => r.errors.map((e) => `  ${r.client} failed, ${e}`))

/**
 * The report as plain-text tables, one per scenario.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatText = (report: Report): string => {
  const out = metaLines(report.meta)
  for (const scenario of report.scenarios) {
    const cols = columns(scenario)
    const cells = [cols.map((c) => c.header), ...scenario.rows.map((r) => cols.map((c) => c.cell(r)))]
    const widths = cols.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)))
    out.push("", `${scenario.title} (${targetLine(scenario)})`)
    for (const line of cells) {
      out.push(
        line.map((cell, i) => (cols[i]!.align === "right" ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
          .join("  ").trimEnd()
      )
    }
    out.push(...errorLines(scenario))
  }
  return out.join("\n")
}

/**
 * The report as Markdown: the targets first, then a table per scenario.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatMarkdown = (report: Report): string => {
  const out = ["# effect-requests benchmarks", "", ...metaLines(report.meta).map((l) => `${l}  `), ""]
  const ours = report.scenarios[0]?.rows.filter((r) => r.ours).map((r) => r.client) ?? []
  out.push(
    "## Targets",
    "",
    `| scenario | target | ${ours.join(" | ")} |`,
    `|---|---|${ours.map(() => "---|").join("")}`
  )
  for (const scenario of report.scenarios) {
    const cells = ours.map((name) => {
      const row = scenario.rows.find((r) => r.client === name)
      return row === undefined ? "—" : targetCell(row)
    })
    out.push(
      `| ${scenario.id} | ${targetLine(scenario).replace("target for our session: ", "")} | ${cells.join(" | ")} |`
    )
  }
  for (const scenario of report.scenarios) {
    const cols = columns(scenario)
    out.push("", `## ${scenario.title}`, "", `${targetLine(scenario)}`, "")
    out.push(`| ${cols.map((c) => c.header).join(" | ")} |`)
    out.push(`|${cols.map((c) => (c.align === "right" ? "---:|" : "---|")).join("")}`)
    for (const row of scenario.rows) out.push(`| ${cols.map((c) => c.cell(row)).join(" | ")} |`)
    const errors = errorLines(scenario)
    if (errors.length > 0) out.push("", ...errors.map((e) => `- ${e.trim()}`))
  }
  const clients = report.scenarios[0]?.rows ?? []
  out.push("", "## Clients", "", ...clients.map((r) => `- **${r.client}**: ${r.description}`))
  out.push("", "## Method", "", ...METHOD.map((line) => `- ${line}`), "")
  return out.join("\n")
}
