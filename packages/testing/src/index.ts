/**
 * @eventable/testing: decider specifications, the event store conformance
 * suite, and local stand-ins for the Azure services.
 *
 * @since 0.1.0
 */

export * as DeciderSpecification from "./DeciderSpecification.ts"
export * as EventStoreConformance from "./EventStoreConformance.ts"
