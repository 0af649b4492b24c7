import { Headers, PreparedRequest, Response } from "@effect-requests/core"
import { Duration, Effect, Option, Stream } from "effect"

/** The request the responses below answer. */
export const request = PreparedRequest.make({ method: "GET", url: "http://h/x" })

/** A streamed response whose body is `chunks`, as they are. */
export const streamed = (chunks: ReadonlyArray<Uint8Array>, headers: Headers.Input = {}) =>
  new Response.StreamingResponse({
    status: 200,
    reason: "OK",
    url: "http://h/x",
    headers: Headers.fromInput(headers),
    history: [],
    elapsed: Duration.zero,
    request,
    next: Option.none(),
    source: {
      stream: Stream.fromIterable(chunks),
      readAll: Response.collect(Stream.fromIterable(chunks)),
      close: Effect.void
    }
  })

/** A buffered response with `content`. */
export const buffered = (content: Uint8Array, headers: Headers.Input = {}, status = 200, reason = "OK") =>
  Response.make({ ...streamed([], headers).fields, status, reason, content })

export const bytes = (s: string) => new TextEncoder().encode(s)
