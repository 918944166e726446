/**
 * How panels change things: `act` sends one admin write with the page's
 * token and reports the outcome to the user (the API's own error message on
 * refusal); it resolves to whether the write succeeded.
 */
import type { ApiCall } from "./api.js";

export type Act = (done: string, call: Omit<ApiCall, "token">) => Promise<boolean>;
