// Message generator for LoadTest.yaml: one call = one email request for one recipient, the
// payload of the original sample (`from`, `to`, `template_name`, `user_id`, `config_set`, `tags`,
// `unique_code`), valid against schemas/send-request.schema.json.
//
// Settings (environment; read once per Artillery worker, a bad value stops the run with a message):
//   SESLOAD_CAMPAIGN    value of the `campaign` tag: letters, digits, `_`, `-` (default: run-<start time>)
//   SESLOAD_CUSTOMERS   user_id is drawn uniformly from 1..N (default 10000, the seeded range)
//   SESLOAD_MIX         recipient mix as kind=weight pairs, kinds: success, bounce, complaint, ooto,
//                       suppressionlist (default success=90,bounce=4,complaint=2,ooto=2,suppressionlist=2)
//   SESLOAD_FROM        sender (default sender@example.com)
//   SESLOAD_TEMPLATE    SES template name (default SimpleEmail)
//   SESLOAD_CONFIG_SET  SES configuration set (default load-test-config)
'use strict';

const crypto = require('node:crypto');

const SIMULATOR_DOMAIN = 'simulator.amazonses.com';
const KINDS = ['success', 'bounce', 'complaint', 'ooto', 'suppressionlist'];
const DEFAULT_MIX = 'success=90,bounce=4,complaint=2,ooto=2,suppressionlist=2';
const DEFAULT_CUSTOMERS = 10000;
// SES tag values (and our schema) allow letters, digits, `_` and `-`, up to 256 characters.
const TAG_VALUE = /^[A-Za-z0-9_-]{1,256}$/;
// Names used in the schema for template and configuration set.
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Parse a recipient mix such as "success=90,bounce=4". Kinds not named get weight 0.
 * Returns [{ kind, weight, share }] for every kind with a positive weight (share sums to 1).
 */
function parseMix(spec) {
  const text = String(spec).trim();
  if (text === '') throw new ConfigError('SESLOAD_MIX is empty; expected e.g. ' + DEFAULT_MIX);
  const weights = new Map();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      throw new ConfigError(`SESLOAD_MIX entry "${part}" is not kind=weight (e.g. ${DEFAULT_MIX})`);
    }
    const kind = part.slice(0, eq).trim().toLowerCase();
    const weightText = part.slice(eq + 1).trim();
    if (!KINDS.includes(kind)) {
      throw new ConfigError(`SESLOAD_MIX kind "${kind}" is unknown; kinds are ${KINDS.join(', ')}`);
    }
    if (weights.has(kind)) throw new ConfigError(`SESLOAD_MIX names "${kind}" twice`);
    const weight = Number(weightText);
    if (weightText === '' || !Number.isFinite(weight) || weight < 0) {
      throw new ConfigError(`SESLOAD_MIX weight "${weightText}" of "${kind}" is not a number >= 0`);
    }
    weights.set(kind, weight);
  }
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new ConfigError(`SESLOAD_MIX "${text}" has no positive weight`);
  return KINDS.filter((k) => (weights.get(k) || 0) > 0).map((kind) => ({
    kind,
    weight: weights.get(kind),
    share: weights.get(kind) / total,
  }));
}

function parseCustomers(value) {
  const text = String(value).trim();
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new ConfigError(`SESLOAD_CUSTOMERS "${value}" is not a whole number >= 1`);
  }
  return Number(text);
}

// The time this process started (shared by all of Artillery's worker threads of one run).
function processStartStamp() {
  const started = new Date(Date.now() - process.uptime() * 1000);
  return started.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
}

/** Read and check every setting; throws ConfigError naming the bad value. */
function loadConfig(env = process.env) {
  const get = (name, fallback) =>
    env[name] === undefined || env[name] === '' ? fallback : String(env[name]).trim();

  const campaign = get('SESLOAD_CAMPAIGN', `run-${processStartStamp()}`);
  if (!TAG_VALUE.test(campaign)) {
    throw new ConfigError(
      `SESLOAD_CAMPAIGN "${campaign}" is not a valid SES tag value (1-256 of A-Z a-z 0-9 _ -)`,
    );
  }
  const from = get('SESLOAD_FROM', 'sender@example.com');
  if (!ADDRESS.test(from) || from.length > 320) {
    throw new ConfigError(`SESLOAD_FROM "${from}" is not an email address`);
  }
  const templateName = get('SESLOAD_TEMPLATE', 'SimpleEmail');
  if (!NAME.test(templateName)) {
    throw new ConfigError(`SESLOAD_TEMPLATE "${templateName}" is not a template name (A-Z a-z 0-9 _ -)`);
  }
  const configSet = get('SESLOAD_CONFIG_SET', 'load-test-config');
  if (!NAME.test(configSet)) {
    throw new ConfigError(`SESLOAD_CONFIG_SET "${configSet}" is not a configuration set name`);
  }
  return {
    campaign,
    customers: parseCustomers(get('SESLOAD_CUSTOMERS', String(DEFAULT_CUSTOMERS))),
    mix: parseMix(get('SESLOAD_MIX', DEFAULT_MIX)),
    from,
    templateName,
    configSet,
  };
}

/** Pick a recipient kind from a parsed mix with a uniform random number u in [0, 1). */
function pickKind(mix, u) {
  let acc = 0;
  for (const entry of mix) {
    acc += entry.share;
    if (u < acc) return entry.kind;
  }
  return mix[mix.length - 1].kind;
}

/**
 * Build one request body. `random` returns uniform numbers in [0, 1) (injectable for tests);
 * the unique_code always comes from crypto.randomUUID (122 random bits: no collisions at any rate).
 */
function buildMessage(config, random = Math.random) {
  const userId = 1 + Math.floor(random() * config.customers);
  const kind = pickKind(config.mix, random());
  const message = {
    from: config.from,
    // The label after `+` keeps addresses distinct per customer; the simulator ignores it.
    to: `${kind}+u${userId}@${SIMULATOR_DOMAIN}`,
    template_name: config.templateName,
    user_id: String(userId),
    config_set: config.configSet,
    tags: [{ Name: 'campaign', Value: config.campaign }],
    unique_code: crypto.randomUUID(),
  };
  return { message, kind };
}

let cachedConfig;
function config() {
  if (cachedConfig === undefined) cachedConfig = loadConfig(process.env);
  return cachedConfig;
}

/** Artillery function step: sets the payload variables used by LoadTest.yaml. */
function generateMessages(userContext, events, done) {
  let built;
  try {
    built = buildMessage(config());
  } catch (err) {
    return done(err);
  }
  const { message, kind } = built;
  const vars = userContext.vars;
  vars.from = message.from;
  vars.to = message.to;
  vars.template_name = message.template_name;
  vars.user_id = message.user_id;
  vars.config_set = message.config_set;
  vars.tags = message.tags;
  vars.unique_code = message.unique_code;
  vars.payload = message;
  if (events && typeof events.emit === 'function') {
    events.emit('counter', `sesload.recipients.${kind}`, 1);
  }
  return done();
}

module.exports = {
  generateMessages,
  loadConfig,
  parseMix,
  parseCustomers,
  pickKind,
  buildMessage,
  ConfigError,
  KINDS,
  DEFAULT_MIX,
  SIMULATOR_DOMAIN,
};
