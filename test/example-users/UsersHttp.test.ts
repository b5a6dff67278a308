import { assert, describe, it, layer } from "@effect/vitest"
import { UserCommands, UserIds, UsersServer } from "@eventable/example-users"
import { CosmosEmulator } from "@eventable/testing"
import { Effect, Layer } from "effect"
import * as FaultProxy from "../table-storage/FaultProxy.ts"
import { freshTable } from "../table-storage/fixtures.ts"
import { type Answer, apiLayer, client, cosmosLayer, tableLayer } from "./fixtures.ts"

const register = (tenant: string, body: unknown, headers: Record<string, string> = {}) =>
  Effect.flatMap(client, (c) => c.request("POST", `/tenants/${tenant}/users`, { json: body, headers }))

const registered = (tenant: string, userName: string) =>
  Effect.map(register(tenant, { userName, email: `${userName}@example.com` }), (answer) => {
    assert.strictEqual(answer.status, 201, answer.text)
    return String(answer.json.id)
  })

const call = (method: string, path: string, options: Parameters<Effect.Success<typeof client>["request"]>[2] = {}) =>
  Effect.flatMap(client, (c) => c.request(method, path, options))

const assertError = (answer: Answer, status: number, tag: string) => {
  assert.strictEqual(answer.status, status, answer.text)
  assert.strictEqual(answer.json._tag, tag, answer.text)
  assert.include(answer.headers.get("content-type") ?? "", "json")
}

const Api = apiLayer({ maxWait: "2 seconds" }).pipe(Layer.provide(CosmosEmulator.layer))

layer(Api, { excludeTestServices: true, timeout: "60 seconds" })("users HTTP API", (it) => {
  describe("POST /tenants/:tenant/users", () => {
    it.effect("given a valid body, when registered, then 201 with the id and the stream version as ETag", () =>
      Effect.gen(function* () {
        const answer = yield* register("acme", { userName: " ada ", email: "ada@example.com" })
        assert.strictEqual(answer.status, 201)
        assert.strictEqual(answer.headers.get("etag"), '"1"')
        assert.match(String(answer.json.id), /^u-[0-9a-f]{32}$/)
        const loaded = yield* UserCommands.load({ tenant: "acme", id: String(answer.json.id) })
        assert.deepStrictEqual(loaded.state, {
          _tag: "Registered",
          name: "ada",
          email: "ada@example.com",
          blocked: false
        })
      })
    )

    it.effect(
      "given an Idempotency-Key, when the POST is retried, then the same user answers and one user exists",
      () =>
        Effect.gen(function* () {
          const body = { userName: "grace", email: "grace@example.com" }
          const first = yield* register("acme", body, { "idempotency-key": "signup-grace" })
          const retry = yield* register("acme", body, { "idempotency-key": "signup-grace" })
          assert.strictEqual(first.status, 201)
          assert.strictEqual(retry.status, 201)
          assert.strictEqual(retry.json.id, first.json.id)
          assert.strictEqual(first.json.id, UserIds.fromIdempotencyKey("acme", "signup-grace"))
          assert.strictEqual(retry.headers.get("etag"), '"1"')
          const id = String(first.json.id)

          // Still one registration after the user moved on, and the retry still answers as the first time.
          const renamed = yield* call("PUT", `/tenants/acme/users/${id}/name`, { json: { name: "Grace Hopper" } })
          assert.strictEqual(renamed.status, 200, renamed.text)
          const late = yield* register("acme", body, { "idempotency-key": "signup-grace" })
          assert.strictEqual(late.status, 201)
          assert.strictEqual(late.json.id, id)
          assert.strictEqual(late.headers.get("etag"), '"1"')
          assert.strictEqual((yield* UserCommands.load({ tenant: "acme", id })).version, 2)

          // The same key in another tenant is another user.
          const other = yield* register("globex", body, { "idempotency-key": "signup-grace" })
          assert.strictEqual(other.status, 201)
          assert.notStrictEqual(other.json.id, id)
        })
    )

    it.effect("given concurrent POSTs with one Idempotency-Key, then all answer the same user, registered once", () =>
      Effect.gen(function* () {
        const body = { userName: "linus", email: "linus@example.com" }
        const answers = yield* Effect.forEach(
          Array.from({ length: 8 }, () => body),
          (b) => register("acme", b, { "idempotency-key": "race-1" }),
          { concurrency: "unbounded" }
        )
        const id = UserIds.fromIdempotencyKey("acme", "race-1")
        for (const answer of answers) {
          assert.strictEqual(answer.status, 201, answer.text)
          assert.strictEqual(answer.json.id, id)
        }
        assert.strictEqual((yield* UserCommands.load({ tenant: "acme", id })).version, 1)
      })
    )

    it.effect("given values that break a rule, then 422 InvalidValue naming the rule", () =>
      Effect.gen(function* () {
        const badEmail = yield* register("acme", { userName: "bob", email: "bob@" })
        assertError(badEmail, 422, "InvalidValue")
        assert.strictEqual(badEmail.json.rule, "InvalidEmail")
        const blankName = yield* register("acme", { userName: "   ", email: "bob@example.com" })
        assertError(blankName, 422, "InvalidValue")
        assert.strictEqual(blankName.json.rule, "InvalidUserName")
      })
    )

    it.effect("given bodies that do not decode, then 400 problem documents naming the offending value", () =>
      Effect.gen(function* () {
        const cases = [
          { body: "{not json", path: ["payload"] },
          { body: JSON.stringify({ userName: 42, email: "a@b.co" }), path: ["payload", "userName"] },
          { body: JSON.stringify({ email: "a@b.co" }), path: ["payload", "userName"] },
          { body: JSON.stringify([1, 2]), path: ["payload"] },
          { body: JSON.stringify({ userName: "x".repeat(1001), email: "a@b.co" }), path: ["payload", "userName"] }
        ]
        for (const { body, path } of cases) {
          const answer = yield* call("POST", "/tenants/acme/users", {
            body,
            headers: { "content-type": "application/json" }
          })
          assert.strictEqual(answer.status, 400, answer.text)
          assert.strictEqual(answer.headers.get("content-type"), "application/problem+json")
          const errors = answer.json.errors as ReadonlyArray<{ readonly path: ReadonlyArray<string> }>
          assert.deepStrictEqual(errors[0]?.path, path, answer.text)
        }
      })
    )

    it.effect("given a bad tenant or Idempotency-Key, then 400", () =>
      Effect.gen(function* () {
        const tenant = yield* register("ACME", { userName: "a", email: "a@b.co" })
        assert.strictEqual(tenant.status, 400)
        assert.deepStrictEqual((tenant.json.errors as Array<{ path: unknown }>)[0]?.path, ["params", "tenant"])
        const key = yield* register("acme", { userName: "a", email: "a@b.co" }, { "idempotency-key": "x".repeat(129) })
        assert.strictEqual(key.status, 400)
        assert.deepStrictEqual((key.json.errors as Array<{ path: unknown }>)[0]?.path, ["headers", "idempotency-key"])
      })
    )

    it.effect("given an oversized, non-JSON or misrouted request, then a 4xx with a JSON body, never a 5xx", () =>
      Effect.gen(function* () {
        const huge = yield* call("POST", "/tenants/acme/users", {
          json: { userName: "x".repeat(200 * 1024), email: "a@b.co" }
        })
        assertError(huge, 413, "HttpError")
        const text = yield* call("POST", "/tenants/acme/users", {
          body: "userName=a",
          headers: { "content-type": "text/plain" }
        })
        assertError(text, 415, "HttpError")
        const unknown = yield* call("GET", "/no/such/route")
        assertError(unknown, 404, "HttpError")
        const wrongMethod = yield* call("DELETE", "/tenants/acme/users")
        assert.isAtLeast(wrongMethod.status, 400)
        assert.isBelow(wrongMethod.status, 500)
        assert.isObject(wrongMethod.json)
      })
    )
  })

  describe("PUT /tenants/:tenant/users/:id/name", () => {
    it.effect("given the current If-Match, then 200 with the new ETag; given a stale one, then 412", () =>
      Effect.gen(function* () {
        const id = yield* registered("acme", "alan")
        const renamed = yield* call("PUT", `/tenants/acme/users/${id}/name`, {
          json: { name: "Alan Turing" },
          headers: { "if-match": '"1"' }
        })
        assert.strictEqual(renamed.status, 200, renamed.text)
        assert.strictEqual(renamed.headers.get("etag"), '"2"')
        assert.deepStrictEqual(renamed.json, {
          id,
          version: 2,
          name: "Alan Turing",
          email: "alan@example.com",
          blocked: false
        })

        const stale = yield* call("PUT", `/tenants/acme/users/${id}/name`, {
          json: { name: "A. M. Turing" },
          headers: { "if-match": '"1"' }
        })
        assertError(stale, 412, "PreconditionFailed")
        assert.strictEqual(stale.json.expected, 1)
        assert.strictEqual(stale.json.current, 2)
        assert.strictEqual((yield* UserCommands.load({ tenant: "acme", id })).state._tag, "Registered")
        assert.strictEqual(
          (yield* UserCommands.load({ tenant: "acme", id })).version,
          2,
          "a stale write changes nothing"
        )

        const bad = yield* call("PUT", `/tenants/acme/users/${id}/name`, {
          json: { name: "x" },
          headers: { "if-match": "yesterday" }
        })
        assert.strictEqual(bad.status, 400)
      })
    )

    it.effect("given a missing user, then 404; given a bad id, then 400", () =>
      Effect.gen(function* () {
        assertError(yield* call("PUT", "/tenants/acme/users/nobody/name", { json: { name: "x" } }), 404, "UserNotFound")
        const badId = yield* call("PUT", "/tenants/acme/users/no%20body/name", { json: { name: "x" } })
        assert.strictEqual(badId.status, 400)
        assert.deepStrictEqual((badId.json.errors as Array<{ path: unknown }>)[0]?.path, ["params", "id"])
      })
    )

    it.effect("given a blocked user, then 409 RuleViolated UserIsBlocked; a blank name is 422", () =>
      Effect.gen(function* () {
        const id = yield* registered("acme", "mallory")
        assertError(yield* call("PUT", `/tenants/acme/users/${id}/name`, { json: { name: " " } }), 422, "InvalidValue")
        assert.strictEqual((yield* call("POST", `/tenants/acme/users/${id}/block`)).status, 200)
        const rejected = yield* call("PUT", `/tenants/acme/users/${id}/name`, { json: { name: "Eve" } })
        assertError(rejected, 409, "RuleViolated")
        assert.strictEqual(rejected.json.rule, "UserIsBlocked")
      })
    )

    it.effect("given 20 concurrent renames without If-Match, then all succeed and each is recorded once", () =>
      Effect.gen(function* () {
        const id = yield* registered("acme", "hot")
        const names = Array.from({ length: 20 }, (_, i) => `name ${i}`)
        const answers = yield* Effect.forEach(
          names,
          (name) => call("PUT", `/tenants/acme/users/${id}/name`, { json: { name } }),
          { concurrency: "unbounded" }
        )
        for (const answer of answers) assert.strictEqual(answer.status, 200, answer.text)
        const etags = answers.map((answer) => answer.headers.get("etag"))
        assert.strictEqual(new Set(etags).size, 20, "each rename got its own version")
        assert.strictEqual((yield* UserCommands.load({ tenant: "acme", id })).version, 21)
      })
    )
  })

  describe("POST /tenants/:tenant/users/:id/block", () => {
    it.effect("given a user, then 200 and blocked; again, then 200 and nothing new; a missing user is 404", () =>
      Effect.gen(function* () {
        const id = yield* registered("acme", "trudy")
        const blocked = yield* call("POST", `/tenants/acme/users/${id}/block`)
        assert.strictEqual(blocked.status, 200)
        assert.strictEqual(blocked.headers.get("etag"), '"2"')
        assert.strictEqual(blocked.json.blocked, true)
        const again = yield* call("POST", `/tenants/acme/users/${id}/block`)
        assert.strictEqual(again.status, 200)
        assert.strictEqual(again.headers.get("etag"), '"2"')
        assertError(yield* call("POST", "/tenants/acme/users/nobody/block"), 404, "UserNotFound")
        const stale = yield* call("POST", `/tenants/acme/users/${id}/block`, { headers: { "if-match": '"1"' } })
        assertError(stale, 412, "PreconditionFailed")
      })
    )

    it.effect(
      "given an Idempotency-Key used by a rename, when a block sends the same key, then the user is blocked",
      () =>
        Effect.gen(function* () {
          const id = yield* registered("acme", "walter")
          const headers = { "idempotency-key": "edit-1" }
          const renamed = yield* call("PUT", `/tenants/acme/users/${id}/name`, { json: { name: "Walt" }, headers })
          assert.strictEqual(renamed.status, 200, renamed.text)
          const blocked = yield* call("POST", `/tenants/acme/users/${id}/block`, { headers })
          assert.strictEqual(blocked.status, 200, blocked.text)
          assert.strictEqual(blocked.json.blocked, true, "a key reused on another operation is another command")
          assert.strictEqual((yield* UserCommands.load({ tenant: "acme", id })).version, 3)
        })
    )
  })

  describe("GET /tenants/:tenant/users/:id", () => {
    it.effect("given ?minVersion of the last write, then the view answers with at least that version", () =>
      Effect.gen(function* () {
        const id = yield* registered("initech", "peter")
        const renamed = yield* call("PUT", `/tenants/initech/users/${id}/name`, { json: { name: "Peter Gibbons" } })
        const version = Number(renamed.headers.get("etag")?.replaceAll('"', ""))
        const read = yield* call("GET", `/tenants/initech/users/${id}?minVersion=${version}`)
        assert.strictEqual(read.status, 200, read.text)
        assert.strictEqual(read.headers.get("etag"), `"${version}"`)
        assert.deepStrictEqual(read.json, {
          id,
          tenant: "initech",
          name: "Peter Gibbons",
          email: "peter@example.com",
          blocked: false,
          version
        })
      })
    )

    it.effect(
      "given a minVersion the view never reaches, then 503 TryAgainLater with Retry-After after the bound",
      () =>
        Effect.gen(function* () {
          const id = yield* registered("initech", "milton")
          const behind = yield* call("GET", `/tenants/initech/users/${id}?minVersion=99`)
          assertError(behind, 503, "TryAgainLater")
          assert.strictEqual(behind.json.reason, "ViewBehind")
          assert.strictEqual(behind.headers.get("retry-after"), "1")
        })
    )

    it.effect("given a missing user, then 404; given a bad minVersion, then 400", () =>
      Effect.gen(function* () {
        assertError(yield* call("GET", "/tenants/initech/users/nobody"), 404, "UserNotFound")
        assert.strictEqual((yield* call("GET", "/tenants/initech/users/nobody?minVersion=-1")).status, 400)
        assert.strictEqual((yield* call("GET", "/tenants/initech/users/nobody?minVersion=abc")).status, 400)
      })
    )
  })

  describe("GET /tenants/:tenant/users", () => {
    it.effect(
      "given 7 users, when listed 3 at a time, then the continuation tokens walk through all of them once",
      () =>
        Effect.gen(function* () {
          const ids = yield* Effect.forEach(["u1", "u2", "u3", "u4", "u5", "u6", "u7"], (name) =>
            registered("umbrella", name)
          )
          const last = yield* call("GET", `/tenants/umbrella/users/${ids.at(-1)}?minVersion=1`)
          assert.strictEqual(last.status, 200)
          const seen: Array<string> = []
          let continuation: string | undefined
          let pages = 0
          do {
            const query = continuation === undefined ? "" : `&continuation=${encodeURIComponent(continuation)}`
            const page = yield* call("GET", `/tenants/umbrella/users?limit=3${query}`)
            assert.strictEqual(page.status, 200, page.text)
            const users = page.json.users as ReadonlyArray<{ readonly id: string; readonly tenant: string }>
            assert.isAtMost(users.length, 3)
            for (const user of users) {
              assert.strictEqual(user.tenant, "umbrella")
              seen.push(user.id)
            }
            continuation = page.json.continuation as string | undefined
            if (continuation !== undefined && pages === 0) {
              const elsewhere = yield* call(
                "GET",
                `/tenants/initech/users?continuation=${encodeURIComponent(continuation)}`
              )
              assertError(elsewhere, 400, "InvalidContinuation")
            }
            pages++
          } while (continuation !== undefined && pages < 10)
          assert.sameMembers(seen, ids)
          assert.strictEqual(new Set(seen).size, 7)
          assert.isAtLeast(pages, 3)
        })
    )

    it.effect("given a bad limit or a continuation token the API never gave out, then 400", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* call("GET", "/tenants/umbrella/users?limit=0")).status, 400)
        assert.strictEqual((yield* call("GET", "/tenants/umbrella/users?limit=101")).status, 400)
        const forged = yield* call("GET", "/tenants/umbrella/users?continuation=not-a-token")
        assertError(forged, 400, "InvalidContinuation")
        // Well-formed outside, but the store's own token inside is forged: still the client's fault.
        const inner = JSON.stringify({ token: "+RID:xx#RTD:eHg=", range: { min: "", max: "FF" } })
        const tampered = Buffer.from(JSON.stringify({ tenant: "umbrella", after: inner }), "utf8").toString("base64url")
        const answer = yield* call("GET", `/tenants/umbrella/users?continuation=${tampered}`)
        assert.isBelow(answer.status, 500, answer.text)
      })
    )
  })

  describe("GET /openapi.json", () => {
    it.effect("then every route, its headers, query parameters and error statuses are documented", () =>
      Effect.gen(function* () {
        const answer = yield* call("GET", "/openapi.json")
        assert.strictEqual(answer.status, 200)
        assert.match(String(answer.json.openapi), /^3\./)
        const paths = answer.json.paths as Record<
          string,
          Record<string, { parameters?: Array<{ name: string }>; responses: Record<string, unknown> }>
        >
        assert.sameMembers(Object.keys(paths), [
          "/tenants/{tenant}/users",
          "/tenants/{tenant}/users/{id}/name",
          "/tenants/{tenant}/users/{id}/block",
          "/tenants/{tenant}/users/{id}"
        ])
        const rename = paths["/tenants/{tenant}/users/{id}/name"]?.put
        assert.includeMembers(rename?.parameters?.map((p) => p.name) ?? [], ["if-match", "idempotency-key"])
        assert.includeMembers(Object.keys(rename?.responses ?? {}), ["200", "400", "404", "409", "412", "422", "503"])
        const get = paths["/tenants/{tenant}/users/{id}"]?.get
        assert.include(get?.parameters?.map((p) => p.name) ?? [], "minVersion")
        const list = paths["/tenants/{tenant}/users"]?.get
        assert.includeMembers(list?.parameters?.map((p) => p.name) ?? [], ["limit", "continuation"])
      })
    )
  })
})

describe("users HTTP API, with the event store unavailable", () => {
  it.live(
    "given Table Storage answering 503 ServerBusy until retries run out, when a user registers, then 503 TryAgainLater with Retry-After",
    () =>
      Effect.gen(function* () {
        const proxy = yield* FaultProxy.make
        yield* Effect.gen(function* () {
          proxy.inject({ _tag: "Reject", status: 503 }, { times: 100, match: () => true })
          const answer = yield* register("acme", { userName: "ada", email: "ada@example.com" })
          assertError(answer, 503, "TryAgainLater")
          assert.strictEqual(answer.json.reason, "StoreUnavailable")
          assert.strictEqual(answer.headers.get("retry-after"), "1")
          assert.isAtLeast(proxy.faulted(), 2, "the store retried before giving up")
        }).pipe(
          Effect.provide(
            UsersServer.layer().pipe(
              Layer.provideMerge(
                Layer.mergeAll(tableLayer(freshTable("unavailable"), proxy.connectionString), cosmosLayer())
              ),
              Layer.provide(CosmosEmulator.layer)
            )
          )
        )
      })
  )
})
