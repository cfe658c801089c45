#!/usr/bin/env node
import { createRequire } from 'node:module';

// The AWS SDK warns on every Node 20 process that its releases after January 2027 need Node 22; fxpipe
// pins its SDK version in package-lock.json, so the warning would only break the one-line stderr promise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// pg checks at load whether it runs in a Cloudflare Worker: from navigator.userAgent, which Node defines from 21 on,
// else by constructing a fetch Response, which on Node 20 loads Node's whole fetch implementation (~40 ms of every
// command, measured). pg is loaded first with the userAgent Node 21 would give, which exists only while it loads.
if (globalThis.navigator === undefined) {
  globalThis.navigator = { userAgent: `Node.js/${process.versions.node.split('.')[0]}` };
  try {
    createRequire(import.meta.url)('pg');
  } finally {
    delete globalThis.navigator;
  }
}

const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv);
