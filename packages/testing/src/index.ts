/**
 * @eventable/testing: decider specifications, the event store conformance
 * suite, and local stand-ins for the Azure services.
 *
 * @since 0.1.0
 */

export { Azurite, AzuriteError, type AzuriteInstance, type Options as AzuriteOptions } from "./Azurite.ts"
export {
  CosmosEmulator,
  CosmosEmulatorError,
  type CosmosEmulatorInstance
} from "./CosmosEmulator.ts"
export * as DeadLetterStoreConformance from "./DeadLetterStoreConformance.ts"
export * as DeciderSpecification from "./DeciderSpecification.ts"
export * as EventStoreConformance from "./EventStoreConformance.ts"
export * as LeaseStoreConformance from "./LeaseStoreConformance.ts"
export * as LiveLayer from "./LiveLayer.ts"
export * as ReadModelStoreConformance from "./ReadModelStoreConformance.ts"
