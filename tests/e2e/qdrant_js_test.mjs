// End-to-end test: drives a running `vecstore serve` with the official Qdrant JavaScript
// client (@qdrant/js-client-rest 1.18.0) and checks every answer against a model of the
// data kept here (brute-force distances, filters evaluated in JS).
//
// Environment: VS_URL (http://127.0.0.1:PORT), VS_API_KEY (the full key), VS_RO_KEY (the
// read-only key), VS_NPM_DIR (the --prefix the client was installed into; ES modules
// ignore NODE_PATH, so the client is loaded with createRequire from there).
// Output: one line per check ("ok   name" / "FAIL name: reason"), then "N passed, M failed".
// Run it through scripts/test-e2e.sh, which installs the client and starts the server.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { homedir } from 'node:os';

const URL_ = process.env.VS_URL;
const KEY = process.env.VS_API_KEY;
const RO_KEY = process.env.VS_RO_KEY;
const NPM_DIR = process.env.VS_NPM_DIR || join(homedir(), '.cache', 'vecstore-e2e');
if (!URL_ || !KEY || !RO_KEY) {
  console.log('FAIL setup: VS_URL, VS_API_KEY and VS_RO_KEY must be set');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

let QdrantClient;
try {
  const require = createRequire(join(NPM_DIR, 'package.json'));
  // By path: the package's "exports" map does not expose package.json.
  const pkg = require(join(NPM_DIR, 'node_modules', '@qdrant', 'js-client-rest', 'package.json'));
  if (pkg.version !== '1.18.0') throw new Error(`found version ${pkg.version}, want 1.18.0`);
  ({ QdrantClient } = require('@qdrant/js-client-rest'));
} catch (e) {
  console.log(`FAIL setup: cannot load @qdrant/js-client-rest from ${NPM_DIR}: ${e.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// ------------------------------------------------------------------ harness -------

let passed = 0, failed = 0;
const t0 = Date.now();

// Every request the client makes is recorded (method, path, body, status, answer), so a
// failure can say what went over the wire.
const wire = [];
const pendingRoot = new Set();
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  const url = new URL(typeof input === 'string' ? input : input.url ?? String(input));
  const rec = {
    method: init.method ?? 'GET',
    path: url.pathname + url.search,
    body: typeof init.body === 'string' ? init.body : undefined,
  };
  wire.push(rec);
  if (wire.length > 200) wire.shift();
  const p = realFetch(input, init).then(
    (res) => {
      rec.status = res.status;
      // Read a copy of the answer before the client reads its own.
      rec.answer = res.clone().text().then((t) => (rec.text = t), () => {});
      return res;
    },
    (err) => {
      rec.error = String(err);
      throw err;
    },
  );
  if (url.pathname === '/') {
    // The client's version check runs in the background: remember it to wait for it.
    const done = p.then((r) => rec.answer, () => {}).catch(() => {});
    pendingRoot.add(done);
    done.finally(() => pendingRoot.delete(done));
  }
  return p;
};

const warnings = [];
const realWarn = console.warn;
console.warn = (...args) => {
  warnings.push(args.map(String).join(' '));
};
const attributed = new Set(); // warnings a version check already reported
const BENIGN_WARNING = /^Api key is used with unsecure connection\.$/;
const COMPAT_WARNING = /incompatible|Unable to check client-server compatibility|Failed to obtain server version/;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Creates a client and waits for its background version check (GET /) to finish;
// returns [client, the warnings it printed].
async function newClient(opts) {
  const before = warnings.length;
  const client = new QdrantClient({ url: URL_, checkCompatibility: true, ...opts });
  await sleep(0);
  await Promise.all([...pendingRoot]);
  await sleep(30); // the client's own .then on the answer
  const w = warnings.slice(before);
  for (let i = before; i < warnings.length; i++) attributed.add(i);
  return [client, w];
}

function clip(s, n = 300) {
  if (s === undefined) return '';
  s = String(s);
  return s.length > n ? s.slice(0, n) + `…(${s.length} bytes)` : s;
}

function lastRequest() {
  const r = wire[wire.length - 1];
  if (!r) return '';
  return ` [last request: ${r.method} ${r.path}${r.body ? ' ' + clip(r.body, 200) : ''} -> ` +
    `${r.status ?? r.error} ${clip(r.text, 200)}]`;
}

async function check(name, fn) {
  const mark = wire.length;
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    let why = e && e.message ? e.message : String(e);
    if (e && e.status !== undefined && !(e instanceof AssertionError))
      why = `${e.constructor?.name || 'ApiError'} status ${e.status}: ${clip(JSON.stringify(e.data))}`;
    console.log(`FAIL ${name}: ${why.replace(/\s*\n\s*/g, ' ')}${wire.length > mark ? lastRequest() : ''}`);
  }
}

class AssertionError extends Error {}
function assert(cond, msg) {
  if (!cond) throw new AssertionError(msg);
}
function eq(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) throw new AssertionError(`${what}: got ${clip(g, 400)}, want ${clip(w, 400)}`);
}
function near(got, want, tol, what) {
  if (!(typeof got === 'number' && Math.abs(got - want) <= tol))
    throw new AssertionError(`${what}: got ${got}, want ${want} ± ${tol}`);
}
// Runs fn, which must fail with an ApiError of the given HTTP status.
async function expectStatus(status, fn, what) {
  let res;
  try {
    res = await fn();
  } catch (e) {
    if (e && e.status === status) return e;
    throw new AssertionError(`${what}: want HTTP ${status}, got ${e && e.status !== undefined
      ? `HTTP ${e.status} ${clip(JSON.stringify(e.data))}` : `exception ${e}`}`);
  }
  throw new AssertionError(`${what}: want HTTP ${status}, but it succeeded: ${clip(JSON.stringify(res))}`);
}
// Payloads compared with sorted keys (JSON object order is not part of the contract).
function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = canon(v[k]);
    return o;
  }
  return v;
}
function eqPayload(got, want, what) {
  eq(canon(got ?? {}), canon(want ?? {}), what);
}

// ------------------------------------------------------------------ the data ------

// A fixed-seed generator: the same data every run.
function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(20240611);
const randVec = (d) => Array.from({ length: d }, () => Math.round((rnd() * 2 - 1) * 1e4) / 1e4);
const hex = (n) => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
const randUuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(rnd() * 4)]}${hex(3)}-${hex(12)}`;

const CITIES = ['Berlin', 'Paris', 'Tokyo', 'Lima', 'Oslo'];
const TAGS = ['a', 'b', 'c', 'd'];
const DIM = 8;
const N_NUM = 180, N_UUID = 20;

const suffix = Math.floor(Date.now() % 1e6).toString(36) + hex(4);
const COLL = `e2e_js_${suffix}`;
const NAMED = `e2e_js_named_${suffix}`;

// model: id -> {vector, payload}; ids are numbers or canonical (lowercase, hyphenated) UUIDs.
const model = new Map();
const points = [];
for (let i = 0; i < N_NUM + N_UUID; i++) {
  const id = i < N_NUM ? i + 1 : randUuid();
  const tags = TAGS.filter(() => rnd() < 0.4);
  const payload = { city: CITIES[Math.floor(rnd() * CITIES.length)], n: i, tags };
  const vector = randVec(DIM);
  points.push({ id, vector, payload });
  model.set(id, { vector, payload: structuredClone(payload) });
}
const uuids = points.filter((p) => typeof p.id === 'string').map((p) => p.id);

const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (a) => Math.sqrt(dot(a, a));
const cosine = (a, b) => dot(a, b) / (norm(a) * norm(b));
const euclid = (a, b) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0));
const normalize = (a) => {
  const n = norm(a);
  return a.map((x) => x / n);
};

// Qdrant's filter semantics over the model's payloads.
function values(payload, key) {
  if (!payload || !(key in payload)) return [];
  const v = payload[key];
  return Array.isArray(v) ? v : [v];
}
function cond(payload, c) {
  if (c.must || c.should || c.must_not) return matches(payload, c); // nested filter
  const vs = values(payload, c.key);
  if (c.match && 'value' in c.match) return vs.some((v) => v === c.match.value);
  if (c.match && 'any' in c.match) return vs.some((v) => c.match.any.includes(v));
  if (c.match && 'except' in c.match) return vs.some((v) => !c.match.except.includes(v));
  if (c.range) {
    const r = c.range;
    return vs.some((v) => typeof v === 'number' &&
      (r.gt === undefined || v > r.gt) && (r.gte === undefined || v >= r.gte) &&
      (r.lt === undefined || v < r.lt) && (r.lte === undefined || v <= r.lte));
  }
  throw new Error(`model: unsupported condition ${JSON.stringify(c)}`);
}
function matches(payload, f) {
  if (!f) return true;
  if (f.must && !f.must.every((c) => cond(payload, c))) return false;
  if (f.should && f.should.length && !f.should.some((c) => cond(payload, c))) return false;
  if (f.must_not && f.must_not.some((c) => cond(payload, c))) return false;
  return true;
}
const modelCount = (f) => [...model.values()].filter((p) => matches(p.payload, f)).length;

// Brute force: every point of the model passing f, best first.
function brute(q, f, { score = cosine, higherBetter = true, vectorOf = (p) => p.vector } = {}) {
  const hits = [];
  for (const [id, p] of model) if (matches(p.payload, f)) hits.push({ id, score: score(q, vectorOf(p)) });
  hits.sort((a, b) => (higherBetter ? b.score - a.score : a.score - b.score));
  return hits;
}

// The server's hits must be the expected ones in the expected order. Two ids may only
// trade places where the model's scores tie (within 1e-6); each score within 1e-4.
function sameHits(got, want, what, scoreOf) {
  assert(Array.isArray(got), `${what}: the answer is not a list: ${clip(JSON.stringify(got))}`);
  eq(got.length, want.length, `${what}: number of hits`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    if (g.id !== want[i].id) {
      const gs = scoreOf(g.id);
      assert(gs !== undefined && Math.abs(gs - want[i].score) <= 1e-6,
        `${what}: hit ${i} is ${JSON.stringify(g.id)} (score ${g.score}), want ${JSON.stringify(want[i].id)} ` +
        `(score ${want[i].score}); got ids ${JSON.stringify(got.map((h) => h.id))}, want ` +
        `${JSON.stringify(want.map((h) => h.id))}`);
    }
    near(g.score, want[i].score, 1e-4, `${what}: score of hit ${i} (id ${JSON.stringify(g.id)})`);
  }
}
const cosScoreOf = (q) => (id) => (model.has(id) ? cosine(q, model.get(id).vector) : undefined);

// Checks hits of a search on COLL against the model: exact ranking, and payloads if asked.
function checkSearch(got, q, f, { limit = 10, offset = 0, threshold, withPayload } = {}, what = 'hits') {
  let want = brute(q, f);
  if (threshold !== undefined) want = want.filter((h) => h.score >= threshold);
  want = want.slice(offset, offset + limit);
  sameHits(got, want, what, cosScoreOf(q));
  for (const h of got) {
    assert(model.has(h.id), `${what}: unknown id ${JSON.stringify(h.id)}`);
    if (withPayload) eqPayload(h.payload, model.get(h.id).payload, `${what}: payload of ${JSON.stringify(h.id)}`);
    if (f) assert(matches(model.get(h.id).payload, f), `${what}: id ${JSON.stringify(h.id)} does not pass the filter`);
  }
}

// ------------------------------------------------------------------ the checks ----

const FILTER = {
  must: [
    { key: 'city', match: { any: ['Berlin', 'Tokyo', 'Lima', 'Paris'] } },
    { key: 'n', range: { gte: 10, lt: 170 } },
  ],
  should: [
    { key: 'tags', match: { value: 'a' } },
    { key: 'tags', match: { value: 'b' } },
  ],
  must_not: [{ key: 'city', match: { value: 'Paris' } }],
};

let client, ro;

await check('client version check: no compatibility warning (GET / with the key)', async () => {
  let w;
  [client, w] = await newClient({ apiKey: KEY });
  const bad = w.filter((x) => COMPAT_WARNING.test(x));
  assert(bad.length === 0, `warned: ${bad.join(' | ')}`);
  const root = wire.find((r) => r.method === 'GET' && r.path === '/');
  assert(root && root.status === 200, `GET / answered ${root && root.status}`);
  eq(JSON.parse(root.text).version, '1.18.0', 'GET / version');
});

await check('versionInfo', async () => {
  const v = await client.versionInfo();
  eq(v.version, '1.18.0', 'version');
  assert(typeof v.title === 'string' && v.title.length > 0, 'title missing');
});

await check('createCollection (unnamed vectors, 8-d Cosine)', async () => {
  const r = await client.createCollection(COLL, { vectors: { size: DIM, distance: 'Cosine' } });
  eq(r, true, 'result');
});

await check('createCollection (named vectors text/Dot, image/Euclid)', async () => {
  const r = await client.createCollection(NAMED, {
    vectors: { text: { size: 4, distance: 'Dot' }, image: { size: 3, distance: 'Euclid' } },
  });
  eq(r, true, 'result');
});

await check('collectionExists', async () => {
  eq(await client.collectionExists(COLL), { exists: true }, COLL);
  eq(await client.collectionExists(NAMED), { exists: true }, NAMED);
  eq(await client.collectionExists(`missing_${suffix}`), { exists: false }, 'a missing collection');
});

await check('getCollections', async () => {
  const r = await client.getCollections();
  const names = r.collections.map((c) => c.name);
  assert(names.includes(COLL) && names.includes(NAMED), `names: ${JSON.stringify(names)}`);
  eq(new Set(names).size, names.length, 'names are unique');
});

await check('getCollection (empty: config, points_count 0)', async () => {
  const r = await client.getCollection(COLL);
  eq(r.points_count, 0, 'points_count');
  eq(r.config.params.vectors.size, DIM, 'vectors.size');
  eq(r.config.params.vectors.distance, 'Cosine', 'vectors.distance');
  assert(['green', 'yellow', 'grey'].includes(r.status), `status ${r.status}`);
  const n = await client.getCollection(NAMED);
  eq(n.config.params.vectors.text.size, 4, 'text.size');
  eq(n.config.params.vectors.text.distance, 'Dot', 'text.distance');
  eq(n.config.params.vectors.image.size, 3, 'image.size');
  eq(n.config.params.vectors.image.distance, 'Euclid', 'image.distance');
});

await check(`upsert ${points.length} points (wait: true; numeric and UUID ids)`, async () => {
  const r = await client.upsert(COLL, { wait: true, points });
  eq(r.status, 'completed', 'status');
  assert(Number.isInteger(r.operation_id), `operation_id ${r.operation_id}`);
});

await check('getCollection points_count after upsert', async () => {
  const r = await client.getCollection(COLL);
  eq(r.points_count, model.size, 'points_count');
});

await check('retrieve (numeric + UUID ids, a missing id; payload and vector)', async () => {
  const ids = [1, 2, uuids[0], uuids[7], 100000];
  const r = await client.retrieve(COLL, { ids, with_payload: true, with_vector: true });
  const want = ids.filter((id) => model.has(id));
  eq(r.map((p) => p.id).sort(), [...want].sort(), 'ids returned');
  for (const p of r) {
    eqPayload(p.payload, model.get(p.id).payload, `payload of ${p.id}`);
    // Qdrant stores Cosine vectors normalised and returns them so.
    const v = normalize(model.get(p.id).vector);
    assert(Array.isArray(p.vector) && p.vector.length === DIM, `vector of ${p.id}: ${JSON.stringify(p.vector)}`);
    p.vector.forEach((x, i) => near(x, v[i], 1e-5, `vector of ${p.id}[${i}]`));
  }
  const bare = await client.retrieve(COLL, { ids: [3], with_payload: false });
  eq(bare.length, 1, 'with_payload false: one point');
  assert(bare[0].payload == null, `with_payload false: payload ${JSON.stringify(bare[0].payload)}`);
  assert(bare[0].vector == null, `with_vector default: vector ${JSON.stringify(bare[0].vector)}`);
});

const Q1 = randVec(DIM), Q2 = randVec(DIM), Q3 = randVec(DIM);

await check('search exact (no filter): ids/order/scores = brute-force cosine', async () => {
  const r = await client.search(COLL, { vector: Q1, limit: 10, params: { exact: true } });
  checkSearch(r, Q1, null, { limit: 10, withPayload: true }); // with_payload defaults to true in the client
});

await check('search exact with filter must/should/must_not, match value/any, range', async () => {
  const want = brute(Q2, FILTER);
  assert(want.length >= 15 && want.length < model.size / 2, `model: the filter passes ${want.length} points`);
  const r = await client.search(COLL, { vector: Q2, filter: FILTER, limit: 15, with_payload: true, params: { exact: true } });
  checkSearch(r, Q2, FILTER, { limit: 15, withPayload: true });
});

await check('search exact limit/offset pages', async () => {
  const all = await client.search(COLL, { vector: Q3, limit: 12, params: { exact: true } });
  checkSearch(all, Q3, null, { limit: 12 });
  const page = await client.search(COLL, { vector: Q3, limit: 5, offset: 4, with_payload: false, params: { exact: true } });
  checkSearch(page, Q3, null, { limit: 5, offset: 4 });
  eq(page.map((h) => h.id), all.slice(4, 9).map((h) => h.id), 'page = slice of the full ranking');
  for (const h of page) assert(h.payload == null, `with_payload false: payload ${JSON.stringify(h.payload)}`);
});

await check('search score_threshold', async () => {
  const b = brute(Q1, null);
  const k = 7; // cut between the 7th and 8th best: 7 hits pass
  const threshold = (b[k - 1].score + b[k].score) / 2;
  const r = await client.search(COLL, { vector: Q1, limit: 50, score_threshold: threshold, params: { exact: true } });
  checkSearch(r, Q1, null, { limit: 50, threshold });
  eq(r.length, k, 'hits above the threshold');
  for (const h of r) assert(h.score >= threshold, `score ${h.score} < threshold ${threshold}`);
});

await check('search (index, no exact flag) with filter: hits valid, recall >= 0.9', async () => {
  const r = await client.search(COLL, { vector: Q3, filter: FILTER, limit: 10 });
  const want = brute(Q3, FILTER).slice(0, 10);
  eq(r.length, want.length, 'number of hits');
  const so = cosScoreOf(Q3);
  for (let i = 0; i < r.length; i++) {
    assert(model.has(r[i].id) && matches(model.get(r[i].id).payload, FILTER), `hit ${JSON.stringify(r[i].id)} fails the filter`);
    near(r[i].score, so(r[i].id), 1e-4, `score of ${JSON.stringify(r[i].id)}`);
    if (i) assert(r[i - 1].score >= r[i].score, 'hits not sorted by score');
  }
  const got = new Set(r.map((h) => h.id));
  const recall = want.filter((h) => got.has(h.id)).length / want.length;
  assert(recall >= 0.9, `recall ${recall}`);
});

await check('searchBatch (plain + filtered, in request order)', async () => {
  const r = await client.searchBatch(COLL, {
    searches: [
      { vector: Q1, limit: 4, params: { exact: true } },
      { vector: Q2, filter: FILTER, limit: 6, with_payload: true, params: { exact: true } },
      { vector: Q3, limit: 3, offset: 2, params: { exact: true } },
    ],
  });
  eq(r.length, 3, 'number of answers');
  checkSearch(r[0], Q1, null, { limit: 4 }, 'searches[0]');
  checkSearch(r[1], Q2, FILTER, { limit: 6, withPayload: true }, 'searches[1]');
  checkSearch(r[2], Q3, null, { limit: 3, offset: 2 }, 'searches[2]');
});

await check('query (query: vector)', async () => {
  const r = await client.query(COLL, { query: Q1, limit: 8, params: { exact: true } });
  assert(r && Array.isArray(r.points), `answer ${clip(JSON.stringify(r))}`);
  checkSearch(r.points, Q1, null, { limit: 8 });
});

await check('query with filter, with_payload, offset', async () => {
  const r = await client.query(COLL, { query: Q2, filter: FILTER, limit: 5, offset: 2, with_payload: true, params: { exact: true } });
  checkSearch(r.points, Q2, FILTER, { limit: 5, offset: 2, withPayload: true });
});

await check('query by point id (the point itself is left out)', async () => {
  const id = 42;
  const r = await client.query(COLL, { query: id, limit: 5, params: { exact: true } });
  const q = model.get(id).vector;
  const want = brute(q, null).filter((h) => h.id !== id).slice(0, 5);
  sameHits(r.points, want, 'hits', cosScoreOf(q));
});

await check('queryBatch', async () => {
  const r = await client.queryBatch(COLL, {
    searches: [
      { query: Q3, limit: 4, params: { exact: true } },
      { query: Q1, filter: FILTER, limit: 6, with_payload: true, params: { exact: true } },
    ],
  });
  eq(r.length, 2, 'number of answers');
  checkSearch(r[0].points, Q3, null, { limit: 4 }, 'searches[0]');
  checkSearch(r[1].points, Q1, FILTER, { limit: 6, withPayload: true }, 'searches[1]');
});

async function scrollAll(f, limit = 37) {
  const seen = new Map();
  let offset, pages = 0;
  for (;;) {
    const r = await client.scroll(COLL, { limit, offset, filter: f, with_payload: true });
    pages++;
    assert(r.points.length <= limit, `page ${pages}: ${r.points.length} points > limit ${limit}`);
    for (const p of r.points) {
      assert(!seen.has(p.id), `id ${JSON.stringify(p.id)} seen twice (page ${pages})`);
      seen.set(p.id, p.payload);
    }
    if (r.next_page_offset === null || r.next_page_offset === undefined) break;
    assert(pages < 100, 'scroll does not end');
    offset = r.next_page_offset;
  }
  return { seen, pages };
}

await check('scroll all points with pagination (limit 37, next_page_offset)', async () => {
  const { seen, pages } = await scrollAll(undefined);
  eq(seen.size, model.size, 'points seen');
  for (const id of model.keys()) assert(seen.has(id), `id ${JSON.stringify(id)} never seen`);
  eq(pages, Math.ceil(model.size / 37), 'pages');
  for (const [id, p] of seen) eqPayload(p, model.get(id).payload, `payload of ${JSON.stringify(id)}`);
});

await check('scroll with filter', async () => {
  const { seen } = await scrollAll(FILTER, 10);
  const want = [...model.keys()].filter((id) => matches(model.get(id).payload, FILTER));
  eq(seen.size, want.length, 'points seen');
  for (const id of want) assert(seen.has(id), `id ${JSON.stringify(id)} never seen`);
});

await check('count with and without filter', async () => {
  eq((await client.count(COLL, {})).count, model.size, 'count');
  eq((await client.count(COLL, { filter: FILTER, exact: true })).count, modelCount(FILTER), 'count(FILTER)');
  const f2 = { must: [{ key: 'tags', match: { any: ['c'] } }], must_not: [{ key: 'n', range: { lt: 50 } }] };
  eq((await client.count(COLL, { filter: f2 })).count, modelCount(f2), 'count(f2)');
});

await check('setPayload (merge) then retrieve', async () => {
  const ids = [1, uuids[1]];
  const r = await client.setPayload(COLL, { points: ids, payload: { extra: 'x', n: 999 }, wait: true });
  eq(r.status, 'completed', 'status');
  for (const id of ids) Object.assign(model.get(id).payload, { extra: 'x', n: 999 });
  const got = await client.retrieve(COLL, { ids });
  eq(got.length, 2, 'points');
  for (const p of got) eqPayload(p.payload, model.get(p.id).payload, `payload of ${p.id}`);
});

await check('setPayload by filter then count', async () => {
  const f = { must: [{ key: 'city', match: { value: 'Oslo' } }] };
  await client.setPayload(COLL, { filter: f, payload: { north: true }, wait: true });
  for (const p of model.values()) if (matches(p.payload, f)) p.payload.north = true;
  const fn = { must: [{ key: 'north', match: { value: true } }] };
  const want = modelCount(fn);
  assert(want > 0, 'model: no Oslo points');
  eq((await client.count(COLL, { filter: fn })).count, want, 'count(north)');
});

await check('overwritePayload then retrieve', async () => {
  await client.overwritePayload(COLL, { points: [3], payload: { only: 1, tags: ['z'] }, wait: true });
  model.get(3).payload = { only: 1, tags: ['z'] };
  const [p] = await client.retrieve(COLL, { ids: [3] });
  eqPayload(p.payload, model.get(3).payload, 'payload of 3');
});

await check('deletePayload (keys) then retrieve', async () => {
  await client.deletePayload(COLL, { points: [1, uuids[1]], keys: ['extra', 'tags'], wait: true });
  for (const id of [1, uuids[1]]) {
    delete model.get(id).payload.extra;
    delete model.get(id).payload.tags;
  }
  const got = await client.retrieve(COLL, { ids: [1, uuids[1]] });
  for (const p of got) eqPayload(p.payload, model.get(p.id).payload, `payload of ${p.id}`);
});

await check('clearPayload then retrieve', async () => {
  await client.clearPayload(COLL, { points: [4, uuids[2]], wait: true });
  model.get(4).payload = {};
  model.get(uuids[2]).payload = {};
  const got = await client.retrieve(COLL, { ids: [4, uuids[2]] });
  eq(got.length, 2, 'points');
  for (const p of got) eqPayload(p.payload, {}, `payload of ${p.id}`);
});

await check('filtered search after the payload changes', async () => {
  const r = await client.search(COLL, { vector: Q1, filter: FILTER, limit: 20, params: { exact: true } });
  checkSearch(r, Q1, FILTER, { limit: 20, withPayload: true });
});

await check('createPayloadIndex keyword (city) and integer (n)', async () => {
  const a = await client.createPayloadIndex(COLL, { field_name: 'city', field_schema: 'keyword', wait: true });
  eq(a.status, 'completed', 'city: status');
  const b = await client.createPayloadIndex(COLL, { field_name: 'n', field_schema: 'integer', wait: true });
  eq(b.status, 'completed', 'n: status');
});

await check('getCollection shows payload_schema', async () => {
  const r = await client.getCollection(COLL);
  const s = r.payload_schema;
  assert(s && s.city && s.n, `payload_schema ${clip(JSON.stringify(s))}`);
  eq(s.city.data_type, 'keyword', 'city.data_type');
  eq(s.n.data_type, 'integer', 'n.data_type');
  const has = (k) => [...model.values()].filter((p) => values(p.payload, k).length > 0).length;
  eq(s.city.points, has('city'), 'city.points');
  eq(s.n.points, has('n'), 'n.points');
});

await check('filtered search, count and scroll still correct with the payload indexes', async () => {
  for (const [q, f] of [[Q1, FILTER], [Q2, { must: [{ key: 'n', range: { gt: 30, lte: 120 } }, { key: 'city', match: { value: 'Tokyo' } }] }]]) {
    const r = await client.search(COLL, { vector: q, filter: f, limit: 10, params: { exact: true } });
    checkSearch(r, q, f, { limit: 10, withPayload: true });
    const ix = await client.search(COLL, { vector: q, filter: f, limit: 10 });
    const got = new Set(ix.map((h) => h.id));
    const want = brute(q, f).slice(0, 10);
    eq(ix.length, want.length, 'indexed search: number of hits');
    assert(want.filter((h) => got.has(h.id)).length / want.length >= 0.9, 'indexed search: recall < 0.9');
    eq((await client.count(COLL, { filter: f })).count, modelCount(f), `count(${JSON.stringify(f)})`);
  }
});

await check('delete by ids then count', async () => {
  const ids = [5, 6, 7, uuids[3], 123456789];
  const r = await client.delete(COLL, { wait: true, points: ids });
  eq(r.status, 'completed', 'status');
  for (const id of ids) model.delete(id);
  eq((await client.count(COLL)).count, model.size, 'count');
  eq((await client.retrieve(COLL, { ids: [5, uuids[3]] })).length, 0, 'deleted points retrieved');
});

await check('delete by filter then count', async () => {
  const f = { must: [{ key: 'city', match: { value: 'Lima' } }, { key: 'n', range: { lt: 100 } }] };
  const doomed = modelCount(f);
  assert(doomed > 0, 'model: the filter selects nothing');
  await client.delete(COLL, { wait: true, filter: f });
  for (const [id, p] of [...model]) if (matches(p.payload, f)) model.delete(id);
  eq((await client.count(COLL, { filter: f })).count, 0, 'count(filter)');
  eq((await client.count(COLL)).count, model.size, 'count');
  eq((await client.getCollection(COLL)).points_count, model.size, 'points_count');
  const r = await client.search(COLL, { vector: Q2, limit: 10, params: { exact: true } });
  checkSearch(r, Q2, null, { limit: 10, withPayload: true }, 'search after delete');
});

// Named vectors.
const named = new Map();
const namedPoints = Array.from({ length: 60 }, (_, i) => {
  const p = { id: 1000 + i, vector: { text: randVec(4), image: randVec(3) }, payload: { kind: i % 3 } };
  named.set(p.id, p);
  return p;
});

await check('named vectors: upsert', async () => {
  const r = await client.upsert(NAMED, { wait: true, points: namedPoints });
  eq(r.status, 'completed', 'status');
  eq((await client.count(NAMED)).count, namedPoints.length, 'count');
});

function bruteNamed(q, field, f) {
  const euclidean = field === 'image';
  const hits = [...named.values()]
    .filter((p) => !f || p.payload.kind === f)
    .map((p) => ({ id: p.id, score: euclidean ? euclid(q, p.vector.image) : dot(q, p.vector.text) }));
  hits.sort((a, b) => (euclidean ? a.score - b.score : b.score - a.score));
  return hits;
}
const namedScoreOf = (q, field) => (id) =>
  named.has(id) ? (field === 'image' ? euclid(q, named.get(id).vector.image) : dot(q, named.get(id).vector.text)) : undefined;

await check("named vectors: search {name: 'image'} (Euclid: distance, ascending)", async () => {
  const q = randVec(3);
  const r = await client.search(NAMED, { vector: { name: 'image', vector: q }, limit: 7, params: { exact: true } });
  sameHits(r, bruteNamed(q, 'image').slice(0, 7), 'hits', namedScoreOf(q, 'image'));
});

await check("named vectors: search {name: 'text'} (Dot)", async () => {
  const q = randVec(4);
  const r = await client.search(NAMED, { vector: { name: 'text', vector: q }, limit: 6, params: { exact: true } });
  sameHits(r, bruteNamed(q, 'text').slice(0, 6), 'hits', namedScoreOf(q, 'text'));
});

await check("named vectors: query with using 'text' and 'image' (+ filter)", async () => {
  const qt = randVec(4), qi = randVec(3);
  const a = await client.query(NAMED, { query: qt, using: 'text', limit: 5, params: { exact: true } });
  sameHits(a.points, bruteNamed(qt, 'text').slice(0, 5), 'text', namedScoreOf(qt, 'text'));
  const f = { must: [{ key: 'kind', match: { value: 1 } }] };
  const b = await client.query(NAMED, { query: qi, using: 'image', filter: f, limit: 5, params: { exact: true } });
  sameHits(b.points, bruteNamed(qi, 'image', 1).slice(0, 5), 'image+filter', namedScoreOf(qi, 'image'));
});

await check('named vectors: retrieve with_vector returns both vectors', async () => {
  const [p] = await client.retrieve(NAMED, { ids: [1003], with_vector: true });
  const m = named.get(1003);
  assert(p && p.vector && p.vector.text && p.vector.image, `vector ${clip(JSON.stringify(p && p.vector))}`);
  m.vector.text.forEach((x, i) => near(p.vector.text[i], x, 1e-6, `text[${i}]`));
  m.vector.image.forEach((x, i) => near(p.vector.image[i], x, 1e-6, `image[${i}]`));
});

// Snapshots.
await check('createSnapshot / listSnapshots / deleteSnapshot', async () => {
  const s = await client.createSnapshot(COLL);
  assert(s && typeof s.name === 'string' && s.name.length > 0, `createSnapshot answered ${clip(JSON.stringify(s))}`);
  assert(typeof s.size === 'number' && s.size > 0, `snapshot size ${s.size}`);
  const list = await client.listSnapshots(COLL);
  const mine = list.find((x) => x.name === s.name);
  assert(mine, `${s.name} not listed: ${clip(JSON.stringify(list))}`);
  eq(mine.size, s.size, 'listed size');
  eq(await client.deleteSnapshot(COLL, s.name), true, 'deleteSnapshot');
  const after = await client.listSnapshots(COLL);
  assert(!after.some((x) => x.name === s.name), `${s.name} still listed after delete`);
  await expectStatus(404, () => client.deleteSnapshot(COLL, s.name), 'deleting it again');
});

// Snapshot download and upload, as Qdrant's Python client does it (the JS client has no
// upload method): multipart/form-data with the archive in the field "snapshot".
await check('snapshot download (SHA-256 = listed checksum) and multipart upload into a new collection', async () => {
  const s = await client.createSnapshot(COLL);
  assert(/^[0-9a-f]{64}$/.test(s.checksum || ''), `checksum ${s.checksum}`);
  const hdr = { 'api-key': KEY };
  const dl = await realFetch(`${URL_}/collections/${COLL}/snapshots/${s.name}`, { headers: hdr });
  eq(dl.status, 200, 'download status');
  const bytes = Buffer.from(await dl.arrayBuffer());
  eq(bytes.length, s.size, 'downloaded size');
  const { createHash } = await import('node:crypto');
  eq(createHash('sha256').update(bytes).digest('hex'), s.checksum, 'SHA-256 of the download');
  const target = `${COLL}_up`;
  const upload = (checksum, key = KEY) => {
    const form = new FormData();
    form.append('snapshot', new Blob([bytes]), s.name);
    return realFetch(`${URL_}/collections/${target}/snapshots/upload?checksum=${checksum}`,
      { method: 'POST', headers: { 'api-key': key }, body: form });
  };
  const bad = await upload('0'.repeat(64));
  eq(bad.status, 400, 'upload with a wrong checksum');
  eq((await client.collectionExists(target)).exists, false, 'nothing created by the refused upload');
  eq((await upload(s.checksum, RO_KEY)).status, 403, 'upload with the read-only key');
  const ok = await upload(s.checksum);
  eq(ok.status, 200, `upload: ${await ok.clone().text()}`);
  eq((await ok.json()).result, true, 'upload result');
  eq((await client.count(target, { exact: true })).count, model.size, 'points in the uploaded collection');
  const probe = points.find((p) => model.has(p.id));
  const got = await client.retrieve(target, { ids: [probe.id], with_payload: true });
  eq(canon(got[0].payload), canon(model.get(probe.id).payload), 'a point\'s payload after the upload');
  eq(await client.deleteCollection(target), true, 'deleteCollection');
  eq(await client.deleteSnapshot(COLL, s.name), true, 'deleteSnapshot');
});

// Authentication and authorisation.
await check('auth: a client without a key gets 401', async () => {
  const c = new QdrantClient({ url: URL_, checkCompatibility: false });
  await expectStatus(401, () => c.getCollections(), 'getCollections');
  await expectStatus(401, () => c.search(COLL, { vector: Q1, limit: 3 }), 'search');
  await expectStatus(401, () => c.upsert(COLL, { wait: true, points: [{ id: 77777, vector: Q1 }] }), 'upsert');
});

await check('auth: a client with a wrong key gets 401', async () => {
  const c = new QdrantClient({ url: URL_, apiKey: KEY + 'x', checkCompatibility: false });
  await expectStatus(401, () => c.getCollections(), 'getCollections');
  await expectStatus(401, () => c.count(COLL, {}), 'count');
  await expectStatus(401, () => c.createCollection(`nope_${suffix}`, { vectors: { size: 2, distance: 'Dot' } }), 'createCollection');
});

await check('auth: GET / (version check) needs no key, as in Qdrant (client without a key)', async () => {
  const [, w] = await newClient({});
  const root = [...wire].reverse().find((r) => r.method === 'GET' && r.path === '/');
  const bad = w.filter((x) => COMPAT_WARNING.test(x));
  const why = [];
  if (!root || root.status !== 200) why.push(`GET / without a key answered ${root && root.status} ${clip(root && root.text)}`);
  if (bad.length) why.push(`the client warned: ${bad.join(' | ')}`);
  assert(why.length === 0, why.join('; '));
});

await check('auth: read-only key: version check without warning', async () => {
  let w;
  [ro, w] = await newClient({ apiKey: RO_KEY });
  const bad = w.filter((x) => COMPAT_WARNING.test(x));
  assert(bad.length === 0, `warned: ${bad.join(' | ')}`);
});

await check('auth: read-only key can read (search, count, scroll, retrieve, getCollection)', async () => {
  const r = await ro.search(COLL, { vector: Q1, limit: 5, params: { exact: true } });
  checkSearch(r, Q1, null, { limit: 5, withPayload: true });
  eq((await ro.count(COLL, { filter: FILTER })).count, modelCount(FILTER), 'count');
  eq((await ro.scroll(COLL, { limit: 3 })).points.length, 3, 'scroll');
  const some = [...model.keys()].slice(0, 3);
  const got = await ro.retrieve(COLL, { ids: some });
  eq(got.map((p) => p.id).sort(), [...some].sort(), 'retrieve');
  eq((await ro.getCollection(COLL)).points_count, model.size, 'points_count');
});

await check('auth: read-only key cannot write (403)', async () => {
  await expectStatus(403, () => ro.upsert(COLL, { wait: true, points: [{ id: 77777, vector: Q1 }] }), 'upsert');
  await expectStatus(403, () => ro.createCollection(`nope_${suffix}`, { vectors: { size: 2, distance: 'Dot' } }), 'createCollection');
  await expectStatus(403, () => ro.delete(COLL, { wait: true, points: [10] }), 'delete');
  await expectStatus(403, () => ro.setPayload(COLL, { points: [10], payload: { a: 1 } }), 'setPayload');
  await expectStatus(403, () => ro.deleteCollection(COLL), 'deleteCollection');
  // Nothing changed.
  eq((await client.count(COLL)).count, model.size, 'count');
  eq((await client.retrieve(COLL, { ids: [77777] })).length, 0, 'the read-only upsert landed');
  eq((await client.collectionExists(`nope_${suffix}`)).exists, false, 'the read-only createCollection landed');
});

// Errors.
await check('errors: search on a missing collection -> 404', async () => {
  await expectStatus(404, () => client.search(`missing_${suffix}`, { vector: Q1, limit: 3 }), 'search');
  await expectStatus(404, () => client.getCollection(`missing_${suffix}`), 'getCollection');
});

await check('errors: upsert with the wrong dimension -> 400 (nothing written)', async () => {
  const e = await expectStatus(400, () => client.upsert(COLL, { wait: true, points: [{ id: 88888, vector: randVec(DIM - 1) }] }), 'upsert 7-d');
  assert(e.data && e.data.status && typeof e.data.status.error === 'string', `error body ${clip(JSON.stringify(e.data))}`);
  await expectStatus(400, () => client.upsert(NAMED, { wait: true, points: [{ id: 88888, vector: { text: randVec(5), image: randVec(3) } }] }), 'upsert named 5-d text');
  eq((await client.retrieve(COLL, { ids: [88888] })).length, 0, 'the bad point landed');
});

await check('errors: search with the wrong dimension -> 400', async () => {
  await expectStatus(400, () => client.search(COLL, { vector: randVec(DIM + 1), limit: 3 }), 'search 9-d');
});

await check('errors: createCollection twice -> 409', async () => {
  await expectStatus(409, () => client.createCollection(COLL, { vectors: { size: DIM, distance: 'Cosine' } }), 'second create');
  eq((await client.getCollection(COLL)).points_count, model.size, 'the collection is untouched');
});

await check('deleteCollection (both) and they are gone', async () => {
  eq(await client.deleteCollection(COLL), true, `delete ${COLL}`);
  eq(await client.deleteCollection(NAMED), true, `delete ${NAMED}`);
  eq((await client.collectionExists(COLL)).exists, false, `${COLL} exists`);
  const names = (await client.getCollections()).collections.map((c) => c.name);
  assert(!names.includes(COLL) && !names.includes(NAMED), `still listed: ${JSON.stringify(names)}`);
  await expectStatus(404, () => client.deleteCollection(COLL), 'deleting it again');
});

await check('no unexpected console warnings from the client', async () => {
  const bad = warnings.filter((w, i) => !attributed.has(i) && !BENIGN_WARNING.test(w));
  assert(bad.length === 0, bad.join(' | '));
});

console.warn = realWarn;
globalThis.fetch = realFetch;
console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s, ${passed + failed} checks`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
