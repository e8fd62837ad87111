#!/usr/bin/env node
// The `hearth` command: a committed file so npm links it before `dist/` is built.
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
