/**
 * Debian's Chromium, headless, driven by playwright-core: the browser tests'
 * one way to start it (no sandbox in containers, no GPU, nothing fetched in
 * the background).
 */
import { type Browser, chromium } from "playwright-core";
import { DEBIAN_TOOLS } from "../global-setup.js";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: DEBIAN_TOOLS.chromium, headless: true, args: CHROMIUM_ARGS });
}
