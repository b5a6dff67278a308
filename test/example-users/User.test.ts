import { describe, it } from "@effect/vitest"
import {
  BlockUser,
  InvalidEmail,
  InvalidUserName,
  RegisterUser,
  RenameUser,
  UserBlocked,
  UserNameChanged,
  UserRegistered,
  users
} from "@eventable/example-users"
import { DeciderSpecification } from "@eventable/testing"

const spec = DeciderSpecification.for(users)
const registered = new UserRegistered({ userName: "ada", email: "ada@example.com" })
const blocked = new UserBlocked()

describe("users decider", () => {
  describe("RegisterUser", () => {
    it.effect("given no user, when registered, then UserRegistered with the trimmed name and email", () =>
      spec
        .given([])
        .when(new RegisterUser({ userName: "  ada ", email: " ada@example.com" }))
        .then([new UserRegistered({ userName: "ada", email: "ada@example.com" })])
    )

    it.effect("given a registered user, when registered again, then UserAlreadyRegistered", () =>
      spec
        .given([registered])
        .when(new RegisterUser({ userName: "ada", email: "ada@example.com" }))
        .thenFails((e) => e._tag === "UserAlreadyRegistered")
    )

    it.effect("given a blank name, when registered, then InvalidUserName", () =>
      spec
        .given([])
        .when(new RegisterUser({ userName: "   ", email: "ada@example.com" }))
        .thenFails((e) => e._tag === "InvalidUserName" && e.reason === "must not be empty")
    )

    it.effect("given a name over the limit, when registered, then InvalidUserName", () =>
      spec
        .given([])
        .when(new RegisterUser({ userName: "a".repeat(101), email: "ada@example.com" }))
        .thenFails((e) => e instanceof InvalidUserName)
    )

    for (const email of ["", "ada", "ada@", "@example.com", "ada@example", "a da@example.com", "ada@@example.com"]) {
      it.effect(`given the email ${JSON.stringify(email)}, when registered, then InvalidEmail`, () =>
        spec
          .given([])
          .when(new RegisterUser({ userName: "ada", email }))
          .thenFails((e) => e instanceof InvalidEmail && e.email === email)
      )
    }
  })

  describe("RenameUser", () => {
    it.effect("given a registered user, when renamed, then UserNameChanged", () =>
      spec
        .given([registered])
        .when(new RenameUser({ name: "Ada Lovelace" }))
        .then([new UserNameChanged({ name: "Ada Lovelace" })])
    )

    it.effect("given a renamed user, when renamed to the current name, then nothing happens", () =>
      spec
        .given([registered, new UserNameChanged({ name: "Ada Lovelace" })])
        .when(new RenameUser({ name: "Ada Lovelace" }))
        .thenNothingHappens()
    )

    it.effect("given a blocked user, when renamed, then UserIsBlocked", () =>
      spec
        .given([registered, blocked])
        .when(new RenameUser({ name: "Countess" }))
        .thenFails((e) => e._tag === "UserIsBlocked")
    )

    it.effect("given a registered user, when renamed to a blank name, then InvalidUserName", () =>
      spec
        .given([registered])
        .when(new RenameUser({ name: "" }))
        .thenFails((e) => e._tag === "InvalidUserName")
    )

    it.effect("given no user, when renamed, then UserNotRegistered", () =>
      spec
        .given([])
        .when(new RenameUser({ name: "x" }))
        .thenFails((e) => e._tag === "UserNotRegistered")
    )
  })

  describe("BlockUser", () => {
    it.effect("given a registered user, when blocked, then UserBlocked", () =>
      spec.given([registered]).when(new BlockUser()).then([blocked])
    )

    it.effect("given a blocked user, when blocked again, then nothing happens", () =>
      spec.given([registered, blocked]).when(new BlockUser()).thenNothingHappens()
    )

    it.effect("given no user, when blocked, then UserNotRegistered", () =>
      spec
        .given([])
        .when(new BlockUser())
        .thenFails((e) => e._tag === "UserNotRegistered")
    )
  })
})
