/**
 * Byte helpers shared by the body, multipart and line code.
 *
 * @internal
 */

/** The parts as one array (`size`, their total length, when the caller already knows it); one part is returned as is. */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>, size?: number): Uint8Array => {
  if (parts.length === 1) return parts[0]!
  let total = size
  if (total === undefined) {
    total = 0
    for (const part of parts) total += part.length
  }
  const out = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
