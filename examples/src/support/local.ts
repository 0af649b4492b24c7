/**
 * What the examples need besides httpbin, on 127.0.0.1: a real forward proxy (the npm `proxy`
 * package) that asks for credentials and logs what it is asked. (Certificates come from
 * `TestCertificates` of `@effect-requests/httpbin`.)
 */
import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { createProxy } from "proxy"

/** The npm `proxy` package on 127.0.0.1, asking for `alice:s3cret`, logging what it is asked. */
export const startProxy = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly seen: Array<string>; readonly server: http.Server }>((resume) => {
    const seen: Array<string> = []
    const server = createProxy(http.createServer())
    server.authenticate = (req) =>
      req.headers["proxy-authorization"] === `Basic ${Buffer.from("alice:s3cret").toString("base64")}`
    server.prependListener("request", (req: http.IncomingMessage) => seen.push(`${req.method} ${req.url}`))
    server.prependListener("connect", (req: http.IncomingMessage) => seen.push(`${req.method} ${req.url}`))
    server.listen(
      0,
      "127.0.0.1",
      () => resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server }))
    )
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)
