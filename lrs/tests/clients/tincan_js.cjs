// Drives the LRS with TinCanJS (npm `tincanjs`, Rustici's browser/Node library), unchanged.
// Run by lrs/tests/clients.rs with LRS_ENDPOINT, LRS_KEY, LRS_SECRET set. TinCanJS speaks the
// 1.0.x family (it sends X-Experience-API-Version: 1.0.2). Exits non-zero on the first failure.
"use strict";
const TinCan = require("tincanjs");
const assert = require("node:assert/strict");
const { randomUUID } = require("node:crypto");

const lrs = new TinCan.LRS({
  endpoint: process.env.LRS_ENDPOINT + "/",
  username: process.env.LRS_KEY,
  password: process.env.LRS_SECRET,
  allowFail: false,
});

// TinCanJS takes node-style callbacks; `call(fn, …)` turns one call into a promise.
function call(method, ...args) {
  return new Promise((resolve, reject) => {
    const cfg = args.pop() || {};
    cfg.callback = (err, result) => (err ? reject(new Error(`${method}: ${err}`)) : resolve(result));
    lrs[method](...args, cfg);
  });
}

(async () => {
  const registration = randomUUID();
  const actor = new TinCan.Agent({ name: "佐藤 一郎", mbox: `mailto:ichiro-${registration}@example.ed.jp` });
  const verb = new TinCan.Verb({ id: "http://adlnet.gov/expapi/verbs/completed", display: { "ja-JP": "完了した" } });
  const statements = Array.from({ length: 12 }, (_, i) => new TinCan.Statement({
    id: randomUUID(),
    actor,
    verb,
    target: new TinCan.Activity({ id: `https://example.ed.jp/ebook/kokugo/3/chapter${i}` }),
    context: new TinCan.Context({ registration }),
  }));

  await call("saveStatements", statements, {});

  // Query 5 per page and follow `more`.
  const seen = new Set();
  let result = await call("queryStatements", { params: { agent: actor, registration, limit: 5 } });
  let pages = 1;
  for (;;) {
    for (const s of result.statements) seen.add(s.id);
    if (!result.more) break;
    result = await call("moreStatements", { url: result.more });
    pages += 1;
  }
  assert.equal(seen.size, 12, "every saved statement found through paging");
  assert.ok(pages >= 3, `12 statements at limit 5 take 3 pages, took ${pages}`);
  for (const s of statements) assert.ok(seen.has(s.id), `saved id ${s.id} found`);

  const back = await call("retrieveStatement", statements[0].id, {});
  assert.equal(back.id, statements[0].id);

  // Void the first one.
  const voiding = new TinCan.Statement({
    actor,
    verb: new TinCan.Verb({ id: "http://adlnet.gov/expapi/verbs/voided" }),
    target: new TinCan.StatementRef({ id: statements[0].id }),
  });
  await call("saveStatement", voiding, {});
  const voided = await call("retrieveVoidedStatement", statements[0].id, {});
  assert.equal(voided.id, statements[0].id);

  // State: save, read (with its etag), overwrite with If-Match, list ids, drop.
  const activity = new TinCan.Activity({ id: "https://example.ed.jp/ebook/kokugo/3" });
  await call("saveState", "position", { chapter: 2 }, { activity, agent: actor, registration, contentType: "application/json" });
  let state = await call("retrieveState", "position", { activity, agent: actor, registration });
  assert.deepEqual(state.contents, { chapter: 2 });
  await call("saveState", "position", { chapter: 3 }, { activity, agent: actor, registration, contentType: "application/json", lastSHA1: state.etag });
  state = await call("retrieveState", "position", { activity, agent: actor, registration });
  assert.deepEqual(state.contents, { chapter: 3 });
  const ids = await call("retrieveStateIds", { activity, agent: actor, registration });
  assert.deepEqual(ids, ["position"]);
  await call("dropState", "position", { activity, agent: actor, registration });
  state = await call("retrieveState", "position", { activity, agent: actor, registration });
  assert.equal(state, null, "a dropped state is gone");

  console.log(`tincanjs: ok (12 saved, ${pages} pages, voided, state round trip)`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
