/** The dashboard's entry point (bundled by scripts/build-dashboard.mjs): styles, then the app. */
import "uplot/dist/uPlot.min.css";
import "./app.css";
import { render } from "preact";
import { App } from "./app.js";

const root = document.getElementById("app");
if (root) render(<App />, root);
