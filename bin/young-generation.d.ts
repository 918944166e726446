// Types for young-generation.js, which the launcher imports as plain JavaScript.
export declare const YOUNG_GENERATION_CAP: string;
export declare function youngGenerationChosen(execArgv: readonly string[], nodeOptions?: string): boolean;
