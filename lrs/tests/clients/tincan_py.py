"""Drives the LRS with TinCanPython (PyPI `tincan`, Rustici's library), unchanged.

Run by lrs/tests/clients.rs with LRS_ENDPOINT, LRS_KEY, LRS_SECRET set; TinCanPython speaks
xAPI 1.0.3. Exits non-zero (with the reason) on the first expectation the LRS does not meet.
"""
import os
import sys
import uuid

from tincan import (
    Activity,
    ActivityDefinition,
    Agent,
    Context,
    LanguageMap,
    RemoteLRS,
    Statement,
    StatementRef,
    StateDocument,
    Verb,
)


def expect(ok, what):
    if not ok:
        sys.exit(f"tincan (python): expected {what}")


def must(response, what):
    expect(response.success, f"{what} to succeed, got HTTP {response.response.status}: {response.data!r}")
    return response.content


lrs = RemoteLRS(
    endpoint=os.environ["LRS_ENDPOINT"] + "/",
    version="1.0.3",
    username=os.environ["LRS_KEY"],
    password=os.environ["LRS_SECRET"],
)

registration = str(uuid.uuid4())
actor = Agent(name="鈴木 次郎", mbox=f"mailto:jiro-{registration}@example.ed.jp")
verb = Verb(id="http://adlnet.gov/expapi/verbs/attempted", display=LanguageMap({"ja-JP": "挑戦した"}))
statements = [
    Statement(
        id=str(uuid.uuid4()),
        actor=actor,
        verb=verb,
        object=Activity(
            id=f"https://example.ed.jp/cbt/rika/5/unit{i}",
            definition=ActivityDefinition(name=LanguageMap({"ja-JP": f"理科 単元{i}"})),
        ),
        context=Context(registration=registration),
    )
    for i in range(15)
]
must(lrs.save_statements(statements), "save_statements")

# Query 4 per page and follow `more` to the end.
seen = set()
result = must(lrs.query_statements({"agent": actor, "registration": registration, "limit": 4}), "query")
pages = 1
while True:
    seen.update(str(s.id) for s in result.statements)
    if not result.more:
        break
    result = must(lrs.more_statements(result), "more_statements")
    pages += 1
expect(len(seen) == 15, f"15 statements through paging, saw {len(seen)}")
expect(pages >= 4, f"4 pages at limit 4, took {pages}")
expect(all(str(s.id) in seen for s in statements), "every saved id found")

back = must(lrs.retrieve_statement(str(statements[0].id)), "retrieve_statement")
expect(str(back.id) == str(statements[0].id), "the statement read back by id")

voiding = Statement(
    actor=actor,
    verb=Verb(id="http://adlnet.gov/expapi/verbs/voided"),
    object=StatementRef(id=str(statements[0].id)),
)
must(lrs.save_statement(voiding), "voiding")
voided = must(lrs.retrieve_voided_statement(str(statements[0].id)), "retrieve_voided_statement")
expect(str(voided.id) == str(statements[0].id), "the voided statement by voidedStatementId")

# TinCanPython's save_state sends no registration (it ignores the document's), so the state
# round trip is registration-free.
activity = Activity(id="https://example.ed.jp/cbt/rika/5")
doc = StateDocument(
    activity=activity,
    agent=actor,
    id="progress",
    content_type="application/json",
    content='{"unit": 3}',
)
must(lrs.save_state(doc), "save_state")
got = must(lrs.retrieve_state(activity, actor, "progress"), "retrieve_state")
expect(bytes(got.content) == b'{"unit": 3}', f"the state body back byte for byte, got {got.content!r}")
ids = must(lrs.retrieve_state_ids(activity, actor), "retrieve_state_ids")
expect(list(ids) == ["progress"], f"state ids ['progress'], got {ids!r}")
must(lrs.delete_state(got), "delete_state")
ids = must(lrs.retrieve_state_ids(activity, actor), "retrieve_state_ids")
expect(list(ids) == [], f"no state ids after delete, got {ids!r}")

print(f"tincan (python): ok (15 saved, {pages} pages, voided, state round trip)")
