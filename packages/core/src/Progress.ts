/**
 * Upload and download progress: bytes done, the total when it is known, and the average rate.
 *
 * - As request options: `onUploadProgress` (the body as it is handed to the transport) and
 *   `onDownloadProgress` (the final response's body as it is read, buffered or streamed).
 * - As a Stream combinator for any byte stream: `stream.pipe(Progress.tap({ total }, report))`.
 *
 * A report runs once before the first byte (`transferred: 0`), once per chunk, and once at the
 * end (`done: true`): with the last chunk when the total is known, when the body ends otherwise.
 * A body that is sent again (a 307/308 redirect, an auth round trip, a retry) reports again from
 * zero.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Stream } from "effect"
import * as Body from "./Body.js"

/**
 * One progress report.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  /** Bytes done so far. */
  readonly transferred: number
  /** Bytes expected in all, when known (`Content-Length`, a body of known length). */
  readonly total: number | undefined
  /** Milliseconds since the first report. */
  readonly elapsedMillis: number
  /** Average bytes per second since the first report (0 until time has passed). */
  readonly rate: number
  /** `transferred / total` between 0 and 1, when the total is known. */
  readonly fraction: number | undefined
  /** True for the last report, once the body has ended. */
  readonly done: boolean
}

/**
 * What receives the reports. It runs in the fiber that moves the bytes: keep it quick.
 *
 * @since 0.1.0
 * @category models
 */
export type Handler = (progress: Progress) => Effect.Effect<void>

const report = (transferred: number, total: number | undefined, elapsedMillis: number, done: boolean): Progress => ({
  transferred,
  total,
  elapsedMillis,
  rate: elapsedMillis > 0 ? (transferred * 1000) / elapsedMillis : 0,
  fraction: total === undefined ? undefined : total === 0 ? 1 : Math.min(1, transferred / total),
  done
})

/**
 * Report the progress of a byte stream as it is pulled (once per `Uint8Array`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const tap = (
  options: { readonly total?: number | undefined },
  onProgress: Handler
) =>
<E, R>(stream: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
  Stream.unwrap(Effect.map(Clock.currentTimeMillis, (start) => {
    let transferred = 0
    let ended = false
    const emit = (done: boolean) => {
      ended = done
      return Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => onProgress(report(transferred, options.total, now - start, done))
      )
    }
    const total = options.total
    return Stream.execute(emit(false)).pipe(
      Stream.concat(Stream.tap(stream, (chunk) => {
        transferred += chunk.length
        // With a known total the last chunk is the end: the report does not wait for the source
        // to say so (a file or a socket says it a little later, maybe after the response).
        return emit(total !== undefined && transferred >= total)
      })),
      Stream.concat(Stream.execute(Effect.suspend(() => ended ? Effect.void : emit(true))))
    )
  }))

/** Slices of an in-memory body for upload progress (views, not copies). */
const SLICE = 256 * 1024

/**
 * A body that reports its progress each time it is sent. In-memory bytes are sent as slices of
 * 256 KiB so that the reports follow the socket; a streamed body keeps its chunks, its length and
 * whether it can be sent again.
 *
 * @since 0.1.0
 * @category combinators
 */
export const body = (source: Body.Body, onProgress: Handler): Body.Body => {
  switch (source._tag) {
    case "Empty":
      return source
    case "Bytes": {
      const bytes = source.bytes
      return Body.replayable(
        () =>
          Stream.fromIterable(slices(bytes)).pipe(
            tap({ total: bytes.length }, onProgress)
          ),
        { length: bytes.length, kind: "bytes" }
      )
    }
    case "Stream":
      return {
        ...source,
        open: Effect.map(source.open, (stream) => tap({ total: source.length }, onProgress)(stream))
      }
  }
}

function* slices(bytes: Uint8Array): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += SLICE) yield bytes.subarray(offset, offset + SLICE)
}
