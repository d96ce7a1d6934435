// Unit tests of LoadTestFunction.js (node --test artillery/test/).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const gen = require('../LoadTestFunction.js');

const SCHEMA = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'schemas', 'send-request.schema.json'), 'utf8'),
);

// A minimal validator for the draft-04 keywords the schema uses (type, required,
// additionalProperties, properties, items, minLength, maxLength, pattern, maxItems, minimum).
// It refuses keywords it does not know, so a schema change cannot silently weaken this test.
const KNOWN = new Set([
  '$schema', 'title', 'description', 'type', 'required', 'additionalProperties', 'properties',
  'items', 'minLength', 'maxLength', 'pattern', 'maxItems', 'minItems', 'minimum', 'maximum',
]);
function typeOf(v) {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (Number.isInteger(v)) return 'integer';
  return typeof v;
}
function validate(schema, value, at = '$') {
  const errors = [];
  for (const k of Object.keys(schema)) {
    if (!KNOWN.has(k)) throw new Error(`schema keyword ${k} at ${at} is not handled by this test`);
  }
  if (schema.type) {
    const types = [].concat(schema.type);
    const t = typeOf(value);
    const ok = types.some((x) => x === t || (x === 'number' && (t === 'integer' || t === 'number')));
    if (!ok) return [`${at}: ${t} is not ${types.join('|')}`];
  }
  if (typeof value === 'string') {
    const len = [...value].length;
    if (schema.minLength !== undefined && len < schema.minLength) errors.push(`${at}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && len > schema.maxLength) errors.push(`${at}: longer than ${schema.maxLength}`);
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) errors.push(`${at}: "${value}" !~ ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${at}: fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((v, i) => errors.push(...validate(schema.items, v, `${at}[${i}]`)));
  }
  if (typeOf(value) === 'object') {
    for (const r of schema.required || []) if (!(r in value)) errors.push(`${at}: missing ${r}`);
    const props = schema.properties || {};
    for (const [k, v] of Object.entries(value)) {
      if (props[k]) errors.push(...validate(props[k], v, `${at}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${at}: unexpected property ${k}`);
    }
  }
  return errors;
}

// Deterministic uniform numbers in [0, 1) (mulberry32) so proportions are reproducible.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ENV = { SESLOAD_CAMPAIGN: 'unit-test_1' };

test('the validator used here rejects what the schema forbids', () => {
  const { message } = gen.buildMessage(gen.loadConfig(ENV));
  assert.deepEqual(validate(SCHEMA, message), []);
  assert.notDeepEqual(validate(SCHEMA, { ...message, extra: 1 }), []);
  assert.notDeepEqual(validate(SCHEMA, { ...message, tags: [{ Name: 'campaign', Value: 'a b' }] }), []);
  const { unique_code: _omit, ...noCode } = message;
  assert.notDeepEqual(validate(SCHEMA, noCode), []);
});

test('every generated payload matches schemas/send-request.schema.json', () => {
  const config = gen.loadConfig({ ...ENV, SESLOAD_MIX: 'success=1,bounce=1,complaint=1,ooto=1,suppressionlist=1' });
  for (let i = 0; i < 5000; i++) {
    const { message } = gen.buildMessage(config);
    assert.deepEqual(validate(SCHEMA, message), [], JSON.stringify(message));
  }
});

test('payload has exactly the original sample fields, with the campaign tag', () => {
  const config = gen.loadConfig({
    SESLOAD_CAMPAIGN: 'run-42',
    SESLOAD_FROM: 'me@example.org',
    SESLOAD_TEMPLATE: 'Welcome_v2',
    SESLOAD_CONFIG_SET: 'my-set',
  });
  const { message } = gen.buildMessage(config);
  assert.deepEqual(Object.keys(message).sort(), [
    'config_set', 'from', 'tags', 'template_name', 'to', 'unique_code', 'user_id',
  ]);
  assert.equal(message.from, 'me@example.org');
  assert.equal(message.template_name, 'Welcome_v2');
  assert.equal(message.config_set, 'my-set');
  assert.deepEqual(message.tags, [{ Name: 'campaign', Value: 'run-42' }]);
  assert.match(message.to, /^(success|bounce|complaint|ooto|suppressionlist)\+u\d+@simulator\.amazonses\.com$/);
});

test('defaults: sender, template, configuration set, 10,000 customers, default mix', () => {
  const config = gen.loadConfig({});
  assert.equal(config.from, 'sender@example.com');
  assert.equal(config.templateName, 'SimpleEmail');
  assert.equal(config.configSet, 'load-test-config');
  assert.equal(config.customers, 10000);
  assert.match(config.campaign, /^run-\d{8}T\d{6}$/);
  assert.deepEqual(
    config.mix.map((m) => [m.kind, m.weight]),
    [['success', 90], ['bounce', 4], ['complaint', 2], ['ooto', 2], ['suppressionlist', 2]],
  );
});

test('100,000 unique_codes do not collide and are valid SES tag values', () => {
  const config = gen.loadConfig(ENV);
  const seen = new Set();
  for (let i = 0; i < 100000; i++) {
    const code = gen.buildMessage(config).message.unique_code;
    assert.match(code, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    seen.add(code);
  }
  assert.equal(seen.size, 100000);
});

test('recipient mix proportions follow SESLOAD_MIX', () => {
  const config = gen.loadConfig({ ...ENV, SESLOAD_MIX: 'success=90,bounce=4,complaint=2,ooto=2,suppressionlist=2' });
  const rnd = seeded(7);
  const n = 200000;
  const counts = {};
  for (let i = 0; i < n; i++) {
    const { message, kind } = gen.buildMessage(config, rnd);
    assert.ok(message.to.startsWith(`${kind}+`));
    counts[kind] = (counts[kind] || 0) + 1;
  }
  const expected = { success: 0.9, bounce: 0.04, complaint: 0.02, ooto: 0.02, suppressionlist: 0.02 };
  for (const [kind, p] of Object.entries(expected)) {
    const share = (counts[kind] || 0) / n;
    // 5 standard deviations of a binomial share: fails only if the mix is wrong.
    const tol = 5 * Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(share - p) <= tol, `${kind}: share ${share} vs ${p} (±${tol.toFixed(4)})`);
  }
});

test('kinds left out of SESLOAD_MIX are never drawn; weights need not sum to 100', () => {
  const config = gen.loadConfig({ ...ENV, SESLOAD_MIX: 'bounce=1, complaint=3' });
  const counts = { bounce: 0, complaint: 0 };
  const rnd = seeded(11);
  for (let i = 0; i < 40000; i++) counts[gen.buildMessage(config, rnd).kind] += 1;
  assert.deepEqual(Object.keys(counts).sort(), ['bounce', 'complaint']);
  assert.ok(Math.abs(counts.complaint / 40000 - 0.75) < 0.02, JSON.stringify(counts));
});

test('pickKind covers the edges of [0, 1)', () => {
  const mix = gen.parseMix('success=50,bounce=50');
  assert.equal(gen.pickKind(mix, 0), 'success');
  assert.equal(gen.pickKind(mix, 0.4999), 'success');
  assert.equal(gen.pickKind(mix, 0.5), 'bounce');
  assert.equal(gen.pickKind(mix, 0.999999999), 'bounce');
});

test('user_id is drawn from 1..SESLOAD_CUSTOMERS, all of it, as a string', () => {
  const config = gen.loadConfig({ ...ENV, SESLOAD_CUSTOMERS: '50' });
  const seen = new Set();
  for (let i = 0; i < 20000; i++) {
    const { message } = gen.buildMessage(config);
    assert.equal(typeof message.user_id, 'string');
    const id = Number(message.user_id);
    assert.ok(Number.isInteger(id) && id >= 1 && id <= 50, message.user_id);
    assert.ok(message.to.includes(`+u${id}@`));
    seen.add(id);
  }
  assert.equal(seen.size, 50);
  // The extremes of the random source map to 1 and N.
  assert.equal(gen.buildMessage(config, () => 0).message.user_id, '1');
  assert.equal(gen.buildMessage(config, () => 0.9999999999).message.user_id, '50');
  // Default range is the seeded one: 1..10000.
  const big = gen.loadConfig(ENV);
  assert.equal(gen.buildMessage(big, () => 0.9999999999).message.user_id, '10000');
});

test('bad settings are refused with a message naming the value', () => {
  const bad = [
    [{ SESLOAD_CAMPAIGN: 'run 1' }, /SESLOAD_CAMPAIGN "run 1"/],
    [{ SESLOAD_CAMPAIGN: 'run.1' }, /SESLOAD_CAMPAIGN "run\.1"/],
    [{ SESLOAD_CAMPAIGN: 'x'.repeat(257) }, /SESLOAD_CAMPAIGN/],
    [{ SESLOAD_CUSTOMERS: '0' }, /SESLOAD_CUSTOMERS "0"/],
    [{ SESLOAD_CUSTOMERS: '12.5' }, /SESLOAD_CUSTOMERS "12\.5"/],
    [{ SESLOAD_CUSTOMERS: 'many' }, /SESLOAD_CUSTOMERS "many"/],
    [{ SESLOAD_MIX: 'success=90,spam=10' }, /kind "spam" is unknown/],
    [{ SESLOAD_MIX: 'success=-1,bounce=2' }, /weight "-1" of "success"/],
    [{ SESLOAD_MIX: 'success=lots' }, /weight "lots"/],
    [{ SESLOAD_MIX: 'success' }, /entry "success" is not kind=weight/],
    [{ SESLOAD_MIX: 'success=0,bounce=0' }, /no positive weight/],
    [{ SESLOAD_MIX: 'success=1,success=2' }, /names "success" twice/],
    [{ SESLOAD_FROM: 'not-an-address' }, /SESLOAD_FROM "not-an-address"/],
    [{ SESLOAD_TEMPLATE: 'has space' }, /SESLOAD_TEMPLATE "has space"/],
    [{ SESLOAD_CONFIG_SET: 'a/b' }, /SESLOAD_CONFIG_SET "a\/b"/],
  ];
  for (const [env, message] of bad) {
    assert.throws(() => gen.loadConfig({ ...ENV, ...env }), (err) => {
      assert.ok(err instanceof gen.ConfigError, `${JSON.stringify(env)} threw ${err}`);
      assert.match(err.message, message);
      return true;
    });
  }
});

test('generateMessages sets the variables LoadTest.yaml uses and counts the recipient kind', () => {
  const ctx = { vars: {} };
  const counted = [];
  const events = { emit: (type, name, value) => counted.push([type, name, value]) };
  let called = 0;
  gen.generateMessages(ctx, events, (err) => {
    assert.equal(err, undefined);
    called += 1;
  });
  assert.equal(called, 1);
  for (const k of ['from', 'to', 'template_name', 'user_id', 'config_set', 'tags', 'unique_code']) {
    assert.ok(ctx.vars[k] !== undefined, `vars.${k} is set`);
  }
  assert.deepEqual(validate(SCHEMA, ctx.vars.payload), []);
  assert.equal(counted.length, 1);
  assert.match(counted[0][1], /^sesload\.recipients\.(success|bounce|complaint|ooto|suppressionlist)$/);
});

test('LoadTest.yaml posts every payload field the generator sets', () => {
  const yaml = fs.readFileSync(path.join(__dirname, '..', 'LoadTest.yaml'), 'utf8');
  for (const k of ['from', 'to', 'template_name', 'user_id', 'config_set', 'tags', 'unique_code']) {
    assert.match(yaml, new RegExp(`^\\s+${k}: "\\{\\{ ${k} \\}\\}"$`, 'm'), `json.${k} in LoadTest.yaml`);
  }
  assert.match(yaml, /processor: "\.\/LoadTestFunction\.js"/);
  assert.match(yaml, /^\s+local:$/m);
  assert.match(yaml, /^\s+aws:$/m);
});
