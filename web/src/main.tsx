import { render } from "preact";
import { App } from "./app.js";
import { startFlags } from "./flags.js";
import "./styles.css";

const root = document.getElementById("app");
if (root === null) throw new Error("index.html has no #app element");
startFlags();
render(<App />, root);
