/**
 * User ids: derived from (tenant, Idempotency-Key) when the client sends a
 * key, fresh otherwise.
 *
 * A derived id is a hash, so the same key in the same tenant always names the
 * same user: a retried register lands on the same stream, where the command
 * id (the key) finds the events the first attempt wrote. Both kinds are
 * `u-` followed by 32 lowercase hex digits, valid in URLs and stream ids.
 *
 * @since 0.1.0
 */
import { createHash, randomUUID } from "node:crypto"

/**
 * The user id a register with this `Idempotency-Key` creates in this tenant.
 *
 * @example
 * ```ts
 * import { UserIds } from "@eventable/example-users"
 *
 * UserIds.fromIdempotencyKey("acme", "signup-42") === UserIds.fromIdempotencyKey("acme", "signup-42") // true
 * ```
 *
 * @since 0.1.0
 */
export const fromIdempotencyKey = (tenant: string, key: string): string =>
  `u-${createHash("sha256").update(`${tenant}\n${key}`).digest("hex").slice(0, 32)}`

/**
 * A fresh random user id, for a register without an `Idempotency-Key`.
 *
 * @since 0.1.0
 */
export const fresh = (): string => `u-${randomUUID().replaceAll("-", "")}`
