/**
 * A progress bar for the examples: a `Progress.Handler` that redraws one line in place (`\r`).
 */
import type { Progress } from "@effect-requests/core"
import { Effect } from "effect"

const bar = (p: Progress.Progress) => {
  const width = 30
  const done = Math.round((p.fraction ?? 0) * width)
  const mib = (n: number) => (n / 1024 / 1024).toFixed(0).padStart(4)
  return `  [${"#".repeat(done)}${".".repeat(width - done)}] ${mib(p.transferred)} / ${mib(p.total ?? 0)} MiB  ${
    (p.rate / 1024 / 1024).toFixed(0).padStart(5)
  } MiB/s`
}

/** Draw a bar at most every 50 ms, and once more at the end. */
export const progressBar = (): Progress.Handler => {
  let lastPrint = 0
  return (p) =>
    Effect.sync(() => {
      const now = Date.now()
      if (!p.done && now - lastPrint < 50) return
      lastPrint = now
      process.stdout.write(`\r${bar(p)}${p.done ? "\n" : ""}`)
    })
}
