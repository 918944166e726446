/** The built-in algorithms, in listing order; the registry is built from this list. */
import { adaptive } from "./adaptive.js";
import { alpha1 } from "./alpha1.js";
import { beta1 } from "./beta1.js";
import { boundedLoadConsistentHash } from "./bounded-load.js";
import { consistentHash } from "./consistent-hash.js";
import type { AlgorithmDefinition } from "./definition.js";
import { failureWeightedRoundRobin } from "./failure-weighted-round-robin.js";
import { geoProximity } from "./geo-proximity.js";
import { geographical } from "./geographical.js";
import { healthScore } from "./health-score.js";
import { hybrid } from "./hybrid.js";
import { ipHash } from "./ip-hash.js";
import { lease } from "./lease.js";
import { leastConnections } from "./least-connections.js";
import { leastLatency } from "./least-latency.js";
import { maglev } from "./maglev.js";
import { peakEwma } from "./peak-ewma.js";
import { powerOfTwoChoices } from "./power-of-two-choices.js";
import { prequal } from "./prequal.js";
import { random } from "./random.js";
import { reportedLoad } from "./reported-load.js";
import { resourceAware } from "./resource-aware.js";
import { responseTime } from "./response-time.js";
import { roundRobin } from "./round-robin.js";
import { weightedRoundRobin } from "./weighted-round-robin.js";

export const BUILTIN_ALGORITHMS: readonly AlgorithmDefinition[] = [
  roundRobin,
  weightedRoundRobin,
  random,
  leastConnections,
  powerOfTwoChoices,
  leastLatency,
  peakEwma,
  responseTime,
  healthScore,
  failureWeightedRoundRobin,
  adaptive,
  alpha1,
  prequal,
  consistentHash,
  boundedLoadConsistentHash,
  maglev,
  ipHash,
  beta1,
  reportedLoad,
  lease,
  hybrid,
  resourceAware,
  geoProximity,
  geographical,
];
