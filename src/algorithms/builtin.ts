/** Registers the built-in algorithms; imported once by the package entry points. */
import { adaptive } from "./adaptive.js";
import { failureWeightedRoundRobin } from "./failure-weighted-round-robin.js";
import { healthScore } from "./health-score.js";
import { leastConnections } from "./least-connections.js";
import { leastLatency } from "./least-latency.js";
import { peakEwma } from "./peak-ewma.js";
import { powerOfTwoChoices } from "./power-of-two-choices.js";
import { random } from "./random.js";
import { registerAlgorithm } from "./registry.js";
import { responseTime } from "./response-time.js";
import { roundRobin } from "./round-robin.js";
import { weightedRoundRobin } from "./weighted-round-robin.js";

registerAlgorithm(roundRobin);
registerAlgorithm(weightedRoundRobin);
registerAlgorithm(random);
registerAlgorithm(leastConnections);
registerAlgorithm(powerOfTwoChoices);
registerAlgorithm(leastLatency);
registerAlgorithm(peakEwma);
registerAlgorithm(responseTime);
registerAlgorithm(healthScore);
registerAlgorithm(failureWeightedRoundRobin);
registerAlgorithm(adaptive);
