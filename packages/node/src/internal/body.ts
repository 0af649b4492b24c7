/**
 * A response body fed by undici's handler callbacks and read either whole (`readAll`, the buffered
 * fast path) or as an Effect Stream with backpressure (`stream`: undici is paused while our queue
 * holds more than the high-water mark, so a body of any size streams in flat memory).
 * `Content-Encoding` (gzip, deflate with or without its zlib wrapper, br, and chains of them) is
 * decoded on both paths, bounded by the session's limits: the body's size (a `Content-Length`
 * above it fails before anything is read; bytes received and decoded bytes are counted), the
 * decoded/encoded ratio past 1 MiB, and the number of codings. A body cut short (a truncated
 * chunked body, fewer bytes than `Content-Length`, a reset) fails with `ChunkedEncodingError`
 * through undici's error, classified in `errors.ts`.
 *
 * @internal
 */
import type { Adapter, PreparedRequest } from "@effect-requests/core"
import { Body, RequestError } from "@effect-requests/core"
import { Cause, Channel, Chunk, Effect, Exit, type Fiber, Option, Runtime, Stream } from "effect"
import * as zlib from "node:zlib"

const HIGH_WATER = 1024 * 1024
const RATIO_FLOOR = 1024 * 1024

type Coding = "gzip" | "deflate" | "br"

/** The codings to undo, outermost first; unknown codings stop decoding (the bytes stay as sent). */
export const parseEncodings = (header: string | undefined): Array<Coding> | "unknown" => {
  if (header === undefined) return []
  const codings = header.split(",").map((c) => c.trim().toLowerCase()).filter((c) => c !== "" && c !== "identity")
  const out: Array<Coding> = []
  for (const coding of codings) {
    if (coding === "gzip" || coding === "x-gzip") out.push("gzip")
    else if (coding === "deflate") out.push("deflate")
    else if (coding === "br") out.push("br")
    else return "unknown"
  }
  return out.reverse()
}

/** The body length a `Content-Length` promises (none for HEAD, 204 and 304, or when it is not a number). */
export const declaredLength = (method: string, status: number, header: string | undefined): number | undefined => {
  if (method === "HEAD" || status === 204 || status === 304 || header === undefined) return undefined
  const value = header.split(",")[0]!.trim()
  return /^\d+$/.test(value) ? Number(value) : undefined
}

const isZlibWrapped = (first: Uint8Array): boolean =>
  first.length >= 2 && (first[0]! & 0x0f) === 8 && ((first[0]! << 8) | first[1]!) % 31 === 0

const makeDecoder = (
  coding: Coding,
  first: Uint8Array
): zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | zlib.BrotliDecompress => {
  const flush = { finishFlush: zlib.constants.Z_SYNC_FLUSH }
  switch (coding) {
    case "gzip":
      return zlib.createGunzip(flush)
    case "deflate":
      return isZlibWrapped(first) ? zlib.createInflate(flush) : zlib.createInflateRaw(flush)
    case "br":
      return zlib.createBrotliDecompress()
  }
}

interface Context {
  readonly request: PreparedRequest.PreparedRequest
  readonly url: string
  readonly limits: Adapter.Limits
  /** The response's `Content-Length`, when it has one. */
  readonly declaredLength?: number | undefined
}

const tooLarge = (context: Context) =>
  new RequestError.ContentTooLarge({
    message: `The body of ${context.url} is larger than the limit of ${context.limits.maxBodySize} bytes`,
    limit: context.limits.maxBodySize,
    request: context.request
  })

const ratioExceeded = (context: Context) =>
  new RequestError.ContentDecodingError({
    message: `The body of ${context.url} decompresses more than ${context.limits.maxDecompressionRatio} times its size`,
    request: context.request
  })

const decodeFailed = (context: Context, cause: unknown) =>
  new RequestError.ContentDecodingError({
    message: `Received response with content-encoding, but failed to decode it (${context.url}): ${
      cause instanceof Error ? cause.message : String(cause)
    }`,
    request: context.request,
    cause
  })

/** One coding layer as an incremental transform; fails when decoded output passes the limits. */
class Layer {
  private decoder: ReturnType<typeof makeDecoder> | undefined
  private out: Array<Buffer> = []
  private failure: unknown
  /** Bytes held until there are two: deflate's zlib wrapper is recognised from its first two bytes. */
  private head: Uint8Array = new Uint8Array(0)
  produced = 0

  constructor(
    private readonly coding: Coding,
    private readonly check: (produced: number) => RequestError.RequestError | undefined
  ) {}

  private init(first: Uint8Array) {
    const decoder = makeDecoder(this.coding, first)
    decoder.on("data", (chunk: Buffer) => {
      this.produced += chunk.length
      const error = this.check(this.produced)
      if (error !== undefined) {
        this.failure = error
        decoder.destroy()
        return
      }
      this.out.push(chunk)
    })
    decoder.on("error", (error) => {
      if (this.failure === undefined) this.failure = error
    })
    this.decoder = decoder
    return decoder
  }

  write(input: Uint8Array): Promise<Array<Buffer>> {
    let chunk = input
    if (this.decoder === undefined) {
      if (this.head.length > 0) chunk = Buffer.concat([this.head, chunk])
      if (this.coding === "deflate" && chunk.length < 2) {
        this.head = chunk
        return Promise.resolve([])
      }
      this.head = new Uint8Array(0)
    }
    const decoder = this.decoder ?? this.init(chunk)
    return this.settle(decoder, "write", (done) => decoder.write(chunk, () => done()))
  }

  async end(): Promise<Array<Buffer>> {
    if (this.decoder === undefined && this.head.length > 0) {
      // A one-byte body: too short for any stream, so its decoder reports the error.
      const head = this.head
      this.head = new Uint8Array(0)
      this.init(head)
      const first = await this.write(head)
      return [...first, ...(await this.end())]
    }
    const decoder = this.decoder
    if (decoder === undefined) return []
    return this.settle(decoder, "end", (done) => {
      decoder.once("end", done)
      decoder.end()
    })
  }

  /**
   * Run one step and give the output it produced. zlib calls neither a write's callback nor
   * `end` after an error or a `destroy` (our limits), so "error" and "close" settle it too.
   */
  private settle(
    decoder: ReturnType<typeof makeDecoder>,
    step: "write" | "end",
    run: (done: () => void) => void
  ): Promise<Array<Buffer>> {
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure)
      if (decoder.destroyed) return reject(new Error(`the ${this.coding} decoder is closed`))
      let settled = false
      const finish = () => {
        if (settled) return
        settled = true
        decoder.off("error", finish)
        decoder.off("close", finish)
        if (this.failure !== undefined) return reject(this.failure)
        if (step === "write" && decoder.destroyed) return reject(new Error(`the ${this.coding} decoder closed`))
        const out = this.out
        this.out = []
        resolve(out)
      }
      decoder.once("error", finish)
      decoder.once("close", finish)
      run(finish)
    })
  }

  destroy() {
    this.decoder?.destroy()
  }
}

/** A chain of coding layers with the session's limits applied to the final output. */
class Decoder {
  private readonly layers: Array<Layer>
  private encoded = 0

  constructor(codings: Array<Coding>, private readonly context: Context) {
    this.layers = codings.map((coding, i) =>
      new Layer(coding, (produced) => (i === codings.length - 1 ? this.limit(produced) : undefined))
    )
  }

  private limit(decoded: number): RequestError.RequestError | undefined {
    if (decoded > this.context.limits.maxBodySize) return tooLarge(this.context)
    if (decoded > RATIO_FLOOR && decoded > this.encoded * this.context.limits.maxDecompressionRatio) {
      return ratioExceeded(this.context)
    }
    return undefined
  }

  async write(chunk: Uint8Array): Promise<Array<Buffer>> {
    this.encoded += chunk.length
    let pieces: Array<Uint8Array> = [chunk]
    for (const layer of this.layers) {
      const next: Array<Buffer> = []
      for (const piece of pieces) next.push(...(await layer.write(piece)))
      pieces = next
    }
    return pieces as Array<Buffer>
  }

  async end(): Promise<Array<Buffer>> {
    let pending: Array<Uint8Array> = []
    for (const layer of this.layers) {
      const next: Array<Buffer> = []
      for (const piece of pending) next.push(...(await layer.write(piece)))
      next.push(...(await layer.end()))
      pending = next
    }
    return pending as Array<Buffer>
  }

  destroy() {
    for (const layer of this.layers) layer.destroy()
  }
}

const mapDecodeError = (context: Context) => (cause: unknown): RequestError.RequestError =>
  RequestError.isRequestError(cause) ? cause : decodeFailed(context, cause)

const EMPTY = new Uint8Array(0)

/**
 * The receiving end of one response body.
 */
export class BodyReader {
  private chunks: Array<Buffer> = []
  private queued = 0
  private received = 0
  private done = false
  private failure: RequestError.RequestError | undefined
  private wake: (() => void) | undefined
  private resumeSource: (() => void) | undefined
  private paused = false
  private collecting = false

  constructor(
    private readonly abort: (reason?: Error) => void,
    private readonly context: Context,
    private readonly encodings: Array<Coding> | "unknown",
    private readonly classify: (error: unknown) => RequestError.RequestError
  ) {}

  /** The whole body when it already arrived and needs no decoding (the buffered fast path). */
  unsafeReadIfDone(): Uint8Array | undefined {
    if (!this.done || this.failure !== undefined || !this.identity || this.#stream !== undefined) return undefined
    const declared = this.context.declaredLength
    if (declared !== undefined && declared > this.context.limits.maxBodySize) return undefined
    const chunks = this.chunks
    this.chunks = []
    return chunks.length === 1 ? chunks[0]! : chunks.length === 0 ? EMPTY : Buffer.concat(chunks)
  }

  /** undici: a chunk arrived; `false` asks undici to pause. */
  onData(chunk: Buffer, resume: () => void): boolean {
    if (this.done) return false
    this.received += chunk.length
    if (this.received > this.context.limits.maxBodySize) {
      this.fail(tooLarge(this.context))
      this.abort()
      return false
    }
    this.chunks.push(chunk)
    this.queued += chunk.length
    this.notify()
    if (!this.collecting && this.queued >= HIGH_WATER) {
      this.paused = true
      this.resumeSource = resume
      return false
    }
    return true
  }

  onComplete(): void {
    this.done = true
    this.notify()
  }

  onError(error: unknown): void {
    this.fail(this.classify(error))
  }

  private get identity(): boolean {
    return this.encodings === "unknown" || this.encodings.length === 0
  }

  private fail(error: RequestError.RequestError) {
    if (this.done) return
    this.failure = error
    this.done = true
    this.notify()
  }

  /** A `Content-Length` above the limit fails before any byte is read. */
  private refuseDeclared() {
    const declared = this.context.declaredLength
    if (this.done || declared === undefined || declared <= this.context.limits.maxBodySize) return
    this.chunks = []
    this.queued = 0
    this.fail(tooLarge(this.context))
    this.abort()
  }

  private notify() {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private take(): Array<Buffer> {
    const out = this.chunks
    this.chunks = []
    this.queued = 0
    if (this.paused) {
      this.paused = false
      const resume = this.resumeSource
      this.resumeSource = undefined
      resume?.()
    }
    return out
  }

  #waitForData: Effect.Effect<void> | undefined
  #pullRaw: Effect.Effect<Chunk.Chunk<Buffer>, Option.Option<RequestError.RequestError>> | undefined
  #readAll: Effect.Effect<Uint8Array, RequestError.RequestError> | undefined
  #stream: Stream.Stream<Uint8Array, RequestError.RequestError> | undefined
  #close: Effect.Effect<void> | undefined

  // The Effects below are made on first use: most bodies are only ever read whole.

  private get waitForData(): Effect.Effect<void> {
    return this.#waitForData ??= this.makeWaitForData()
  }

  private get pullRaw(): Effect.Effect<Chunk.Chunk<Buffer>, Option.Option<RequestError.RequestError>> {
    return this.#pullRaw ??= this.makePullRaw()
  }

  /** The whole body, decoded. The fast path: no per-chunk Effects. */
  get readAll(): Effect.Effect<Uint8Array, RequestError.RequestError> {
    return this.#readAll ??= this.makeReadAll()
  }

  /** The body as a Stream (decoded), with backpressure. */
  get stream(): Stream.Stream<Uint8Array, RequestError.RequestError> {
    return this.#stream ??= this.makeStream()
  }

  /** Release: nothing to do after the body was read to the end; abort otherwise. */
  get close(): Effect.Effect<void> {
    return this.#close ??= this.makeClose()
  }

  private makeWaitForData(): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (this.chunks.length > 0 || this.done) return resume(Effect.void)
      this.wake = () => resume(Effect.void)
      return Effect.sync(() => {
        this.wake = undefined
      })
    })
  }

  /** Chunks as they arrive (raw, before decoding); `None` at the end. */
  private makePullRaw(): Effect.Effect<Chunk.Chunk<Buffer>, Option.Option<RequestError.RequestError>> {
    return Effect.suspend(() => {
      if (this.chunks.length > 0) return Effect.succeed(Chunk.unsafeFromArray(this.take()))
      if (this.failure !== undefined) return Effect.fail(Option.some(this.failure))
      if (this.done) return Effect.fail(Option.none())
      return Effect.zipRight(this.waitForData, this.pullRaw)
    })
  }

  private makeReadAll(): Effect.Effect<Uint8Array, RequestError.RequestError> {
    return Effect.suspend(() => {
      this.refuseDeclared()
      this.collecting = true
      if (this.paused) this.take().forEach((c) => this.chunks.push(c))
      const finish = (): Effect.Effect<Uint8Array, RequestError.RequestError> => {
        if (this.failure !== undefined) return Effect.fail(this.failure)
        const raw = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
        this.chunks = []
        return this.decodeWhole(raw)
      }
      if (this.done) return finish()
      return Effect.zipRight(
        Effect.async<void>((resume) => {
          const check = () => {
            if (this.done) resume(Effect.void)
            else this.wake = check
          }
          check()
          return Effect.sync(() => {
            this.wake = undefined
          })
        }),
        Effect.suspend(finish)
      )
    })
  }

  private decodeWhole(raw: Uint8Array): Effect.Effect<Uint8Array, RequestError.RequestError> {
    if (this.identity || raw.length === 0) return Effect.succeed(raw)
    if ((this.encodings as Array<Coding>).length > this.context.limits.maxEncodings) {
      return Effect.fail(decodeFailed(this.context, new Error("too many content codings")))
    }
    const decoder = new Decoder(this.encodings as Array<Coding>, this.context)
    return Effect.tryPromise({
      try: async () => {
        const out = [...(await decoder.write(raw)), ...(await decoder.end())]
        return out.length === 1 ? out[0]! : Buffer.concat(out)
      },
      catch: mapDecodeError(this.context)
    }).pipe(Effect.ensuring(Effect.sync(() => decoder.destroy())))
  }

  private makeStream(): Stream.Stream<Uint8Array, RequestError.RequestError> {
    return Stream.suspend(() => {
      this.refuseDeclared()
      const raw = Stream.repeatEffectChunkOption(this.pullRaw).pipe(
        Stream.ensuring(Effect.sync(() => {
          if (!this.done) {
            this.done = true
            this.abort()
          }
        }))
      )
      if (this.identity) return raw as Stream.Stream<Uint8Array, RequestError.RequestError>
      if ((this.encodings as Array<Coding>).length > this.context.limits.maxEncodings) {
        return Stream.fail(decodeFailed(this.context, new Error("too many content codings")))
      }
      const decoder = new Decoder(this.encodings as Array<Coding>, this.context)
      const onError = mapDecodeError(this.context)
      return raw.pipe(
        Stream.mapEffect((chunk) => Effect.tryPromise({ try: () => decoder.write(chunk), catch: onError })),
        Stream.concat(Stream.fromEffect(Effect.tryPromise({ try: () => decoder.end(), catch: onError }))),
        Stream.mapConcat((pieces) => pieces.filter((p) => p.length > 0)),
        Stream.ensuring(Effect.sync(() => decoder.destroy()))
      )
    })
  }

  private makeClose(): Effect.Effect<void> {
    return Effect.sync(() => {
      if (!this.done) {
        this.done = true
        this.failure ??= new RequestError.StreamConsumedError({
          message: `The body of ${this.context.url} was released before it was read`,
          request: this.context.request
        })
        this.abort()
        this.notify()
      }
      this.chunks = []
    })
  }
}

/** The request body the producer may read ahead of the socket. */
const READ_AHEAD = 1024 * 1024

/**
 * A request body Stream as the AsyncIterable undici writes from. One fiber runs the stream
 * (reading its channel) and reads ahead up to 1 MiB, so undici usually finds the next chunk
 * ready and the fiber is woken once per megabyte rather than once per chunk
 * (`Stream.toAsyncIterable` costs several times more per chunk). Chunks are handed over as they
 * are (no copies), and memory stays bounded. `return` or `cancel` (the request failed or was
 * interrupted) interrupts that fiber, so a stalled source is not left running and its
 * finalizers run.
 */
export const toIterable = (
  stream: Stream.Stream<Uint8Array, RequestError.RequestError>,
  runtime: Runtime.Runtime<never>
): { readonly iterable: AsyncIterable<Uint8Array>; readonly cancel: () => void } => {
  let fiber: Fiber.RuntimeFiber<void, RequestError.RequestError> | undefined
  let queue: Array<Uint8Array> = []
  let head = 0
  let queued = 0
  /** Resumes the producer, waiting for room. */
  let more: (() => void) | undefined
  let waiter:
    | { readonly resolve: (result: IteratorResult<Uint8Array>) => void; readonly reject: (error: unknown) => void }
    | undefined
  let outcome: Exit.Exit<void, RequestError.RequestError> | undefined
  let cancelled = false

  const take = (): Uint8Array | undefined => {
    if (head === queue.length) return undefined
    const chunk = queue[head++]!
    queued -= chunk.length
    if (head === queue.length) {
      queue = []
      head = 0
    }
    // Woken again only once half the read-ahead has gone, so it refills several chunks per run.
    if (more !== undefined && queued <= READ_AHEAD / 2) {
      const resume = more
      more = undefined
      resume()
    }
    return chunk
  }
  const settle = () => {
    const w = waiter
    if (w === undefined) return
    const chunk = take()
    if (chunk !== undefined) {
      waiter = undefined
      return w.resolve({ done: false, value: chunk })
    }
    if (outcome === undefined) return
    waiter = undefined
    if (Exit.isSuccess(outcome) || cancelled) return w.resolve({ done: true, value: undefined })
    const failure = Cause.failureOption(outcome.cause)
    w.reject(Option.isSome(failure) ? failure.value : Cause.squash(outcome.cause))
  }
  const waitForRoom = Effect.async<void>((resume) => {
    more = () => resume(Effect.void)
    return Effect.sync(() => {
      more = undefined
    })
  })
  // The stream's channel read directly (a `Stream.runForEachChunk` costs about half as much
  // again per chunk): each chunk is queued, the reader pausing once the read-ahead is full.
  const reader: Channel.Channel<never, Chunk.Chunk<Uint8Array>, RequestError.RequestError, RequestError.RequestError> =
    Channel.readWithCause({
      onInput: (chunk: Chunk.Chunk<Uint8Array>) => {
        for (const c of chunk) {
          if (c.length === 0) continue
          queue.push(c)
          queued += c.length
        }
        settle()
        return queued < READ_AHEAD ? reader : pauseThenRead
      },
      onFailure: Channel.failCause,
      onDone: () => Channel.void
    })
  const pauseThenRead = Channel.zipRight(Channel.fromEffect(waitForRoom), reader)
  const producer = Channel.runDrain(Channel.pipeTo(Stream.toChannel(stream), reader))
  const cancel = () => {
    if (cancelled) return
    cancelled = true
    fiber?.unsafeInterruptAsFork(fiber.id())
    queue = []
    head = 0
    queued = 0
    outcome ??= Exit.void
    settle()
  }
  const iterator: AsyncIterator<Uint8Array> = {
    next: () => {
      const chunk = take()
      if (chunk !== undefined) return Promise.resolve({ done: false, value: chunk })
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject }
        if (outcome !== undefined) return settle()
        if (fiber === undefined) {
          fiber = Runtime.runFork(runtime)(producer)
          fiber.addObserver((exit) => {
            outcome ??= exit
            settle()
          })
        }
      })
    },
    return: () => {
      cancel()
      return Promise.resolve({ done: true, value: undefined })
    }
  }
  return { iterable: { [Symbol.asyncIterator]: () => iterator }, cancel }
}

/**
 * A body's own AsyncIterable (see `Body.sourceIterable`) as the AsyncIterable undici writes from,
 * without an Effect Stream in between: each chunk through `Body.chunkBytes` (strings as UTF-8),
 * a chunk that is neither bytes nor a string and a failure of the source fail the request typed
 * (`Body.chunkError`, `Body.sourceError`), and `cancel` (the request failed or was interrupted) or undici's own
 * `return` ends the source once: a Node stream is destroyed (even when undici never started it),
 * any other source through its iterator's `return`.
 */
export const fromSource = (
  source: AsyncIterable<unknown>
): { readonly iterable: AsyncIterable<Uint8Array>; readonly cancel: () => void } => {
  let inner: AsyncIterator<unknown> | undefined
  let finished = false
  const cancel = () => {
    if (finished) return
    finished = true
    try {
      // A Node stream is destroyed (its file closed): its iterator's `return` would wait behind a
      // pending read, and do nothing for an iterator never started.
      const destroy = (source as { readonly destroy?: unknown }).destroy
      if (typeof destroy === "function") return void destroy.call(source)
      if (inner?.return !== undefined) Promise.resolve(inner.return()).catch(() => {})
    } catch {
      // A source whose iterator cannot be made or closed has nothing more to release.
    }
  }
  const next = async (): Promise<IteratorResult<Uint8Array>> => {
    if (finished) return { done: true, value: undefined }
    let result: IteratorResult<unknown>
    try {
      inner ??= source[Symbol.asyncIterator]()
      result = await inner.next()
    } catch (error) {
      finished = true
      throw Body.sourceError(error)
    }
    if (result.done === true) {
      finished = true
      return { done: true, value: undefined }
    }
    const bytes = Body.chunkBytes(result.value)
    if (bytes !== undefined) return { done: false, value: bytes }
    cancel()
    throw Body.chunkError(result.value)
  }
  const iterator: AsyncIterator<Uint8Array> = {
    next,
    return: () => {
      cancel()
      return Promise.resolve({ done: true, value: undefined })
    }
  }
  return { iterable: { [Symbol.asyncIterator]: () => iterator }, cancel }
}
