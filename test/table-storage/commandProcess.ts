/**
 * Another process for the command handler tests: runs users commands on one
 * stream in Table Storage and prints one JSON line per command outcome, then
 * "done". Started by the tests with the pinned node; arguments as one JSON.
 */

import { BlockUser, RenameUser, UserCommands } from "@eventable/example-users"
import { TableEventStore, TableStorageConfig } from "@eventable/table-storage"
import { Effect, Exit, Redacted } from "effect"

interface Job {
  readonly connection: string
  readonly table: string
  readonly tenant: string
  readonly id: string
  /** "rename:<name>" or "block", run concurrently in this process (one after the other with `sequential`). */
  readonly commands: ReadonlyArray<string>
  readonly sequential?: boolean
  readonly commandId?: string
}

const job = JSON.parse(process.argv[2] ?? "{}") as Job

const program = Effect.forEach(
  job.commands,
  (command) =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        UserCommands.update(
          { tenant: job.tenant, id: job.id },
          command === "block" ? new BlockUser() : new RenameUser({ name: command.slice("rename:".length) }),
          job.commandId === undefined ? {} : { commandId: job.commandId }
        )
      )
      process.stdout.write(
        `${JSON.stringify(
          Exit.isSuccess(exit)
            ? { command, ok: true, version: exit.value.version }
            : {
                command,
                ok: false,
                error: Exit.findErrorOption(exit).pipe((o) =>
                  o._tag === "Some" ? (o.value as { _tag: string })._tag : "defect"
                )
              }
        )}\n`
      )
    }),
  { concurrency: job.sequential === true ? 1 : "unbounded" }
).pipe(
  Effect.provide(
    TableEventStore.layer({
      connection: TableStorageConfig.connectionString(Redacted.make(job.connection)),
      table: job.table,
      retryBaseDelay: "5 millis"
    })
  )
)

Effect.runPromise(program).then(
  () => process.stdout.write("done\n"),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exitCode = 1
  }
)
