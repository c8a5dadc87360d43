#!/usr/bin/env node
// `npm run dev -- <command> …`: the CLI straight from src/ through tsx, no build (development only;
// bin/vieweratlas.mjs runs the compiled dist/). Worker threads load through their tsx shims.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
