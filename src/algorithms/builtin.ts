/** Registers the built-in algorithms; imported once by the package entry points. */
import { registerAlgorithm } from "./registry.js";
import { roundRobin } from "./round-robin.js";

registerAlgorithm(roundRobin);
