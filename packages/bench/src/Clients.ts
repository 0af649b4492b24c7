/**
 * The HTTP clients under comparison, each behind the same small `Workload` interface: raw undici
 * (the reference), our session (defaults, and with a retry policy and timeouts), `@effect/platform`'s
 * undici client, axios, got, ky and Node's global fetch, every one with keep-alive.
 *
 * The Effect clients keep one runtime (one session, one connection pool) for the whole benchmark
 * and run each measured workload as one Effect program, as an Effect application would.
 *
 * @since 0.1.0
 */
import { Retry, Session } from "@effect-requests/core"
import { NodeSession } from "@effect-requests/node"
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import axios from "axios"
import { Effect, type Layer, ManagedRuntime, Stream } from "effect"
import got from "got"
import ky from "ky"
import * as Http from "node:http"
import { Readable } from "node:stream"
import * as undici from "undici"

/**
 * What a client can be asked to do. Every method reads each response body to its end and fails
 * on an unexpected status.
 *
 * @since 0.1.0
 * @category models
 */
/**
 * The source of an Effect client's upload body: an Effect `Stream` (the default) or an async generator.
 *
 * @since 0.1.0
 * @category models
 */
export type UploadFrom = "stream" | "iterable"

/**
 * @since 0.1.0
 * @category models
 */
export interface Workload {
  /** GET `url` `count` times, `concurrency` at a time (1: one after the other). */
  readonly get: (url: string, count: number, concurrency: number) => Promise<void>
  /** GET `url` `count` times one after the other, following its redirects (at most `hops`). */
  readonly redirects: (url: string, count: number, hops: number) => Promise<void>
  /** GET `url` and read its body as a stream; the number of bytes read. */
  readonly download: (url: string) => Promise<number>
  /**
   * POST `count` times `chunk` as a streamed body; the byte count the server reports. `from`:
   * what an Effect client is given, an Effect `Stream` or an async generator (the others always
   * take an async generator, as a Node or web stream where they need one).
   */
  readonly upload: (url: string, chunk: Uint8Array, count: number, from: UploadFrom) => Promise<number>
  /** Release the client's connections. */
  readonly close: () => Promise<void>
}

/**
 * A client: a name, a description of its configuration, and how to build one.
 *
 * @since 0.1.0
 * @category models
 */
export interface Client {
  readonly name: string
  readonly description: string
  /** Whether this is one of ours (the targets apply to it). */
  readonly ours: boolean
  readonly make: () => Workload
}

/** `count` calls of `task`, at most `concurrency` at a time. */
const pool = async (count: number, concurrency: number, task: () => Promise<void>): Promise<void> => {
  let started = 0
  const worker = async () => {
    while (started < count) {
      started++
      await task()
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker))
}

const expectStatus = (client: string, url: string, status: number, expected = 200): void => {
  if (status !== expected) throw new Error(`${client}: ${url} answered ${status}, expected ${expected}`)
}

async function* repeatChunk(chunk: Uint8Array, count: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count; i++) yield chunk
}

const uploadedBytes = (json: unknown): number => Number((json as { readonly bytes?: unknown }).bytes)

const countBytes = async (body: AsyncIterable<Uint8Array>): Promise<number> => {
  let bytes = 0
  for await (const chunk of body) bytes += chunk.length
  return bytes
}

/**
 * Raw undici `request()` on an `Agent`; redirects through `interceptors.redirect` composed onto it.
 *
 * @since 0.1.0
 * @category clients
 */
export const undiciClient: Client = {
  name: "undici",
  description: "undici.request() on an Agent (keepAliveTimeout 10 s); redirects: agent.compose(interceptors.redirect)",
  ours: false,
  make: () => {
    const agent = new undici.Agent({ keepAliveTimeout: 10_000 })
    const redirecting = agent.compose(undici.interceptors.redirect({ maxRedirections: 5 }))
    const getOnce = async (url: string, dispatcher: undici.Dispatcher) => {
      const { body, statusCode } = await undici.request(url, { dispatcher })
      await body.arrayBuffer()
      expectStatus("undici", url, statusCode)
    }
    return {
      get: (url, count, concurrency) => pool(count, concurrency, () => getOnce(url, agent)),
      redirects: (url, count) => pool(count, 1, () => getOnce(url, redirecting)),
      download: async (url) => {
        const { body, statusCode } = await undici.request(url, { dispatcher: agent })
        expectStatus("undici", url, statusCode)
        return countBytes(body)
      },
      upload: async (url, chunk, count) => {
        const { body, statusCode } = await undici.request(url, {
          dispatcher: agent,
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
          // undici takes any async iterable (its types only name Readable)
          body: repeatChunk(chunk, count) as unknown as Readable
        })
        const json = await body.json()
        expectStatus("undici", url, statusCode)
        return uploadedBytes(json)
      },
      close: () => agent.close()
    }
  }
}

const sessionWorkload = (name: string, layer: Layer.Layer<Session.Session, unknown>): Workload => {
  const runtime = ManagedRuntime.make(layer)
  const expectOk = (url: string, hops: number) => (response: { readonly status: number; readonly history: unknown }) =>
    response.status === 200 && (response.history as ReadonlyArray<unknown>).length === hops
      ? Effect.void
      : Effect.dieMessage(`${name}: ${url} answered ${response.status} after ${hops} hops`)
  const times = (count: number) => Array.from({ length: count })
  return {
    get: (url, count, concurrency) =>
      runtime.runPromise(
        Effect.forEach(
          times(count),
          () => Effect.flatMap(Session.get(url), expectOk(url, 0)),
          concurrency > 1 ? { discard: true, concurrency } : { discard: true }
        )
      ),
    redirects: (url, count, hops) =>
      runtime.runPromise(
        Effect.forEach(times(count), () => Effect.flatMap(Session.get(url), expectOk(url, hops)), { discard: true })
      ),
    download: (url) =>
      runtime.runPromise(
        Effect.scoped(
          Effect.flatMap(
            Session.stream("GET", url),
            (response) => Stream.runFold(response.body, 0, (bytes, chunk) => bytes + chunk.length)
          )
        )
      ),
    upload: (url, chunk, count, from) =>
      runtime.runPromise(
        Effect.map(
          Session.post(url, {
            data: from === "iterable" ? repeatChunk(chunk, count) : Stream.repeatValue(chunk).pipe(Stream.take(count)),
            headers: { "content-type": "application/octet-stream" }
          }),
          (response) => uploadedBytes(JSON.parse(response.text))
        )
      ),
    close: () => runtime.dispose()
  }
}

/**
 * Our session with its defaults: `NodeSession.layer()`.
 *
 * @since 0.1.0
 * @category clients
 */
export const sessionClient: Client = {
  name: "session",
  description: "effect-requests Session, NodeSession.layer() defaults",
  ours: true,
  make: () => sessionWorkload("session", NodeSession.layer())
}

/**
 * Our session with a retry policy and a default timeout (connect, read and total).
 *
 * @since 0.1.0
 * @category clients
 */
export const sessionRetryClient: Client = {
  name: "session+retry",
  description: "Session with retry: Retry.make({ total: 3, statusForcelist: [503] }), timeout 5 s / 30 s / 60 s",
  ours: true,
  make: () =>
    sessionWorkload(
      "session+retry",
      NodeSession.layer({
        retry: Retry.make({ total: 3, statusForcelist: [503] }),
        timeout: { connect: "5 seconds", read: "30 seconds", total: "60 seconds" }
      })
    )
}

/**
 * `@effect/platform`'s `HttpClient` on `NodeHttpClient.layerUndici`.
 *
 * @since 0.1.0
 * @category clients
 */
export const platformClient: Client = {
  name: "@effect/platform",
  description: "HttpClient from NodeHttpClient.layerUndici; redirects: HttpClient.followRedirects(client, 5)",
  ours: false,
  make: () => {
    const runtime = ManagedRuntime.make(NodeHttpClient.layerUndici)
    const readOk = (url: string) => (response: HttpClientResponse.HttpClientResponse) =>
      response.status === 200
        ? Effect.asVoid(response.arrayBuffer)
        : Effect.dieMessage(`@effect/platform: ${url} answered ${response.status}`)
    const times = (count: number) => Array.from({ length: count })
    return {
      get: (url, count, concurrency) =>
        runtime.runPromise(Effect.flatMap(HttpClient.HttpClient, (client) =>
          Effect.forEach(
            times(count),
            () => Effect.flatMap(client.get(url), readOk(url)),
            concurrency > 1 ? { discard: true, concurrency } : { discard: true }
          ))),
      redirects: (url, count, hops) =>
        runtime.runPromise(Effect.flatMap(HttpClient.HttpClient, (client) => {
          const following = HttpClient.followRedirects(client, hops)
          return Effect.forEach(times(count), () => Effect.flatMap(following.get(url), readOk(url)), { discard: true })
        })),
      download: (url) =>
        runtime.runPromise(
          Effect.flatMap(
            HttpClient.get(url),
            (response) => Stream.runFold(response.stream, 0, (bytes, chunk) => bytes + chunk.length)
          )
        ),
      upload: (url, chunk, count, from) =>
        runtime.runPromise(
          HttpClientRequest.post(url).pipe(
            HttpClientRequest.bodyStream(
              from === "iterable"
                ? Stream.fromAsyncIterable(repeatChunk(chunk, count), (e) => e)
                : Stream.repeatValue(chunk).pipe(Stream.take(count))
            ),
            HttpClient.execute,
            Effect.flatMap((response) => response.json),
            Effect.map(uploadedBytes)
          )
        ),
      close: () => runtime.dispose()
    }
  }
}

/**
 * axios with a keep-alive `http.Agent`.
 *
 * @since 0.1.0
 * @category clients
 */
export const axiosClient: Client = {
  name: "axios",
  description: "axios with http.Agent({ keepAlive: true }); upload with maxRedirects: 0 (no request-body buffering)",
  ours: false,
  make: () => {
    const httpAgent = new Http.Agent({ keepAlive: true })
    const client = axios.create({ httpAgent, responseType: "arraybuffer", maxBodyLength: Infinity })
    const getOnce = async (url: string) => expectStatus("axios", url, (await client.get(url)).status)
    return {
      get: (url, count, concurrency) => pool(count, concurrency, () => getOnce(url)),
      redirects: (url, count, hops) =>
        pool(count, 1, async () => {
          const response = await client.get(url, { maxRedirects: hops })
          expectStatus("axios", url, response.status)
        }),
      download: async (url) => {
        const response = await client.get<Readable>(url, { responseType: "stream" })
        expectStatus("axios", url, response.status)
        return countBytes(response.data)
      },
      upload: async (url, chunk, count) => {
        const response = await client.post(url, Readable.from(repeatChunk(chunk, count)), {
          headers: { "content-type": "application/octet-stream" },
          responseType: "json",
          maxRedirects: 0
        })
        expectStatus("axios", url, response.status)
        return uploadedBytes(response.data)
      },
      close: async () => httpAgent.destroy()
    }
  }
}

/**
 * got with a keep-alive `http.Agent`.
 *
 * @since 0.1.0
 * @category clients
 */
export const gotClient: Client = {
  name: "got",
  description: "got with agent: { http: http.Agent({ keepAlive: true }) }",
  ours: false,
  make: () => {
    const httpAgent = new Http.Agent({ keepAlive: true })
    const client = got.extend({ agent: { http: httpAgent } })
    const getOnce = async (url: string) => {
      const response = await client.get(url, { responseType: "buffer" })
      expectStatus("got", url, response.statusCode)
    }
    return {
      get: (url, count, concurrency) => pool(count, concurrency, () => getOnce(url)),
      redirects: (url, count) => pool(count, 1, () => getOnce(url)),
      download: (url) => countBytes(client.stream(url)),
      upload: async (url, chunk, count) => {
        const response = await client.post(url, {
          body: Readable.from(repeatChunk(chunk, count)),
          headers: { "content-type": "application/octet-stream" },
          responseType: "json"
        })
        expectStatus("got", url, response.statusCode)
        return uploadedBytes(response.body)
      },
      close: async () => httpAgent.destroy()
    }
  }
}

const webBody = (chunk: Uint8Array, count: number) =>
  Readable.toWeb(Readable.from(repeatChunk(chunk, count))) as unknown as ReadableStream<Uint8Array>

/**
 * ky (on Node's global fetch), without its timeout and retries.
 *
 * @since 0.1.0
 * @category clients
 */
export const kyClient: Client = {
  name: "ky",
  description: "ky on the global fetch (keep-alive by default), timeout: false, retry: 0",
  ours: false,
  make: () => {
    const client = ky.create({ timeout: false, retry: 0 })
    const getOnce = async (url: string) => {
      const response = await client.get(url)
      await response.arrayBuffer()
      expectStatus("ky", url, response.status)
    }
    return {
      get: (url, count, concurrency) => pool(count, concurrency, () => getOnce(url)),
      redirects: (url, count) => pool(count, 1, () => getOnce(url)),
      download: async (url) => {
        const response = await client.get(url)
        expectStatus("ky", url, response.status)
        return countBytes(response.body as unknown as AsyncIterable<Uint8Array>)
      },
      upload: async (url, chunk, count) => {
        const response = await client.post(
          url,
          {
            body: webBody(chunk, count),
            headers: { "content-type": "application/octet-stream" },
            duplex: "half"
          } as Parameters<typeof client.post>[1]
        )
        expectStatus("ky", url, response.status)
        return uploadedBytes(await response.json())
      },
      close: async () => {}
    }
  }
}

/**
 * Node's global `fetch` (its bundled undici, keep-alive by default).
 *
 * @since 0.1.0
 * @category clients
 */
export const fetchClient: Client = {
  name: "fetch",
  description: `Node's global fetch (bundled undici ${process.versions.undici ?? "?"})`,
  ours: false,
  make: () => {
    const getOnce = async (url: string) => {
      const response = await fetch(url)
      await response.arrayBuffer()
      expectStatus("fetch", url, response.status)
    }
    return {
      get: (url, count, concurrency) => pool(count, concurrency, () => getOnce(url)),
      redirects: (url, count) => pool(count, 1, () => getOnce(url)),
      download: async (url) => {
        const response = await fetch(url)
        expectStatus("fetch", url, response.status)
        return countBytes(response.body as unknown as AsyncIterable<Uint8Array>)
      },
      upload: async (url, chunk, count) => {
        const response = await fetch(url, {
          method: "POST",
          body: webBody(chunk, count),
          headers: { "content-type": "application/octet-stream" },
          duplex: "half"
        } as RequestInit)
        expectStatus("fetch", url, response.status)
        return uploadedBytes(await response.json())
      },
      close: async () => {}
    }
  }
}

/**
 * Every client, the reference (undici) first.
 *
 * @since 0.1.0
 * @category clients
 */
export const all: ReadonlyArray<Client> = [
  undiciClient,
  sessionClient,
  sessionRetryClient,
  platformClient,
  axiosClient,
  gotClient,
  kyClient,
  fetchClient
]
