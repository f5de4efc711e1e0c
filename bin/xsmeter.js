#!/usr/bin/env node
// The `xsmeter` command: the CLI bundle that `npm run build` (run by npm start / npm test) writes.
import '../dist/xsmeter.mjs';
