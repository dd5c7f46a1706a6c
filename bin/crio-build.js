#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled TypeScript (npm install runs `prepare`, which compiles it).
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2))).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli')) {
    console.error('crio-build: not compiled yet; run `npm install` (or `npm run build`) in the checkout first');
    process.exit(70);
  }
  throw err;
});
