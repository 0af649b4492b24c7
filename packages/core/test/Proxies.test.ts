import { Proxies } from "@effect-requests/core"
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"

describe("selectProxy (requests' select_proxy)", () => {
  const proxies = {
    "http://a.example": "http://host-a:1",
    http: "http://scheme:2",
    "all://b.example": "http://all-host-b:3",
    all: "http://all:4"
  }

  it("tries scheme://host, scheme, all://host, all in that order", () => {
    assert.strictEqual(Proxies.selectProxy("http://a.example/x", proxies), "http://host-a:1")
    assert.strictEqual(Proxies.selectProxy("http://b.example/x", proxies), "http://scheme:2")
    assert.strictEqual(Proxies.selectProxy("https://b.example/x", proxies), "http://all-host-b:3")
    assert.strictEqual(Proxies.selectProxy("https://c.example/x", proxies), "http://all:4")
    assert.strictEqual(Proxies.selectProxy("HTTP://A.EXAMPLE/x", proxies), "http://host-a:1")
  })

  it("answers nothing when no key matches", () => {
    assert.isUndefined(Proxies.selectProxy("https://c.example/", { http: "http://p:1" }))
    assert.isUndefined(Proxies.selectProxy("not a url", proxies))
  })

  it("takes an empty value as 'no proxy' and stops the search there", () => {
    const hit = Proxies.lookup("https://c.example/", { https: "", all: "http://all:4" })
    assert.deepStrictEqual(hit, { found: true, proxy: undefined, key: "https" })
    assert.isUndefined(Proxies.selectProxy("https://c.example/", { https: "", all: "http://all:4" }))
  })

  it("uses scheme, then all, for a URL without a host", () => {
    assert.strictEqual(Proxies.selectProxy("file:///etc/passwd", { all: "http://all:4" }), "http://all:4")
  })
})

describe("shouldBypassProxies (NO_PROXY)", () => {
  const cases: ReadonlyArray<readonly [url: string, noProxy: string, expected: boolean]> = [
    // host names: exact, suffix at a label boundary, leading dots, `*.`
    ["http://example.com/", "example.com", true],
    ["http://www.example.com/", "example.com", true],
    ["http://www.example.com/", ".example.com", true],
    ["http://www.example.com/", "..example.com", true],
    ["http://www.example.com/", "*.example.com", true],
    ["http://example.com/", "*.example.com", true],
    ["http://notexample.com/", "example.com", false],
    ["http://prelocalhost/", "localhost", false],
    ["http://example.com./", "example.com", true],
    ["http://EXAMPLE.com/", "Example.COM", true],
    // lists: spaces, empties, several entries
    ["http://b.test/", " a.test , ,b.test ", true],
    ["http://c.test/", "a.test,b.test", false],
    // ports: explicit and default ones
    ["http://example.com:8080/", "example.com:8080", true],
    ["http://example.com:8081/", "example.com:8080", false],
    ["http://example.com/", "example.com:80", true],
    ["https://example.com/", "example.com:80", false],
    ["https://www.example.com:8443/", "example.com:8443", true],
    // everything
    ["http://anything.test/", "*", true],
    ["http://anything.test/", "a.test,*", true],
    // IPv4 literals and CIDR ranges
    ["http://10.1.2.3/", "10.1.2.3", true],
    ["http://10.1.2.3:8080/", "10.1.2.3:8080", true],
    ["http://10.1.2.3/", "10.0.0.0/8", true],
    ["http://11.1.2.3/", "10.0.0.0/8", false],
    ["http://192.168.1.77/", "192.168.1.0/24", true],
    ["http://192.168.2.77/", "192.168.1.0/24", false],
    ["http://127.0.0.1/", "127.0.0.1/32", true],
    ["http://127.0.0.2/", "127.0.0.1/32", false],
    ["http://10.1.2.3/", "10.0.0.0/33", false],
    ["http://10.1.2.3/", "1.2.3", false],
    ["http://127.1/", "127.0.0.1", true], // the one parsed URL decides (WHATWG expands 127.1)
    // IPv6 literals and CIDR ranges
    ["http://[::1]/", "::1", true],
    ["http://[::1]/", "[::1]", true],
    ["http://[::1]:8080/", "[::1]:8080", true],
    ["http://[::1]:8081/", "[::1]:8080", false],
    ["http://[0:0:0:0:0:0:0:1]/", "::1", true],
    ["http://[fd12:3456::1]/", "fd00::/8", true],
    ["http://[fe80::1]/", "fd00::/8", false],
    ["http://[2001:db8::5]/", "2001:db8::/32", true],
    ["http://[::ffff:127.0.0.1]/", "::ffff:7f00:1", true],
    ["http://[::1]/", "localhost", false],
    // a host name never matches an IP entry
    ["http://localhost/", "127.0.0.1", false]
  ]

  for (const [url, noProxy, expected] of cases) {
    it(`${url} with NO_PROXY=${JSON.stringify(noProxy)} → ${expected ? "bypass" : "proxy"}`, () => {
      assert.strictEqual(Proxies.shouldBypassProxies(url, noProxy), expected)
    })
  }

  it("bypasses a URL without a host, never an unparseable one", () => {
    assert.isTrue(Proxies.shouldBypassProxies("file:///tmp/x", undefined))
    assert.isFalse(Proxies.shouldBypassProxies("::::", "*"))
  })

  it("bypasses nothing without NO_PROXY", () => {
    assert.isFalse(Proxies.shouldBypassProxies("http://example.com/", undefined))
    assert.isFalse(Proxies.shouldBypassProxies("http://example.com/", ""))
  })
})

describe("resolveProxy (explicit proxies, then the environment)", () => {
  const env = { proxies: { http: "http://env-http:1", https: "http://env-https:2" }, noProxy: "internal.test" }

  it("lets an explicit proxy win over the environment, even a less specific one", () => {
    assert.strictEqual(Proxies.resolveProxy("https://x.test/", { all: "http://mine:9" }, env), "http://mine:9")
  })

  it("falls back to the environment for a scheme the explicit mapping does not cover", () => {
    assert.strictEqual(Proxies.resolveProxy("https://x.test/", { http: "http://mine:9" }, env), "http://env-https:2")
    assert.strictEqual(Proxies.resolveProxy("https://x.test/", {}, env), "http://env-https:2")
  })

  it("ignores the environment when it is not trusted", () => {
    assert.isUndefined(Proxies.resolveProxy("https://x.test/", {}, undefined))
  })

  it("applies NO_PROXY to the environment's proxies only", () => {
    assert.isUndefined(Proxies.resolveProxy("http://a.internal.test/", {}, env))
    assert.strictEqual(
      Proxies.resolveProxy("http://a.internal.test/", { http: "http://mine:9" }, env),
      "http://mine:9"
    )
  })

  it("applies an explicit no_proxy key to every proxy, and in place of NO_PROXY", () => {
    const explicit = { http: "http://mine:9", no_proxy: "direct.test" }
    assert.isUndefined(Proxies.resolveProxy("http://direct.test/", explicit, env))
    assert.isUndefined(Proxies.resolveProxy("https://direct.test/", explicit, env))
    // The explicit no_proxy replaces NO_PROXY: internal.test is proxied again (by the environment).
    assert.strictEqual(Proxies.resolveProxy("https://internal.test/", explicit, env), "http://env-https:2")
  })

  it("takes an empty explicit value as 'go direct', hiding the environment", () => {
    assert.isUndefined(Proxies.resolveProxy("https://x.test/", { https: "" }, env))
  })
})

describe("merge", () => {
  it("merges key by key, later wins, null removes, keys lower-cased", () => {
    const merged = Proxies.merge({ HTTP: "http://a:1", https: "http://b:2" }, { https: null, All: "http://c:3" })
    assert.deepStrictEqual(merged, { http: "http://a:1", all: "http://c:3" })
  })
})

describe("validate (InvalidProxyURL)", () => {
  for (const bad of ["http:/badproxyurl:3128", "http://:8080", "https://", "http:///example.com:8080", "ftp://p:21"]) {
    it(`rejects ${bad}`, () => {
      const result = Proxies.validate(bad)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "InvalidProxyURL")
        assert.include(result.left.message, "Please check proxy URL")
      }
    })
  }

  it("rejects CR and LF (no request injection through the proxy URL)", () => {
    assert.isTrue(Either.isLeft(Proxies.validate("http://p:1/\r\nX-Injected: 1")))
  })

  it("assumes http:// when the scheme is missing", () => {
    assert.deepStrictEqual(Proxies.validate("127.0.0.1:3128"), Either.right("http://127.0.0.1:3128"))
    assert.deepStrictEqual(Proxies.validate("localhost:3128"), Either.right("http://localhost:3128"))
    assert.deepStrictEqual(Proxies.validate("socks5h://p:1080"), Either.right("socks5h://p:1080"))
  })

  it("never shows the password of a rejected URL", () => {
    const result = Proxies.validate("ftp://user:hunter2@p:21")
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.notInclude(result.left.message, "hunter2")
      assert.notInclude(result.left.url, "hunter2")
      assert.notInclude(JSON.stringify(result.left), "hunter2")
    }
  })
})

describe("redact and withCredentials", () => {
  it("hides credentials", () => {
    assert.strictEqual(Proxies.redact("http://user:hunter2@p:1/"), "http://***@p:1/")
    assert.strictEqual(Proxies.redact("http://p:1"), "http://p:1/")
    assert.notInclude(Proxies.redact("not a url user:hunter2@"), "hunter2")
  })

  it("puts credentials into a URL without any, percent-encoded", () => {
    assert.strictEqual(Proxies.withCredentials("http://p:1", "us er", "p@ss:w"), "http://us%20er:p%40ss%3Aw@p:1/")
    assert.strictEqual(Proxies.withCredentials("p:1", "u", "p"), "http://u:p@p:1/")
  })

  it("keeps the credentials a URL already has", () => {
    assert.strictEqual(Proxies.withCredentials("http://own:pw@p:1", "u", "p"), "http://own:pw@p:1")
  })
})
