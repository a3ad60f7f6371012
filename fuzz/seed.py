#!/usr/bin/env python3
"""Seeds each fuzz target's corpus (fuzz/corpus/<target>/seed-*) from the test fixtures.

    python3 fuzz/seed.py

Derived, not committed: the statements of schema/tests/fixtures, framed
the way each target reads its input (docs/fuzzing.md). RS256 signatures use openssl and the
test-only signer key of lrs/tests/fixtures; without openssl those seeds are left out. Standard
library only. Rerunning rewrites the seeds and leaves what the fuzzer added alone.
"""

import base64
import hashlib
import hmac
import json
import pathlib
import shutil
import subprocess
import tempfile
import urllib.parse
import io
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
FIXTURES = ROOT / "lrs" / "tests" / "fixtures"

# The fuzz targets' fixed values (fuzz_targets/jwt.rs).
JWT_ISSUER = "https://eportal.example.jp"
JWT_SECRET = b"fuzzing-hs256-secret-of-at-least-32-bytes"
BOUNDARY = "abcABC0123'()+_,-./:=?"
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fixture_statements():
    statements = []
    for path in [
        ROOT / "schema" / "tests" / "fixtures" / "spec-examples.json",
        ROOT / "schema" / "tests" / "fixtures" / "japan-statements.json",
    ]:
        for item in json.loads(path.read_text()):
            statements.append(item.get("statement", item) if "source" in item else item)
    return statements


def write(target, name, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"seed-{name}").write_bytes(data)


def multipart(parts):
    out = b""
    for headers, data in parts:
        out += f"--{BOUNDARY}\r\n".encode()
        for header in headers:
            out += header.encode() + b"\r\n"
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def rs256_jws(payload):
    """A JWS over `payload` signed with the test signer key, its certificate in x5c; None
    without openssl."""
    if shutil.which("openssl") is None:
        return None
    cert = "".join(
        line for line in (FIXTURES / "signer-cert.pem").read_text().splitlines()
        if not line.startswith("-----")
    )
    header = {"alg": "RS256", "x5c": [cert]}
    signing_input = f"{b64url(compact(header))}.{b64url(payload)}".encode()
    with tempfile.NamedTemporaryFile() as data:
        data.write(signing_input)
        data.flush()
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(FIXTURES / "signer-key.pem"), data.name],
            check=True,
            capture_output=True,
        ).stdout
    return signing_input + b"." + b64url(signature).encode()


def hs256_token(claims, header=None):
    header = header or {"alg": "HS256", "typ": "JWT"}
    signing_input = f"{b64url(compact(header))}.{b64url(compact(claims))}".encode()
    signature = hmac.new(JWT_SECRET, signing_input, hashlib.sha256).digest()
    return signing_input + b"." + b64url(signature).encode()


MODIFIED = "2025-03-20T00:00:00.000Z"
# A small roster in the Japan Profile's columns: a board, a school, a school year, a course, a
# homeroom, a teacher and two students.
ROSTER_FILES = {
    "manifest.csv": "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n"
                    + "".join(f"file.{k},bulk\n" for k in (
                        "academicSessions", "classes", "courses", "enrollments", "orgs",
                        "roles", "users")),
    "orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
                f"b1,active,{MODIFIED},青葉市教育委員会,district,131001,\n"
                f"s1,active,{MODIFIED},青葉市立第一小学校,school,B113210000010,b1\n",
    "academicSessions.csv": "sourcedId,status,dateLastModified,title,type,startDate,endDate,"
                            "parentSourcedId,schoolYear\n"
                            f"y2025,active,{MODIFIED},2025年度,schoolYear,2025-04-01,2026-03-31,,2025\n",
    "courses.csv": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,"
                   "orgSourcedId,subjects,subjectCodes\n"
                   f"c1,active,{MODIFIED},y2025,4年 学級活動,,P4,s1,,\n",
    "classes.csv": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,"
                   "classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n"
                   f"k1,active,{MODIFIED},4年1組,P4,c1,,homeroom,,s1,y2025,,,\n",
    "users.csv": "sourcedId,status,dateLastModified,enabledUser,username,givenName,familyName,"
                 "identifier,email,grades,userMasterIdentifier,primaryOrgSourcedId\n"
                 f"t1,active,{MODIFIED},true,t1,花子,山田,,t1@example.jp,,uuid-t1,s1\n"
                 f"u1,active,{MODIFIED},true,u1,太郎,佐藤,,u1@example.jp,P4,uuid-u1,s1\n"
                 f"u2,active,{MODIFIED},true,u2,次郎,鈴木,,,P4,uuid-u2,s1\n",
    "enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,"
                       "userSourcedId,role,primary,beginDate,endDate\n"
                       f"e1,active,{MODIFIED},k1,s1,t1,teacher,true,2025-04-01,2026-03-31\n"
                       f"e2,active,{MODIFIED},k1,s1,u1,student,false,2025-04-01,\n"
                       f"e3,active,{MODIFIED},k1,s1,u2,student,false,2025-04-01,2025-09-30\n",
    "roles.csv": "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
                 "orgSourcedId\n"
                 f"r1,active,{MODIFIED},t1,primary,teacher,,,s1\n"
                 f"r2,active,{MODIFIED},u1,primary,student,,,s1\n"
                 f"r3,active,{MODIFIED},u2,primary,student,,,s1\n",
}


def roster_zip(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text.encode())
    return buffer.getvalue()


def main():
    statements = fixture_statements()
    signed_statement = {
        "id": "0b8c1f0e-6f6a-4c53-9a0e-1d6f5a2f7c11",
        "actor": {"mbox": "mailto:signer@example.jp"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
        "object": {"id": "https://eportal.example.jp/exam"},
        "result": {"score": {"scaled": 0.92}, "duration": "PT12M0.12S"},
    }

    # statements: version byte, then the body.
    for i, statement in enumerate(statements):
        write("statements", f"{i}-1.0.3", b"\x00" + compact(statement))
        write("statements", f"{i}-2.0.0", b"\x01" + compact(statement))
    write("statements", "batch", b"\x01" + compact(statements))

    # statement_request: flags, Content-Type line, body.
    for i, statement in enumerate(statements[:6]):
        write("statement_request", f"json-{i}", b"\x01application/json\n" + compact(statement))
    write("statement_request", "json-put", b"\x03application/json\n" + compact(signed_statement))
    data = "here is a simple attachment".encode()
    sha2 = hashlib.sha256(data).hexdigest()
    with_attachment = dict(statements[0], attachments=[{
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment", "ja-JP": "テスト添付"},
        "contentType": "text/plain",
        "length": len(data),
        "sha2": sha2,
    }])
    content_type = f'multipart/mixed; boundary="{BOUNDARY}"'.encode()
    body = multipart([
        (["Content-Type: application/json"], compact([with_attachment])),
        (["Content-Type: text/plain", "Content-Transfer-Encoding: binary",
          f"X-Experience-API-Hash: {sha2}"], data),
    ])
    write("statement_request", "multipart", b"\x01" + content_type + b"\n" + body)

    # write_paths: the statement_request input; valid bodies, so both parses answer.
    for i, statement in enumerate(statements):
        write("write_paths", f"json-{i}", b"\x00application/json\n" + compact(statement))
    write("write_paths", "batch", b"\x01application/json\n" + compact(statements))
    write("write_paths", "put", b"\x03application/json\n" + compact(dict(statements[0], id="00000000-0000-0000-0000-000000000016")))
    write("write_paths", "multipart", b"\x01" + content_type + b"\n" + body)

    jws = rs256_jws(compact(signed_statement))
    if jws is not None:
        signed = dict(signed_statement, attachments=[{
            "usageType": SIGNATURE_USAGE,
            "display": {"en-US": "Signature"},
            "contentType": "application/octet-stream",
            "length": len(jws),
            "sha2": hashlib.sha256(jws).hexdigest(),
        }])
        body = multipart([
            (["Content-Type: application/json"], compact(signed)),
            (["Content-Type: application/octet-stream", "Content-Transfer-Encoding: binary",
              f"X-Experience-API-Hash: {hashlib.sha256(jws).hexdigest()}"], jws),
        ])
        write("statement_request", "signed", b"\x01" + content_type + b"\n" + body)
        # signature: the JWS, a newline, the statement as received.
        write("signature", "rs256-x5c", jws + b"\n" + compact(signed_statement))
    unsigned = (
        f"{b64url(compact({'alg': 'RS256'}))}.{b64url(compact(signed_statement))}."
        f"{b64url(b'not-a-real-signature')}"
    ).encode()
    write("signature", "rs256-no-x5c", unsigned + b"\n" + compact(signed_statement))
    write("signature", "other-statement", unsigned + b"\n" + compact(statements[0]))
    write("signature", "crit", (
        f"{b64url(compact({'alg': 'RS256', 'crit': ['exp']}))}.{b64url(compact(signed_statement))}.c2ln"
    ).encode())

    # jwt: mode byte, then a header value (0), claims (1) or a JOSE header (2).
    claims = {
        "iss": JWT_ISSUER, "aud": "lrs", "sub": "tool-1", "exp": 4102444800,
        "tenant": "131016", "scope": "statements/write statements/read/mine",
    }
    write("jwt", "bearer", b"\x00Bearer " + hs256_token(claims))
    write("jwt", "bearer-scope-array", b"\x00Bearer " + hs256_token(dict(claims, scope=["all"])))
    write("jwt", "basic", b"\x00Basic " + base64.b64encode(b"key:secret"))
    write("jwt", "claims", b"\x01" + compact(claims))
    write("jwt", "claims-nbf", b"\x01" + compact(dict(claims, nbf=1700000000, sub="")))
    write("jwt", "header", b"\x02" + compact({"alg": "HS256", "typ": "JWT", "kid": "k1"}))

    # cursor: a token as the LRS writes them (base64url JSON).
    cursor = {
        "p": [["verb", "http://adlnet.gov/expapi/verbs/answered"], ["limit", "10"],
              ["agent", compact(statements[0]["actor"]).decode()]],
        "s": 1760404365123456,
        "i": "6f1b1e6c-0d4b-4c52-9a4e-3c7e0f1d2a3b",
        "c": 1760404365999999,
    }
    write("cursor", "more", b64url(compact(cursor)).encode())
    write("cursor", "empty-params", b64url(compact(dict(cursor, p=[]))).encode())

    # alternate: method byte (GET, HEAD, PUT, POST, DELETE), then the form.
    basic = "Basic " + base64.b64encode(b"key:secret").decode()
    forms = [
        (2, {"statementId": signed_statement["id"], "content": compact(signed_statement).decode(),
             "Authorization": basic, "X-Experience-API-Version": "1.0.3",
             "Content-Type": "application/json"}),
        (0, {"verb": "http://adlnet.gov/expapi/verbs/answered", "limit": "5",
             "Authorization": basic, "x-experience-api-version": "1.0.3"}),
        (3, {"content": compact(statements).decode(), "Content-Length": "12"}),
        (4, {"activityId": "https://drill.example.jp/a", "stateId": "s",
             "agent": compact(statements[0]["actor"]).decode(), "If-Match": '"abc"'}),
    ]
    for i, (method, form) in enumerate(forms):
        write("alternate", f"form-{i}", bytes([method]) + urllib.parse.urlencode(form).encode())

    # roster: mode byte (even: a OneRoster zip, odd: an alias CSV), then the bytes.
    write("roster", "bulk", b"\x00" + roster_zip(ROSTER_FILES))
    write("roster", "delta", b"\x00" + roster_zip({
        "manifest.csv": "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n"
                        "file.enrollments,delta\n",
        "enrollments.csv": ROSTER_FILES["enrollments.csv"].replace(",active,", ",tobedeleted,"),
    }))
    write("roster", "aliases", b"\x01homePage,name,userSourcedId\n"
          b"https://drill.example.jp,d-001,u1\nhttps://drill.example.jp,d-002,u2\n")

    for target in sorted(p.name for p in CORPUS.iterdir()):
        count = sum(1 for p in (CORPUS / target).iterdir() if p.name.startswith("seed-"))
        print(f"{target}: {count} seeds")


if __name__ == "__main__":
    main()
