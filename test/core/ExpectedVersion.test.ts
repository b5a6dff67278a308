import { assert, describe, it } from "@effect/vitest"
import { ExpectedVersion } from "@eventable/core"

describe("ExpectedVersion", () => {
  it("given each expectation, when matched against versions, then it follows the documented rules", () => {
    const table: ReadonlyArray<readonly [ExpectedVersion.ExpectedVersion, number, boolean]> = [
      [ExpectedVersion.any, 0, true],
      [ExpectedVersion.any, 5, true],
      [ExpectedVersion.noStream, 0, true],
      [ExpectedVersion.noStream, 1, false],
      [ExpectedVersion.streamExists, 0, false],
      [ExpectedVersion.streamExists, 1, true],
      [ExpectedVersion.exact(0), 0, true],
      [ExpectedVersion.exact(3), 3, true],
      [ExpectedVersion.exact(3), 4, false],
      [ExpectedVersion.exact(3), 2, false]
    ]
    for (const [expected, actual, matches] of table) {
      assert.strictEqual(
        ExpectedVersion.matches(expected, actual),
        matches,
        `${ExpectedVersion.format(expected)} vs ${actual}`
      )
    }
  })

  it("given malformed exact versions, when checked, then each has a problem", () => {
    assert.isDefined(ExpectedVersion.problem(ExpectedVersion.exact(-1)))
    assert.isDefined(ExpectedVersion.problem(ExpectedVersion.exact(1.5)))
    assert.isDefined(ExpectedVersion.problem(ExpectedVersion.exact(Number.NaN)))
    assert.isDefined(ExpectedVersion.problem(ExpectedVersion.exact(2 ** 60)))
    assert.isUndefined(ExpectedVersion.problem(ExpectedVersion.exact(0)))
    assert.isUndefined(ExpectedVersion.problem(ExpectedVersion.any))
  })

  it("given each expectation, when formatted, then it reads as the docs and errors show it", () => {
    assert.deepStrictEqual(
      [ExpectedVersion.any, ExpectedVersion.noStream, ExpectedVersion.streamExists, ExpectedVersion.exact(7)].map(
        ExpectedVersion.format
      ),
      ["any version", "no stream", "an existing stream", "version 7"]
    )
  })

  it("given a malformed exact version, when checked, then the problem names the value; the others have none", () => {
    assert.strictEqual(
      ExpectedVersion.problem(ExpectedVersion.exact(-1)),
      "expected version must be a non-negative integer (got -1)"
    )
    for (const fine of [ExpectedVersion.noStream, ExpectedVersion.streamExists, ExpectedVersion.exact(2 ** 53 - 1)]) {
      assert.isUndefined(ExpectedVersion.problem(fine))
    }
    assert.isTrue(ExpectedVersion.isValidVersion(0))
    assert.isFalse(ExpectedVersion.isValidVersion(-0.5))
    assert.isFalse(ExpectedVersion.isValidVersion(2 ** 53))
  })
})
