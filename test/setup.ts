/**
 * Test-wide set-up: property tests run from a fixed seed, so a failure seen
 * once is seen on every run (and CI never fails on a seed nobody can replay).
 */
import fc from "fast-check";

fc.configureGlobal({ seed: 20261123 });
