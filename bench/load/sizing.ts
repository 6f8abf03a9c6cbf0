import type { BenchSettings } from '../context.js';
import { summarize } from '../stats.js';
import type { LoadMeasurement } from './measurement.js';

/**
 * The size of a counted run: about `durationSec` at the rate the warm-up reached, so a slow path (Azurite) and
 * a fast one (raw HTTPS) both run for a few seconds, each with an exact request count the checks can match.
 * The rate comes from the warm-up's median latency (a closed loop of c connections at latency L runs c / L per
 * second), not its wall time, which the first requests' handshakes and compilation would dominate.
 */
export function countedAmount(warmup: LoadMeasurement, settings: BenchSettings): number {
  const { p50Ms } = summarize(warmup.latenciesMs);
  const rate = (settings.connections * 1000) / p50Ms;
  const wanted = Number.isFinite(rate) ? Math.round(rate * settings.durationSec) : settings.minCounted;
  return Math.min(settings.maxCounted, Math.max(settings.minCounted, wanted));
}
