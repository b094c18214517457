// `npm run bench -- [name...]`: runs the named benchmarks (all when none is named), prints their
// figures and writes each to bench/results/<name>.json with the machine's description.
import { mkdirSync, writeFileSync } from 'node:fs';
import { describeMachine } from './machine.js';
import { benchGost } from './gost.js';
import { benchLive } from './live.js';
import { benchParticipation } from './participation.js';
import { benchPki } from './pki.js';
import { benchPublic } from './public.js';
import { benchStartup } from './startup.js';
import { benchUploads } from './uploads.js';

const BENCHMARKS: Record<string, () => Promise<object>> = {
  startup: benchStartup,
  pki: benchPki,
  gost: benchGost,
  uploads: benchUploads,
  public: benchPublic,
  live: benchLive,
  participation: benchParticipation,
};

const requested = process.argv.slice(2);
const names = requested.length === 0 ? Object.keys(BENCHMARKS) : requested;
const unknown = names.filter((name) => BENCHMARKS[name] === undefined);
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS)}`);
  process.exit(2);
}

const resultsDir = new URL('./results/', import.meta.url);
mkdirSync(resultsDir, { recursive: true });
for (const name of names) {
  const machine = describeMachine();
  const figures = await BENCHMARKS[name]!();
  const result = {
    benchmark: name,
    command: `npm run bench -- ${name}`,
    recordedAt: new Date().toISOString(),
    machine,
    ...figures,
  };
  writeFileSync(new URL(`${name}.json`, resultsDir), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
}
