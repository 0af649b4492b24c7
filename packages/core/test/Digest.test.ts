import { assert, describe, it } from "@effect/vitest"
import * as digest from "../src/internal/digest.js"

const params = (header: string): Map<string, string> => {
  const [challenge] = digest.parseChallenges([header.replace(/^Digest /, "Digest ")])
  return new Map(challenge!.params)
}

describe("digest challenges", () => {
  it("parses several challenges, quoted strings with commas and escapes, and token68", () => {
    const challenges = digest.parseChallenges([
      "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\", please\", Basic realm=\"simple\"",
      "Bearer abc.def==, Digest realm=\"r, with comma\", nonce=\"n\", qop=\"auth,auth-int\", algorithm=SHA-256"
    ])
    assert.deepStrictEqual(challenges.map((c) => c.scheme), ["newauth", "basic", "bearer", "digest"])
    assert.strictEqual(challenges[0]!.params.get("title"), "Login to \"apps\", please")
    assert.strictEqual(challenges[0]!.params.get("type"), "1")
    assert.strictEqual(challenges[1]!.params.get("realm"), "simple")
    assert.strictEqual(challenges[2]!.params.get(""), "abc.def==")
    assert.strictEqual(challenges[3]!.params.get("realm"), "r, with comma")
    const [parsed] = digest.digestChallenges(["Digest realm=\"r\", nonce=\"n\", qop=\"auth, auth-int\""])
    assert.deepStrictEqual(parsed!.qop, ["auth", "auth-int"])
  })

  it("skips garbage without failing", () => {
    assert.deepStrictEqual(digest.parseChallenges(["", ",,,", "=\"x\""]).length, 0)
    assert.deepStrictEqual(digest.digestChallenges(["Digest nonce=\"n\""]), [])
    assert.deepStrictEqual(digest.digestChallenges(["Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256"]), [])
    assert.deepStrictEqual(digest.digestChallenges(["Digest realm=\"r\", nonce=\"n\", algorithm=\"rot13\""]), [])
  })

  it("reads algorithm names case-insensitively, SHA as SHA-1, none as MD5", () => {
    assert.strictEqual(digest.algorithm(undefined)?.name, "MD5")
    assert.strictEqual(digest.algorithm("md5-SESS")?.sess, true)
    assert.strictEqual(digest.algorithm("sha")?.name, "SHA")
    assert.strictEqual(digest.hex(digest.algorithm("SHA")!, "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d")
    assert.strictEqual(
      digest.hex(digest.algorithm("SHA-512")!, "abc").slice(0, 16),
      "ddaf35a193617aba"
    )
    assert.isUndefined(digest.algorithm("SHA-384"))
  })

  it("computes RFC 2617's example answer (MD5, qop=auth)", () => {
    const [challenge] = digest.digestChallenges([
      "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", " +
      "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""
    ])
    const header = digest.authorization({
      challenge: challenge!,
      target: { method: "GET", uri: "/dir/index.html", body: new Uint8Array() },
      username: "Mufasa",
      password: "Circle Of Life",
      nc: 1,
      cnonce: "0a4f113b"
    })!
    const p = params(header)
    assert.strictEqual(p.get("response"), "6629fae49393a05397450978507c4ef1")
    assert.strictEqual(p.get("nc"), "00000001")
    assert.strictEqual(p.get("qop"), "auth")
    assert.strictEqual(p.get("opaque"), "5ccc069c403ebaf9f0171e9517f40e41")
    assert.match(header, /qop="auth", nc=00000001, cnonce="0a4f113b"$/)
    assert.notInclude(header, "algorithm=")
  })

  it("computes RFC 7616's example answers (MD5 and SHA-256)", () => {
    const base = "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", " +
      "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
    const answer = (algorithm: string) =>
      params(
        digest.authorization({
          challenge: digest.digestChallenges([`${base}, algorithm=${algorithm}`])[0]!,
          target: { method: "GET", uri: "/dir/index.html", body: undefined },
          username: "Mufasa",
          password: "Circle of Life",
          nc: 1,
          cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
        })!
      )
    assert.strictEqual(answer("MD5").get("response"), "8ca523f5e9506fed4657c9700eebdbec")
    assert.strictEqual(
      answer("SHA-256").get("response"),
      "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )
    assert.strictEqual(answer("SHA-256").get("algorithm"), "SHA-256")
  })

  it("chooses auth, else auth-int for a body in memory, else gives up", () => {
    const only = (qop: string) => digest.digestChallenges([`Digest realm="r", nonce="n", qop="${qop}"`])[0]!
    const bytes = { method: "POST", uri: "/", body: new Uint8Array([1]) }
    const stream = { method: "POST", uri: "/", body: undefined }
    assert.strictEqual(digest.chooseQop(only("auth-int, auth"), stream), "auth")
    assert.strictEqual(digest.chooseQop(only("auth-int"), bytes), "auth-int")
    assert.isUndefined(digest.chooseQop(only("auth-int"), stream))
    assert.isUndefined(digest.chooseQop(only("something-else"), bytes))
    assert.isNull(digest.chooseQop(digest.digestChallenges(["Digest realm=\"r\", nonce=\"n\""])[0]!, stream))
    assert.isUndefined(digest.authorization({
      challenge: only("auth-int"),
      target: stream,
      username: "u",
      password: "p",
      nc: 1,
      cnonce: "c"
    }))
  })

  it("escapes quotes in echoed values and computes -sess and no-qop answers", () => {
    const [challenge] = digest.digestChallenges(["Digest realm=\"a \\\"q\\\"\", nonce=\"n\", algorithm=MD5-sess"])
    const header = digest.authorization({
      challenge: challenge!,
      target: { method: "GET", uri: "/p?q=1", body: undefined },
      username: "us\"er",
      password: "p",
      nc: 2,
      cnonce: "c"
    })!
    assert.include(header, "username=\"us\\\"er\"")
    assert.include(header, "realm=\"a \\\"q\\\"\"")
    assert.include(header, "uri=\"/p?q=1\"")
    assert.notInclude(header, "qop=")
    // Without qop a -sess answer still names its cnonce, or the server could not check it.
    assert.include(header, "cnonce=\"c\"")
    const md5 = digest.algorithm("MD5")!
    const ha1 = digest.hex(md5, `${digest.hex(md5, "us\"er:a \"q\":p")}:n:c`)
    const expected = digest.hex(md5, `${ha1}:n:${digest.hex(md5, "GET:/p?q=1")}`)
    assert.strictEqual(params(header).get("response"), expected)
  })

  it("makes 16-hex-character client nonces that differ", () => {
    const a = digest.makeCnonce()
    assert.match(a, /^[0-9a-f]{16}$/)
    assert.notStrictEqual(a, digest.makeCnonce())
  })
})
