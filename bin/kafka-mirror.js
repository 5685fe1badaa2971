#!/usr/bin/env node
// Entry point of the package: runs the compiled CLI (`npm run build` writes dist/).
import { run } from '../dist/cli.js';

await run();
