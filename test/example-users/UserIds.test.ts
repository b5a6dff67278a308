import { assert, describe, it } from "@effect/vitest"
import { UserApi, UserIds } from "@eventable/example-users"
import { Schema } from "effect"

describe("UserIds", () => {
  it("given one tenant and key, when derived twice, then the same id, valid in URLs", () => {
    const id = UserIds.fromIdempotencyKey("acme", "signup-42")
    assert.strictEqual(UserIds.fromIdempotencyKey("acme", "signup-42"), id)
    assert.match(id, /^u-[0-9a-f]{32}$/)
    assert.isTrue(Schema.is(UserApi.UserIdParam)(id))
  })

  it("given another tenant or another key, when derived, then another id", () => {
    const id = UserIds.fromIdempotencyKey("acme", "signup-42")
    assert.notStrictEqual(UserIds.fromIdempotencyKey("globex", "signup-42"), id)
    assert.notStrictEqual(UserIds.fromIdempotencyKey("acme", "signup-43"), id)
    // The separator cannot be forged: a tenant never contains a newline.
    assert.notStrictEqual(UserIds.fromIdempotencyKey("acm", "e\nsignup-42"), id)
  })

  it("given no key, when fresh ids are made, then they differ and are valid in URLs", () => {
    const ids = new Set(Array.from({ length: 100 }, UserIds.fresh))
    assert.strictEqual(ids.size, 100)
    for (const id of ids) assert.isTrue(Schema.is(UserApi.UserIdParam)(id))
  })
})

describe("UserApi.VersionTag (If-Match)", () => {
  const decode = Schema.decodeUnknownResult(UserApi.VersionTag)
  for (const [tag, version] of [
    ['"3"', 3],
    ['W/"3"', 3],
    ["3", 3],
    ['"0"', 0]
  ] as const) {
    it(`given ${tag}, when decoded, then version ${version}`, () => {
      const result = decode(tag)
      assert.isTrue(result._tag === "Success" && result.success === version)
    })
  }
  for (const tag of ["", "*", '"abc"', '"-1"', '"1.5"', '"3', "W/3x", '"1234567890123456"']) {
    it(`given ${JSON.stringify(tag)}, when decoded, then it is refused`, () => {
      assert.strictEqual(decode(tag)._tag, "Failure")
    })
  }
})
