/**
 * Module hooks that load our TypeScript sources the way `tsc` would emit them: esbuild strips the
 * types and nothing else. tsx (which the tests and examples use) also sets esbuild's `keepNames`,
 * which wraps every named closure in a `__name(...)` call each time it is created; that costs our
 * request path several microseconds per request that no published build would pay, so the
 * benchmarks load the sources through these hooks instead.
 */
import { transform } from "esbuild"
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"

const relative = /^\.{1,2}\//

/** `./X.js` imports of a TypeScript source resolve to `./X.ts`, as under `moduleResolution: NodeNext`. */
export const resolve = async (specifier, context, nextResolve) => {
  try {
    return await nextResolve(specifier, context)
  } catch (error) {
    if (error?.code === "ERR_MODULE_NOT_FOUND" && relative.test(specifier) && specifier.endsWith(".js")) {
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context)
    }
    throw error
  }
}

const options = (sourcefile) => ({
  loader: "ts",
  format: "esm",
  target: "node20",
  sourcemap: "inline",
  sourcefile,
  keepNames: false,
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: true, verbatimModuleSyntax: true } }
})

export const load = async (url, context, nextLoad) => {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context)
  const file = fileURLToPath(url)
  const { code } = await transform(await readFile(file, "utf8"), options(file))
  return { format: "module", source: code, shortCircuit: true }
}
