/**
 * The baseline: the same rows and transactions as the event store, written
 * and read by hand with the Azure SDK, with no library in between.
 *
 * @since 0.1.0
 */
import { Agent } from "node:http"
import { odata, TableClient } from "@azure/data-tables"
import { Effect } from "effect"

/**
 * An SDK client configured as the store configures its own (no SDK retries, keep-alive).
 *
 * @since 0.1.0
 */
export const client = (connectionString: string, table: string): TableClient =>
  TableClient.fromConnectionString(connectionString, table, {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 0 },
    agent: new Agent({ keepAlive: true })
  })

const pad = (n: number, digits: number) => n.toString().padStart(digits, "0")

/**
 * A single writer appending one event at a time to one stream: header update
 * (If-Match), event row, feed row, head update (If-Match), in one transaction,
 * with the ETags taken from the previous answer.
 *
 * @since 0.1.0
 */
export const singleWriter = (table: TableClient, partitionKey: string, id: string, payload: string) => {
  let version = 0
  let headerEtag: string | undefined
  let headEtag: string | undefined
  const append = () =>
    Effect.promise(async () => {
      const next = version + 1
      const eventProps = {
        type: "Happened",
        eventId: crypto.randomUUID(),
        occurredAt: new Date().toISOString(),
        chunks: 1,
        d0: payload
      }
      const header = { partitionKey, rowKey: `s|${id}|${pad(0, 10)}`, version: String(next) }
      const head = { partitionKey, rowKey: "h", position: String(next) }
      const result = await table.submitTransaction([
        headerEtag === undefined ? ["create", header] : ["update", header, "Replace", { etag: headerEtag }],
        ["create", { partitionKey, rowKey: `s|${id}|${pad(next, 10)}`, ...eventProps, position: String(next) }],
        ["create", { partitionKey, rowKey: `f|${pad(next, 16)}`, ...eventProps, stream: id, version: String(next) }],
        headEtag === undefined ? ["create", head] : ["update", head, "Replace", { etag: headEtag }]
      ])
      headerEtag = result.subResponses[0]?.etag
      headEtag = result.subResponses[3]?.etag
      version = next
    })
  return append
}

/**
 * Lists a stream's event rows by key range, following continuation tokens.
 *
 * @since 0.1.0
 */
export const readStream = (table: TableClient, partitionKey: string, id: string) =>
  Effect.promise(async () => {
    const lower = `s|${id}|${pad(0, 10)}`
    const upper = `s|${id}|${pad(9_999_999_999, 10)}`
    const rows: Array<unknown> = []
    const pages = table
      .listEntities({
        queryOptions: { filter: odata`PartitionKey eq ${partitionKey} and RowKey ge ${lower} and RowKey le ${upper}` }
      })
      .byPage({ maxPageSize: 1000 })
    for await (const page of pages) rows.push(...page)
    return rows
  })
