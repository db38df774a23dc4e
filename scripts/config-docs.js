#!/usr/bin/env node
// Writes docs/configuration.md from the convict schema (src/config/reference.ts, compiled to dist/).
// Run through `npm run docs:config`, which builds first.
const { writeFileSync } = require('node:fs');
const path = require('node:path');
const { configurationReference } = require('../dist/config/reference.js');

const target = path.join(__dirname, '..', 'docs', 'configuration.md');
writeFileSync(target, configurationReference());
process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
