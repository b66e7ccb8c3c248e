#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import("../dist/cli/main.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/cli/main.js")) {
    process.stderr.write("bk: the CLI is not built yet. Run `npm ci` (or `npm run build`) in the beckerkube folder first.\n");
    process.exit(70);
  }
  throw err;
});
