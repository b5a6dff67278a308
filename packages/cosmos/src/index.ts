/**
 * @eventable/cosmos: read models on Azure Cosmos DB.
 *
 * @since 0.1.0
 */
export {}
