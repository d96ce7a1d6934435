// Preloaded into Artillery with `NODE_OPTIONS=--require <this file>` (the justfile does it).
//
// Artillery 2.0.21 creates a PostHog telemetry client even when ARTILLERY_DISABLE_TELEMETRY is
// set; on a machine without internet that client retries and delays the process exit by ~12 s,
// and on any machine it phones home. This preload answers `require('posthog-node')` with an
// inert client, and refuses fetch() calls to PostHog hosts (newer Artillery versions post
// telemetry with fetch), so a load test talks only to its target.
'use strict';

const Module = require('node:module');

class InertPostHog {
  constructor() {}
  capture() {}
  identify() {}
  alias() {}
  groupIdentify() {}
  on() {
    return this;
  }
  flush() {
    return Promise.resolve();
  }
  shutdown() {
    return Promise.resolve();
  }
  shutdownAsync() {
    return Promise.resolve();
  }
}

const originalLoad = Module._load;
Module._load = function sesloadTelemetryStub(request, parent, isMain) {
  if (request === 'posthog-node') {
    return { PostHog: InertPostHog, default: InertPostHog };
  }
  return originalLoad.apply(this, arguments);
};

if (typeof globalThis.fetch === 'function') {
  const originalFetch = globalThis.fetch;
  globalThis.fetch = function sesloadFetch(input, init) {
    const url = typeof input === 'string' ? input : String((input && input.url) || input);
    if (/^https?:\/\/([^/]*\.)?posthog\.com(\/|$)/i.test(url)) {
      return Promise.resolve(new Response(null, { status: 204 }));
    }
    return originalFetch.apply(this, arguments);
  };
}

module.exports = { InertPostHog };
