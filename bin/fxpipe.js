#!/usr/bin/env node
// The AWS SDK warns on every Node 20 process that its releases after January 2027 need Node 22; fxpipe
// pins its SDK version in package-lock.json, so the warning would only break the one-line stderr promise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv);
