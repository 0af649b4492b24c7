import { PreparedRequest } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as url from "../src/internal/url.js"

const prep = (raw: string, params?: url.ParamsInput) => Effect.runSync(PreparedRequest.prepareUrl(raw, params)).url
const fail = (raw: string) => Effect.runSync(Effect.flip(PreparedRequest.prepareUrl(raw)))

describe("prepareUrl", () => {
  it("appends params to an existing query without re-encoding it", () => {
    assert.strictEqual(
      prep("http://h/p?x=a%20b&t=%7E~'", { y: "c d", z: [1, 2] }),
      "http://h/p?x=a%20b&t=~~'&y=c+d&z=1&z=2"
    )
  })

  it("keeps the fragment after the params", () => {
    assert.strictEqual(prep("http://h/p#frag", { a: 1 }), "http://h/p?a=1#frag")
  })

  it("encodes params as Python's urlencode does", () => {
    assert.strictEqual(
      prep("http://h/", { b: true, s: "a b+c/d", e: "", u: "é", skip: null }),
      "http://h/?b=true&s=a+b%2Bc%2Fd&e=&u=%C3%A9"
    )
  })

  it("uses string params verbatim", () => {
    assert.strictEqual(prep("http://h/p?a=1", "b=%20x"), "http://h/p?a=1&b=%20x")
  })

  it("IDNA-encodes hosts and lower-cases scheme and host", () => {
    assert.strictEqual(prep("HTTP://Königsgäßchen.DE/x"), "http://xn--knigsgchen-b4a3dun.de/x")
  })

  it("requotes paths: spaces, non-ASCII, lone percents", () => {
    assert.strictEqual(prep("http://h/get/test case"), "http://h/get/test%20case")
    assert.strictEqual(prep("http://h/š"), "http://h/%C5%A1")
    assert.strictEqual(prep("http://h/%ppicture"), "http://h/%25ppicture")
    assert.strictEqual(prep("http://h/%25ppicture"), "http://h/%25ppicture")
    assert.strictEqual(prep("http://h/a%2fb"), "http://h/a%2fb")
  })

  it("makes every percent literal when an escape is invalid", () => {
    assert.strictEqual(prep("http://h/?y=%7E%2F%zz"), "http://h/?y=%257E%252F%25zz")
  })

  it("gives an empty path as /, keeps an explicit default port", () => {
    assert.strictEqual(prep("http://h"), "http://h/")
    assert.strictEqual(prep("http://h:80/"), "http://h:80/")
  })

  it("strips leading whitespace only", () => {
    assert.strictEqual(prep("  \thttp://h/x"), "http://h/x")
  })

  it("leaves non-http URLs untouched", () => {
    assert.strictEqual(prep("mailto:user@example.org", { a: 1 }), "mailto:user@example.org")
    assert.strictEqual(prep("localhost:3128"), "localhost:3128")
  })

  it("fails with MissingSchema when there is no scheme", () => {
    const error = fail("example.com")
    assert.strictEqual(error._tag, "MissingSchema")
    assert.strictEqual(
      error.message,
      "Invalid URL 'example.com': No scheme supplied. Perhaps you meant https://example.com?"
    )
  })

  it("fails with InvalidURL without a host, with a bad label or port", () => {
    assert.strictEqual(fail("http://")._tag, "InvalidURL")
    assert.match(fail("http://").message, /No host supplied/)
    assert.strictEqual(fail("http://*.google.com").message, "URL has an invalid label.")
    assert.strictEqual(fail("http://.example.com").message, "URL has an invalid label.")
    assert.strictEqual(fail("http://h:99999/")._tag, "InvalidURL")
    assert.strictEqual(fail("http://fe80::5054:ff:fe5a:fc0")._tag, "InvalidURL")
  })

  it("takes credentials out of the URL", () => {
    const result = Effect.runSync(PreparedRequest.prepareUrl("http://us%40er:p%3Ass@h/x"))
    assert.strictEqual(result.url, "http://h/x")
    assert.deepStrictEqual(result.userinfo, ["us@er", "p:ss"])
    assert.strictEqual(Effect.runSync(PreparedRequest.prepareUrl("http://user@h/")).userinfo, undefined)
    assert.deepStrictEqual(Effect.runSync(PreparedRequest.prepareUrl("http://:pw@h/")).userinfo, ["", "pw"])
  })

  it("normalises hosts the way the socket sees them", () => {
    assert.strictEqual(prep("http://127.1/"), "http://127.0.0.1/")
    assert.strictEqual(prep("http://[::1]:8080/x"), "http://[::1]:8080/x")
  })

  it("pathUrl never includes the fragment", () => {
    assert.strictEqual(url.pathUrl("http://h/a/b?c=1#frag"), "/a/b?c=1")
    assert.strictEqual(url.pathUrl("http://h"), "/")
    assert.strictEqual(url.pathUrl("http://h//double"), "//double")
  })
})
