// Types for v8-flags.js, which the launcher imports as plain JavaScript.
export declare const YOUNG_GENERATION_CAP: string;
export declare function launchFlags(
  cpus: number,
  execArgv?: readonly string[],
  nodeOptions?: string,
): string[];
