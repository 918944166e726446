/**
 * The V8 flag the benches try as the bounded-memory variant of Switchyard,
 * the one deploy/ sets in NODE_OPTIONS: a young generation of at most
 * 2 × 8 MB instead of V8's default 2 × 16 MB, which V8 grows to under load
 * and never gives back while the process lives.
 */
export const YOUNG_GENERATION_CAP = "--max-semi-space-size=8";
