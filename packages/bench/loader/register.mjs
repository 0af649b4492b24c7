/** `node --import ./loader/register.mjs`: load TypeScript sources through `hooks.mjs`. */
import { register } from "node:module"

register("./hooks.mjs", import.meta.url)
