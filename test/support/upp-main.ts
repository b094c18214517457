// The `upp` command run from the sources, for tests that start it as a process of its own (a
// file, not `-e`, because node:cluster starts each worker from the same file).
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
