import type { Children } from './children.js';
import type { HostProcess } from './host-process.js';
import type { Signer } from './requests.js';
import type { SandboxProcess } from './sandbox-process.js';
import type { ConnectionPool } from './seed-file.js';
import type { ScenarioResult } from './types.js';

/** Fixed for the whole run so every figure is measured the same way. */
export interface BenchSettings {
  /** Concurrent connections (closed loop) for every load scenario. */
  connections: number;
  /** Measured seconds for duration-based scenarios. */
  durationSec: number;
  /** Unmeasured seconds before each duration-based scenario. */
  warmupSec: number;
  /**
   * Counted runs (every request changes state, so each needs its own Pending connection, and the sandbox
   * counters must match exactly): an unmeasured warm-up of `calibrationRequests` sizes the measured run to about
   * `durationSec` at the rate it reached, within [minCounted, maxCounted].
   */
  calibrationRequests: number;
  minCounted: number;
  maxCounted: number;
  /** Requests in the steady-state I/O window. */
  ioRequests: number;
  importRuns: number;
  hostStartRuns: number;
}

export interface BenchContext {
  settings: BenchSettings;
  children: Children;
  sandbox: SandboxProcess;
  /** Pending connections from the bench seed; scenarios take disjoint slices. */
  pool: ConnectionPool;
  /** Environment every host gets on top of its own port: sandbox stand-ins and table storage (Azurite). */
  hostBaseEnv: Record<string, string>;
  /** Signs a body as the generic route's caller (Standard Webhooks), with a fresh delivery id. */
  sign: Signer;
  /** Azurite's table service process, whose CPU time counts toward each request's. */
  azuritePid: number | undefined;
  /** A warm host with the default bench configuration, shared by scenarios that need nothing special. */
  host: HostProcess;
  /** Another host process, for scenarios that need their own configuration (extra env on top of the bench's). */
  startHost(extra?: Record<string, string>): Promise<HostProcess>;
  /** One line on stderr, so stdout stays the report. */
  progress(message: string): void;
}

export interface Scenario {
  id: string;
  title: string;
  /** How many pool connections the scenario will take, so the seed can be sized before anything starts. */
  connectionsNeeded(settings: BenchSettings): number;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}
