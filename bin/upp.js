#!/usr/bin/env node
// The `upp` command: runs the compiled CLI (npm ci and npm start build it into dist/).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
