// Drives the LRS with the `@xapi/xapi` client library, unchanged, as a learning tool would.
// Run by lrs/tests/clients.rs with LRS_ENDPOINT, LRS_KEY, LRS_SECRET and LRS_XAPI_VERSION set.
// Exits non-zero (with the reason) on the first expectation the LRS does not meet.
import XAPI from "@xapi/xapi";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

const version = process.env.LRS_XAPI_VERSION;
const xapi = new XAPI({
  endpoint: process.env.LRS_ENDPOINT,
  auth: XAPI.toBasicAuth(process.env.LRS_KEY, process.env.LRS_SECRET),
  version,
});

const registration = randomUUID();
const learner = { objectType: "Agent", name: "山田 花子", mbox: `mailto:hanako-${registration}@example.ed.jp` };
const drill = "https://example.ed.jp/drill/math/6/fractions";
const statements = Array.from({ length: 25 }, (_, i) => ({
  actor: learner,
  verb: { id: "http://adlnet.gov/expapi/verbs/answered", display: { "ja-JP": "解答した" } },
  object: {
    objectType: "Activity",
    id: `${drill}/q${i}`,
    definition: { name: { "ja-JP": `分数の問題 ${i + 1}` } },
  },
  result: { success: i % 3 !== 0, response: `${i}/7` },
  context: { registration },
}));

// POST a batch; the LRS answers the ids it assigned, in order.
const posted = await xapi.sendStatements({ statements });
assert.equal(posted.data.length, 25, "one id per statement");

// Query by agent + registration, 10 per page, following `more` to the end.
const seen = new Set();
let page = await xapi.getStatements({ agent: learner, registration, limit: 10 });
let pages = 1;
for (;;) {
  for (const s of page.data.statements) seen.add(s.id);
  if (!page.data.more) break;
  page = await xapi.getMoreStatements({ more: page.data.more });
  pages += 1;
}
assert.equal(seen.size, 25, "every posted statement found through paging");
assert.ok(pages >= 3, `25 statements at limit 10 take 3 pages, took ${pages}`);
for (const id of posted.data) assert.ok(seen.has(id), `posted id ${id} found`);

// Read one back by id.
const one = await xapi.getStatement({ statementId: posted.data[0] });
assert.equal(one.data.id, posted.data[0]);
assert.equal(one.data.object.definition.name["ja-JP"], "分数の問題 1");

// Void it: it leaves the filtered results and is readable as voided. The voiding statement
// itself matches the filter through its StatementRef (xAPI Communication §2.1.3), so it is listed.
const voiding = await xapi.voidStatement({ actor: learner, statementId: posted.data[0] });
const voided = await xapi.getVoidedStatement({ voidedStatementId: posted.data[0] });
assert.equal(voided.data.id, posted.data[0]);
const after = await xapi.getStatements({ agent: learner, registration, limit: 100 });
const listed = after.data.statements.map((s) => s.id);
assert.equal(listed.length, 25, "24 left plus the voiding statement");
assert.ok(!listed.includes(posted.data[0]), "a voided statement leaves the results");
assert.ok(listed.includes(voiding.data[0]), "the voiding statement is listed through its StatementRef");

// State documents: set, read, merge (createState posts JSON), list, delete.
const activityId = drill;
const stateId = "bookmark";
await xapi.setState({ agent: learner, activityId, registration, stateId, state: { page: 3 } });
let doc = await xapi.getState({ agent: learner, activityId, registration, stateId });
assert.deepEqual(doc.data, { page: 3 });
await xapi.createState({ agent: learner, activityId, registration, stateId, state: { score: 80 } });
doc = await xapi.getState({ agent: learner, activityId, registration, stateId });
assert.deepEqual(doc.data, { page: 3, score: 80 }, "POSTed JSON is merged");
const ids = await xapi.getStates({ agent: learner, activityId, registration });
assert.deepEqual(ids.data, [stateId]);
await xapi.deleteState({ agent: learner, activityId, registration, stateId });
const gone = await xapi.getStates({ agent: learner, activityId, registration });
assert.deepEqual(gone.data, []);

console.log(`@xapi/xapi ${version}: ok (25 posted, ${pages} pages, voided, state round trip)`);
