/**
 * @eventable/bench: the benchmarks behind `npm run bench`.
 *
 * @since 0.1.0
 */

export * as CommandBench from "./CommandBench.ts"
export * as CoreBench from "./CoreBench.ts"
export * as Measure from "./Measure.ts"
export * as RawTable from "./RawTable.ts"
export * as Report from "./Report.ts"
export * as TableStorageBench from "./TableStorageBench.ts"
