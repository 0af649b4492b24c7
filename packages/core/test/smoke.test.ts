import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

describe("workspace", () => {
  it.effect("runs Effect tests", () => Effect.sync(() => assert.strictEqual(1 + 1, 2)))
})
