/**
 * @eventable/cosmos: read models on Azure Cosmos DB, the `ReadModelStore`
 * that document projections write to.
 *
 * @since 0.1.0
 */

export * as CosmosConfig from "./CosmosConfig.ts"
export { CosmosConfigError } from "./CosmosConfig.ts"
export * as CosmosReadModelStore from "./CosmosReadModelStore.ts"
