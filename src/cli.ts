#!/usr/bin/env node
// the binary: scripts/bundle-cli.mjs bundles this boot, and the command line it loads (cli/run.ts)
import { boot } from './cli/boot.js';

boot(import.meta.url);
