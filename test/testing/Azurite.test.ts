import { connect } from "node:net"
import { TableClient } from "@azure/data-tables"
import { assert, describe, it } from "@effect/vitest"
import { Azurite } from "@eventable/testing"
import { Effect, Exit, Redacted, Scope } from "effect"

const accepts = (port: number) =>
  Effect.callback<boolean>((resume) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

describe("Azurite", () => {
  it.live("given a scope, when Azurite starts, then it speaks Table Storage until the scope closes", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const azurite = yield* Scope.provide(scope)(Azurite.start())
      const client = TableClient.fromConnectionString(Redacted.value(azurite.connectionString), "probe", {
        allowInsecureConnection: true
      })

      yield* Effect.promise(() => client.createTable())
      yield* Effect.promise(() => client.createEntity({ partitionKey: "p", rowKey: "r", value: 42 }))
      const entity = yield* Effect.promise(() => client.getEntity("p", "r"))
      assert.strictEqual(entity.value, 42)
      assert.isTrue(yield* accepts(azurite.port))
      assert.strictEqual(String(azurite.connectionString), "<redacted>")

      yield* Scope.close(scope, Exit.void)

      assert.isFalse(yield* accepts(azurite.port))
      assert.throws(() => process.kill(azurite.pid, 0), /ESRCH/)
    })
  )
})
