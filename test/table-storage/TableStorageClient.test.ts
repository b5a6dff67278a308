import { RestError } from "@azure/data-tables"
import { assert, describe, it } from "@effect/vitest"
import { classify } from "@eventable/table-storage"

describe("TableStorageClient.classify", () => {
  it("given a failed transaction, when classified, then the failing index, status and code are kept", () => {
    const error = classify(
      "transaction",
      new RestError("5:The specified entity already exists.\nRequestId:x", {
        statusCode: 409,
        code: "EntityAlreadyExists"
      })
    )
    assert.strictEqual(error.index, 5)
    assert.strictEqual(error.status, 409)
    assert.strictEqual(error.code, "EntityAlreadyExists")
    assert.isFalse(error.transient)
    assert.strictEqual(error.detail, "The specified entity already exists.")
  })

  it("given a single operation's JSON body, when classified, then the code comes from the details", () => {
    const error = classify(
      "read",
      Object.assign(
        new RestError(
          '{"odata.error":{"code":"ResourceNotFound","message":{"lang":"en-US","value":"Gone.\\nRequestId:1"}}}',
          {
            statusCode: 404
          }
        ),
        { details: { errorCode: "ResourceNotFound" } }
      )
    )
    assert.strictEqual(error.code, "ResourceNotFound")
    assert.strictEqual(error.detail, "Gone.")
    assert.isUndefined(error.index)
  })

  const transient: ReadonlyArray<readonly [string, unknown]> = [
    ["503 ServerBusy", new RestError("busy", { statusCode: 503 })],
    ["500", new RestError("oops", { statusCode: 500 })],
    ["408", new RestError("slow", { statusCode: 408 })],
    ["a connection reset", new RestError("socket hang up", { code: "ECONNRESET" })],
    ["a refused connection", new RestError("connect ECONNREFUSED", { code: "ECONNREFUSED" })],
    ["an abort (our timeout)", Object.assign(new Error("The operation was aborted."), { name: "AbortError" })]
  ]
  for (const [label, thrown] of transient) {
    it(`given ${label}, when classified, then it is transient`, () => {
      assert.isTrue(classify("query", thrown).transient)
    })
  }

  it("given 403 and 412, when classified, then they are not transient and 403 reads as an authentication failure", () => {
    const forbidden = classify(
      "read",
      Object.assign(new RestError("<Error/>", { statusCode: 403 }), { details: { errorCode: "AuthorizationFailure" } })
    )
    assert.isFalse(forbidden.transient)
    assert.isFalse(classify("transaction", new RestError("0:stale", { statusCode: 412 })).transient)
    const store = forbidden.toStoreError()
    assert.strictEqual(store._tag, "StoreFailure")
    assert.include(store.message, "authentication failed")
  })
})
