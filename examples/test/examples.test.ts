/**
 * Every program in examples/src runs to completion (exit 0) against its own embedded httpbin.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const tsx = path.resolve(root, "..", "node_modules", ".bin", "tsx")
const programs = readdirSync(path.join(root, "src")).filter((f) => f.endsWith(".ts")).sort()

const run = (file: string) =>
  spawnSync(tsx, [path.join(root, "src", file)], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }
  })

describe("examples", () => {
  it("has the tour", () => {
    assert.include(programs, "tour.ts")
  })

  for (const file of programs) {
    it(`${file} runs to completion`, { timeout: 90_000 }, () => {
      const result = run(file)
      assert.strictEqual(result.status, 0, `${file} exited ${result.status}\n${result.stdout}\n${result.stderr}`)
      assert.isAbove(result.stdout.trim().length, 0)
    })
  }

  it("the tour shows every section", { timeout: 90_000 }, () => {
    const { stdout } = run("tour.ts")
    for (
      const section of [
        "Session defaults",
        "Params and JSON",
        "Cookies kept",
        "redirect chain",
        "Typed errors",
        "raiseForStatus"
      ]
    ) {
      assert.include(stdout, section)
    }
    assert.include(stdout, "303 See Other")
    assert.include(stdout, "MissingSchema")
    assert.include(stdout, "404 Client Error: Not Found for url:")
  })
})
