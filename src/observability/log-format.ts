/** How the CLI writes its log: JSON lines, pretty text, or pretty only on a terminal (auto). */
export const LOG_FORMATS = ["auto", "json", "pretty"] as const;

export type LogFormat = (typeof LOG_FORMATS)[number];
