"""The weekly report over a known, hand-written store: every number is asserted.

Window: as_of 2024-06-12 (Wednesday of 2024-W24), 6 weeks = 2024-W19 (Mon 2024-05-06)
to 2024-W24, K (chronic) = 3. Ages: 0 = W24, 1 = W23, 2 = W22, 3 = W21, 4 = W20,
5 = W19, 6 = W18 (just before the window), 10 = W14.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from worker.model import Batch, DeadEndAttempt, JobInfo, JobKey, Occurrence
from worker.report.build import compute_report
from worker.report.calc import Window, default_chronic_weeks, lifecycle_status
from worker.report.html import render_html
from worker.report.permissions import cloud_of
from worker.report.read import Frames, read_frames
from worker.report.render import render_markdown, write_csv
from worker.report.tables import kb_field
from worker.report.write import build_report
from worker.store.store import open_store

AS_OF = date(2024, 6, 12)
NAN = math.nan
S3, LOCK, GCP = "aws/s3-access-denied", "terraform/state-lock-held", "gcp/storage-permission-denied"
AZ, DDB = "azure/authorization-failed", "policy/terraform-state-lock-dynamodb-permission-denied"
NET, OLD = "terraform/provider-registry-timeout", "terraform/backend-init-required"
INFRA, APP, DATA = "acme/infra-live", "acme/app-stack", "acme/data-lake"
TEAMS = {INFRA: "platform", APP: "payments", DATA: "data"}
DEPLOYER = "arn:aws:iam::111122223333:role/ci-deployer"
APPCI = "arn:aws:iam::111122223333:role/app-ci"
GSA = "ci-sa@acme-data.iam.gserviceaccount.com"
AZP = "00000000-aaaa-bbbb-cccc-000000000001"
STATE = "arn:aws:s3:::tf-state/live.tfstate"
ARTIFACT = "arn:aws:s3:::app-artifacts/build.zip"
TABLE = "arn:aws:dynamodb:eu-west-1:111122223333:table/tf-locks"
BUCKET = "projects/_/buckets/acme-tf-state"
RG = "/subscriptions/sub-1/resourceGroups/rg-tf"
ACCT = RG + "/providers/Microsoft.Storage/storageAccounts/tfstate"
LIST_KEYS = "Microsoft.Storage/storageAccounts/listKeys/action"
RG_READ = "Microsoft.Resources/subscriptions/resourceGroups/read"

ENTRY = {  # kb_id -> (category, tags)
    S3: ("auth_error", ("permission", "aws")),
    LOCK: ("state_error", ("state-lock",)),
    GCP: ("auth_error", ("permission", "gcp")),
    AZ: ("auth_error", ("permission", "azure")),
    DDB: ("auth_error", ("permission", "state-lock", "aws")),
    NET: ("network_error", ("network", "timeout")),
    OLD: ("config_error", ("backend",)),
}
# (kb_id or template id, event time, repo, principal, action, resource)
ROWS = [
    (S3, "2024-05-07T10:00", INFRA, DEPLOYER, "s3:GetObject", STATE),  # age 5
    (S3, "2024-05-14T10:00", INFRA, DEPLOYER, "s3:PutObject", STATE),  # age 4
    (S3, "2024-05-21T10:00", APP, APPCI, "s3:GetObject", ARTIFACT),  # age 3
    (S3, "2024-06-04T10:00", INFRA, DEPLOYER, "s3:GetObject", STATE),  # age 1
    (S3, "2024-06-05T10:00", INFRA, DEPLOYER, "s3:GetObject", STATE),  # age 1
    (S3, "2024-06-11T10:00", INFRA, DEPLOYER, "s3:GetObject", STATE),  # age 0
    (S3, "2024-06-13T01:00", INFRA, DEPLOYER, "s3:GetObject", STATE),  # after as_of: ignored
    (LOCK, "2024-05-22T10:00", INFRA, None, None, None),
    (LOCK, "2024-05-28T10:00", INFRA, None, None, None),
    (LOCK, "2024-05-29T10:00", DATA, None, None, None),
    (LOCK, "2024-06-10T10:00", INFRA, None, None, None),
    (LOCK, "2024-06-12T23:59:59", DATA, None, None, None),  # last second of the window
    (GCP, "2024-06-10T10:00", DATA, GSA, "storage.objects.get", BUCKET),
    (GCP, "2024-06-11T10:00", DATA, GSA, "storage.objects.create", BUCKET),
    (AZ, "2024-04-30T10:00", APP, AZP, LIST_KEYS, ACCT),  # age 6: before the window
    (AZ, "2024-05-08T10:00", APP, AZP, LIST_KEYS, ACCT),
    (AZ, "2024-05-15T10:00", APP, AZP, RG_READ, RG),
    (AZ, "2024-05-23T10:00", APP, AZP, LIST_KEYS, ACCT),
    (DDB, "2024-04-02T10:00", INFRA, DEPLOYER, "dynamodb:PutItem", TABLE),  # age 10
    (DDB, "2024-05-16T10:00", INFRA, DEPLOYER, "dynamodb:PutItem", TABLE),
    (DDB, "2024-06-11T12:00", APP, APPCI, "dynamodb:DeleteItem", TABLE),
    (NET, "2024-05-30T10:00", DATA, None, None, None),
    (OLD, "2024-04-03T10:00", INFRA, None, None, None),
    ("t1", "2024-06-10T08:00", INFRA, None, None, None),
    ("t1", "2024-06-11T08:00", APP, None, None, None),
    ("t1", "2024-06-04T08:00", INFRA, None, None, None),
    ("t2", "2024-05-20T08:00", DATA, None, None, None),
    ("t3", "2024-04-25T08:00", INFRA, None, None, None),
]
TEMPLATES = {"t1": "Error: Unsupported argument <*> on <*> line <*>",
             "t2": "Error: Invalid provider configuration <*>",
             "t3": "Error: Module not installed <*>"}
DEAD = [  # (kb_id, signal, time, repo)
    (DDB, "-lock=false", "2024-05-17T10:00", INFRA),
    (DDB, "-lock=false", "2024-06-12T09:00", APP),
    (LOCK, "force-unlock", "2024-06-10T11:00", INFRA),
    (LOCK, "force-unlock", "2024-05-29T11:00", DATA),
    (LOCK, "force-unlock", "2024-04-01T11:00", INFRA),  # before the window
    (S3, "wildcard policy", "2024-06-05T11:00", APP),
]
KB = {
    S3: {"title": "AccessDenied: s3 operation refused", "tags": ["permission", "aws"],
         "family": "aws-access-denied", "category": "auth_error", "root_cause": "The CI role lacks an S3 action.",
         "workaround": "Grant the exact s3 action on the state object."},
    LOCK: {"title": "Error acquiring the state lock", "tags": ["state-lock"],
           "family": "state-lock", "fallback": True, "category": "state_error", "root_cause": "Another run holds the lock.",
           "workaround": "Serialize applies per workspace."},
    GCP: {"title": "googleapi: Error 403: storage permission denied", "tags": ["permission", "gcp"],
          "category": "auth_error", "root_cause": "Service account misses a storage role.",
          "workaround": "Grant roles/storage.objectAdmin on the state bucket."},
    AZ: {"title": "AuthorizationFailed", "tags": ["permission", "azure"], "category": "auth_error",
         "root_cause": "Principal has no role assignment.", "workaround": "Assign a scoped role."},
    DDB: {"title": "DynamoDB lock table access denied", "tags": ["permission", "state-lock", "aws"],
          "family": "state-lock", "category": "auth_error", "root_cause": "No dynamodb rights on the lock table.",
          "workaround": "Allow PutItem/DeleteItem/GetItem on the lock table."},
}


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def _occurrence(i: int, row: tuple) -> Occurrence:
    entry, when, repo, principal, action, resource = row
    job = JobKey(repo, f"run-{i}", 1, "plan")
    info = JobInfo(provider="github_actions", pipeline="terraform", team=TEAMS[repo])
    if entry in TEMPLATES:
        return Occurrence(job, None, _ts(when), info, text=TEMPLATES[entry] + " example",
                          template=TEMPLATES[entry], template_id=entry)
    fields = {k: v for k, v in (("principal", principal), ("action", action),
                                ("resource", resource)) if v}
    category, tags = ENTRY[entry]
    return Occurrence(job, entry, _ts(when), info, category, tags, fields, text=entry)


@pytest.fixture
def store(tmp_path):
    st = open_store(f"sqlite:///{tmp_path}/tfpulse.db")
    dead = [DeadEndAttempt(JobKey(repo, f"dead-{i}", 1, "apply"), kb_id, signal, _ts(when))
            for i, (kb_id, signal, when, repo) in enumerate(DEAD)]
    st.write(Batch(occurrences=[_occurrence(i, r) for i, r in enumerate(ROWS)], dead_ends=dead))
    yield st
    st.close()


@pytest.fixture
def report(store):
    return build_report(store.engine, KB, weeks=6, as_of=AS_OF)


def rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(r) for r in frame.itertuples(index=False)]


def same(actual: list[tuple], expected: list[tuple]) -> None:
    """Row-by-row equality where NaN equals NaN."""
    norm = [tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in r) for r in actual]
    want = [tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in r) for r in expected]
    assert norm == want


# -- the window and the pure helpers ---------------------------------------------------

def test_window_is_iso_weeks_ending_at_as_of():
    window = Window(AS_OF, 6)
    assert window.start == date(2024, 5, 6)
    assert window.end == datetime(2024, 6, 13, tzinfo=UTC)
    assert window.labels == ["2024-W19", "2024-W20", "2024-W21", "2024-W22", "2024-W23", "2024-W24"]
    assert Window(date(2024, 12, 30), 2).labels == ["2024-W52", "2025-W01"]  # ISO year
    assert [default_chronic_weeks(n) for n in (1, 2, 5, 6, 8, 9)] == [1, 1, 3, 3, 4, 5]


@pytest.mark.parametrize("ages, status", [
    ({0}, "new"),
    ({0, 3, 4}, "regressed"),  # quiet in weeks 1 and 2
    ({0, 2, 5}, "chronic"),  # one quiet week is not a regression
    ({0, 2, 4}, "chronic"),
    ({1, 2, 3}, "chronic"),  # last seen last week: still active
    ({2, 3, 4}, "gone quiet"),
    ({2, 3}, None),  # never chronic
    ({6, 7, 8}, None),  # quiet since before the window
    ({5, 6, 7}, None),  # 1 of the 6 window weeks: the rule counts window weeks only
    ({2, 3, 5}, "gone quiet"),
])
def test_lifecycle_status(ages, status):
    assert lifecycle_status(ages, 6, 3) == status


def test_cloud_of_and_kb_field():
    assert [cloud_of(a) for a in ("s3:GetObject", "storage.objects.get", LIST_KEYS, "Delete")] == [
        "aws", "gcp", "azure", "other"]

    class Info:
        signature, tags, workarounds = "Sig", ("a", "b"), [{"action": "Do  this"}]

    kb = {"x": Info(), "y": {"title": "T", "best_workaround": "W"}}
    assert (kb_field(kb, "x", "title"), kb_field(kb, "x", "tags"), kb_field(kb, "x", "workaround")) == (
        "Sig", "a, b", "Do this")
    assert (kb_field(kb, "y", "title"), kb_field(kb, "y", "workaround"), kb_field(kb, "z", "title")) == (
        "T", "W", "")


# -- every number of the report ---------------------------------------------------------

def test_summary(report):
    assert report.summary == {
        "occurrences": 23, "classified": 19, "unclassified": 4, "unclassified_pct": 17.4,
        "entries": 6, "repos": 3, "permission_errors": 13, "lock_contention": 5,
        "lock_permission": 2, "dead_end_attempts": 5}
    assert (report.weeks, report.chronic_weeks, report.window_start) == (6, 3, date(2024, 5, 6))


def test_weekly_totals(report):
    same(rows(report.tables["weekly_totals"]), [
        ("2024-W19", "2024-05-06", 2, 2, 0, 0.0, 1, 100.0),  # week before (W18): 1
        ("2024-W20", "2024-05-13", 3, 3, 0, 0.0, 1, 50.0),
        ("2024-W21", "2024-05-20", 4, 3, 1, 25.0, 1, 33.3),
        ("2024-W22", "2024-05-27", 3, 3, 0, 0.0, -1, -25.0),
        ("2024-W23", "2024-06-03", 3, 2, 1, 33.3, 0, 0.0),
        ("2024-W24", "2024-06-10", 8, 6, 2, 25.0, 5, 166.7),
    ])


WEEKLY = {  # kb_id -> (title, count in W18, counts W19..W24)
    S3: (KB[S3]["title"], 0, [1, 1, 1, 0, 2, 1]),
    LOCK: (KB[LOCK]["title"], 0, [0, 0, 1, 2, 0, 2]),
    AZ: (KB[AZ]["title"], 1, [1, 1, 1, 0, 0, 0]),
    GCP: (KB[GCP]["title"], 0, [0, 0, 0, 0, 0, 2]),
    DDB: (KB[DDB]["title"], 0, [0, 1, 0, 0, 0, 1]),
    NET: (NET, 0, [0, 0, 0, 1, 0, 0]),
}


def test_trend(report):
    assert list(report.tables["trend"].columns) == [
        "kb_id", "title", *Window(AS_OF, 6).labels, "total", "this_week", "prev_week", "change",
        "change_pct"]
    same(rows(report.tables["trend"]), [
        (S3, KB[S3]["title"], 1, 1, 1, 0, 2, 1, 6, 1, 2, -1, -50.0),
        (LOCK, KB[LOCK]["title"], 0, 0, 1, 2, 0, 2, 5, 2, 0, 2, NAN),
        (AZ, KB[AZ]["title"], 1, 1, 1, 0, 0, 0, 3, 0, 0, 0, NAN),
        (GCP, KB[GCP]["title"], 0, 0, 0, 0, 0, 2, 2, 2, 0, 2, NAN),
        (DDB, KB[DDB]["title"], 0, 1, 0, 0, 0, 1, 2, 1, 0, 1, NAN),
        (NET, NET, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, NAN),  # no KB info: the id is the title
    ])
    assert OLD not in set(report.tables["trend"]["kb_id"])  # only seen before the window


def test_weekly_long(report):
    labels, mondays = Window(AS_OF, 6).labels, ["2024-05-06", "2024-05-13", "2024-05-20",
                                                "2024-05-27", "2024-06-03", "2024-06-10"]
    expected = []
    for kb_id in sorted(WEEKLY):
        title, before, counts = WEEKLY[kb_id]
        for i, count in enumerate(counts):
            prev = counts[i - 1] if i else before
            pct = round((count - prev) * 100 / prev, 1) if prev else NAN
            expected.append((kb_id, title, labels[i], mondays[i], count, count - prev, pct))
    same(rows(report.tables["weekly"]), expected)
    assert rows(report.tables["weekly"])[3][4:] == (0, -1, -100.0)  # S3 in W22


def test_lifecycle(report):
    same(rows(report.tables["lifecycle"]), [
        ("new", GCP, KB[GCP]["title"], 1, 2, 2, 0, "2024-06-10", "2024-06-11"),
        ("regressed", DDB, KB[DDB]["title"], 2, 2, 1, 0, "2024-04-02", "2024-06-11"),
        ("chronic", S3, KB[S3]["title"], 5, 6, 1, 0, "2024-05-07", "2024-06-11"),
        ("chronic", LOCK, KB[LOCK]["title"], 3, 5, 2, 0, "2024-05-22", "2024-06-12"),
        ("gone quiet", AZ, KB[AZ]["title"], 3, 3, 0, 3, "2024-04-30", "2024-05-23"),
    ])


def test_permission_errors(report):
    same(rows(report.tables["permissions"]), [
        (DEPLOYER, "s3:GetObject", STATE, 4, 1, S3, "2024-06-11"),
        (AZP, LIST_KEYS, ACCT, 2, 1, AZ, "2024-05-23"),  # the W18 one is outside the window
        (AZP, RG_READ, RG, 1, 1, AZ, "2024-05-15"),
        (APPCI, "dynamodb:DeleteItem", TABLE, 1, 1, DDB, "2024-06-11"),
        (APPCI, "s3:GetObject", ARTIFACT, 1, 1, S3, "2024-05-21"),
        (DEPLOYER, "dynamodb:PutItem", TABLE, 1, 1, DDB, "2024-05-16"),
        (DEPLOYER, "s3:PutObject", STATE, 1, 1, S3, "2024-05-14"),
        (GSA, "storage.objects.create", BUCKET, 1, 1, GCP, "2024-06-11"),
        (GSA, "storage.objects.get", BUCKET, 1, 1, GCP, "2024-06-10"),
    ])


def test_least_privilege(report):
    lp = report.tables["least_privilege"]
    same(rows(lp.drop(columns="suggestion")), [
        (AZP, "azure", f"{RG_READ}, {LIST_KEYS}", f"{RG}, {ACCT}", 3),
        (APPCI, "aws", "dynamodb:DeleteItem, s3:GetObject", f"{TABLE}, {ARTIFACT}", 2),
        (DEPLOYER, "aws", "dynamodb:PutItem, s3:GetObject, s3:PutObject", f"{TABLE}, {STATE}", 6),
        (GSA, "gcp", "storage.objects.create, storage.objects.get", BUCKET, 2),
    ])
    azure, appci, deployer, gcp = lp["suggestion"]
    assert json.loads(deployer) == {"Version": "2012-10-17", "Statement": [
        {"Sid": "TfpulseAllowDynamodb", "Effect": "Allow", "Action": ["dynamodb:PutItem"],
         "Resource": [TABLE]},
        {"Sid": "TfpulseAllowS3", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": [STATE]}]}
    assert json.loads(appci)["Statement"][1]["Resource"] == [ARTIFACT]
    assert gcp.splitlines() == [
        "gcloud iam roles create tfpulseCi --project=<project id> \\",
        "  --title='tfpulse CI' --permissions=storage.objects.create,storage.objects.get",
        "gcloud projects add-iam-policy-binding <project id> \\",
        f"  --member=serviceAccount:{GSA} --role=projects/<project id>/roles/tfpulseCi"]
    role = json.loads(azure.splitlines()[0].split("'", 1)[1].rsplit("'", 1)[0])
    assert role["Actions"] == sorted([RG_READ, LIST_KEYS]) and role["AssignableScopes"] == [RG]
    assert azure.splitlines()[1] == f"az role assignment create --assignee {AZP} --role 'tfpulse CI' --scope {RG}"


def test_state_locks(report):
    assert rows(report.tables["state_locks"]) == [(INFRA, 3, 1, 4), (DATA, 2, 0, 2), (APP, 0, 1, 1)]


def test_unclassified(report):
    assert rows(report.tables["unclassified"]) == [
        ("t1", 3, 2, "2024-06-04", "2024-06-11", TEMPLATES["t1"]),
        ("t2", 1, 1, "2024-05-20", "2024-05-20", TEMPLATES["t2"]),
    ]


def test_by_repo_and_team(report):
    same(rows(report.tables["by_repo"]), [
        (INFRA, 11, 9, 2, 18.2, 3, 3, 3, 0, 0.0, S3),
        (APP, 6, 5, 1, 16.7, 3, 2, 0, 2, NAN, AZ),
        (DATA, 6, 5, 1, 16.7, 3, 3, 0, 3, NAN, GCP),  # GCP and LOCK tie at 2: first id wins
    ])
    same(rows(report.tables["by_team"]), [
        ("platform", 11, 9, 2, 18.2, 3, 3, 3, 0, 0.0, S3),
        ("data", 6, 5, 1, 16.7, 3, 3, 0, 3, NAN, GCP),
        ("payments", 6, 5, 1, 16.7, 3, 2, 0, 2, NAN, AZ),
    ])


def test_dead_ends(report):
    assert rows(report.tables["dead_ends"]) == [
        (DDB, KB[DDB]["title"], "-lock=false", 2, 2, "2024-06-12"),
        (LOCK, KB[LOCK]["title"], "force-unlock", 2, 2, "2024-06-10"),
        (S3, KB[S3]["title"], "wildcard policy", 1, 1, "2024-06-05"),
    ]


def test_entries(report):
    assert rows(report.tables["entries"]) == [
        (k, KB[k]["title"], KB[k]["category"], KB[k].get("family", ""), ", ".join(KB[k]["tags"]),
         n, KB[k]["root_cause"], KB[k]["workaround"])
        for k, n in ((S3, 6), (LOCK, 5), (AZ, 3), (GCP, 2), (DDB, 2))
    ] + [(NET, NET, "network_error", "", "network, timeout", 1, "", "")]


def test_by_family(report):
    """Classified occurrences per family; entries without a family fall under (none); the
    lock entry here is its family's fallback, so its occurrences count as generic."""
    table = rows(report.tables["by_family"])
    assert [r[:5] for r in table] == [
        ("state-lock", 7, 2, 5, 71.4), ("(none)", 6, 3, 0, 0.0),
        ("aws-access-denied", 6, 1, 0, 0.0)]
    assert sum(r[1] for r in table) == report.summary["classified"]


# -- filters, caps, the pure path and an empty store -------------------------------------

def test_repo_filter(store):
    frames = read_frames(store.engine, repo=DATA)  # filtered in SQL
    assert (len(frames.occurrences), set(frames.occurrences["repo"])) == (6, {DATA})
    assert (len(frames.dead_ends), len(frames.templates)) == (1, 3)
    report = build_report(store.engine, KB, weeks=6, as_of=AS_OF, repo=DATA)
    assert report.summary == {
        "occurrences": 6, "classified": 5, "unclassified": 1, "unclassified_pct": 16.7,
        "entries": 3, "repos": 1, "permission_errors": 2, "lock_contention": 2,
        "lock_permission": 0, "dead_end_attempts": 1}
    same(rows(report.tables["trend"].drop(columns="title")), [
        (GCP, 0, 0, 0, 0, 0, 2, 2, 2, 0, 2, NAN),  # ties on total: by kb_id
        (LOCK, 0, 0, 0, 1, 0, 1, 2, 1, 0, 1, NAN),
        (NET, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, NAN),
    ])
    # LOCK in data-lake: seen in 2 of 6 weeks, one quiet week -> neither chronic nor regressed
    assert rows(report.tables["lifecycle"])[0][:2] == ("new", GCP)
    assert len(report.tables["lifecycle"]) == 1
    assert rows(report.tables["state_locks"]) == [(DATA, 2, 0, 2)]
    assert rows(report.tables["dead_ends"]) == [(LOCK, KB[LOCK]["title"], "force-unlock", 1, 1,
                                                 "2024-05-29")]
    assert rows(report.tables["unclassified"]) == [("t2", 1, 1, "2024-05-20", "2024-05-20",
                                                    TEMPLATES["t2"])]
    assert list(report.tables["by_repo"]["repo"]) == [DATA]
    assert "filter repo=acme/data-lake" in render_markdown(report)


def test_team_filter(store):
    report = build_report(store.engine, KB, weeks=6, as_of=AS_OF, team="payments")
    assert report.summary == {
        "occurrences": 6, "classified": 5, "unclassified": 1, "unclassified_pct": 16.7,
        "entries": 3, "repos": 1, "permission_errors": 5, "lock_contention": 0,
        "lock_permission": 1, "dead_end_attempts": 2}
    same(rows(report.tables["by_team"]), [("payments", 6, 5, 1, 16.7, 3, 2, 0, 2, NAN, AZ)])
    # lifecycles are scoped too: DDB's first occurrence in app-stack is this week's
    assert [r[:2] for r in rows(report.tables["lifecycle"])] == [("new", DDB), ("gone quiet", AZ)]
    # dead ends carry no team: attributed through the team's repos (app-stack)
    assert rows(report.tables["dead_ends"]) == [
        (S3, KB[S3]["title"], "wildcard policy", 1, 1, "2024-06-05"),
        (DDB, KB[DDB]["title"], "-lock=false", 1, 1, "2024-06-12"),
    ]
    assert rows(report.tables["state_locks"]) == [(APP, 0, 1, 1)]
    both = build_report(store.engine, KB, weeks=6, as_of=AS_OF, repo=APP, team="platform")
    assert both.summary["occurrences"] == 0 and both.tables["trend"].empty


def test_top_caps_ranked_tables(store):
    report = build_report(store, KB, weeks=6, as_of=AS_OF, top=1)  # a Store works too
    assert rows(report.tables["permissions"]) == [(DEPLOYER, "s3:GetObject", STATE, 4, 1, S3,
                                                   "2024-06-11")]
    assert list(report.tables["unclassified"]["template_id"]) == ["t1"]


def test_chronic_weeks_and_window_length(store):
    report = build_report(store.engine, KB, weeks=6, as_of=AS_OF, chronic_weeks=4)
    assert [r[:2] for r in rows(report.tables["lifecycle"])] == [
        ("new", GCP), ("regressed", DDB), ("chronic", S3)]  # LOCK: 3 weeks
    # AZ: 3 window weeks seen (W19-W21; W18 is before the window) < K = 4: no label
    two = build_report(store.engine, KB, weeks=2, as_of=AS_OF)
    assert (two.chronic_weeks, two.summary["occurrences"]) == (1, 11)  # W23 3 + W24 8


def test_compute_report_from_handmade_frames():
    """The pure path: naive datetimes are UTC, epoch seconds work, missing tables are empty."""
    occ = pd.DataFrame({
        "repo": ["r", "r"], "run_id": ["1", "2"], "run_attempt": [1, 1], "job": ["j", "j"],
        "kb_id": ["k", None], "team": ["", ""], "category": ["c", None],
        "tags": [",state-lock,", ""], "principal": [None, None], "action": [None, None],
        "resource": [None, None], "first_seen": [_ts("2024-06-10T00:00"), _ts("2024-06-12T12:00")],
        "template_id": ["", "tx"]})
    empty_dead = pd.DataFrame(columns=["repo", "run_id", "run_attempt", "job", "kb_id", "signal",
                                       "seen_at"])
    empty_templates = pd.DataFrame(columns=["template_id", "template"])
    report = compute_report(Frames(occ, empty_templates, empty_dead), {}, weeks=1, as_of=AS_OF)
    assert report.summary["occurrences"] == 2 and report.summary["lock_contention"] == 1
    assert rows(report.tables["by_team"])[0][:4] == ("(none)", 2, 1, 1)
    assert rows(report.tables["lifecycle"]) == [("new", "k", "k", 1, 1, 1, 0, "2024-06-10",
                                                 "2024-06-10")]
    assert rows(report.tables["unclassified"]) == [("tx", 1, 1, "2024-06-12", "2024-06-12", "")]


def test_empty_store(tmp_path):
    st = open_store(f"sqlite:///{tmp_path}/empty.db")
    report = build_report(st.engine, {}, weeks=4, as_of=AS_OF)
    assert report.summary["occurrences"] == 0 and report.summary["unclassified_pct"] == 0.0
    assert all(frame.empty for name, frame in report.tables.items() if name != "weekly_totals")
    assert list(report.tables["weekly_totals"]["occurrences"]) == [0, 0, 0, 0]
    assert "_None._" in render_markdown(report) and "<table" in render_html(report)
    st.close()


# -- rendering ------------------------------------------------------------------------

def test_deterministic_output(store, tmp_path):
    one = build_report(store.engine, KB, weeks=6, as_of=AS_OF)
    two = build_report(store.engine, KB, weeks=6, as_of=AS_OF)
    assert render_markdown(one) == render_markdown(two)
    assert render_html(one) == render_html(two)
    first = [p.read_bytes() for p in write_csv(one, tmp_path / "a")]
    assert first == [p.read_bytes() for p in write_csv(two, tmp_path / "b")]


def test_markdown(report):
    md = render_markdown(report)
    assert md.startswith("# tfpulse weekly report — 2024-W24\n\n6 ISO weeks 2024-W19 – 2024-W24 "
                         "(2024-05-06 to 2024-06-12, UTC, Monday start); all repos and teams\n")
    for line in [
        "| Unclassified | 4 (17.4%) |",
        "| State-lock contention | 5 |",
        "| 2024-W24 | 2024-06-10 | 8 | 6 | 2 | 25.0% | +5 | +166.7% |",
        "| 2024-W23 | 2024-06-03 | 3 | 2 | 1 | 33.3% | 0 | 0.0% |",
        "| aws/s3-access-denied | 1 | 1 | 1 | 0 | 2 | 1 | 6 | -1 | -50.0% |",
        "| terraform/state-lock-held | 0 | 0 | 1 | 2 | 0 | 2 | 5 | +2 | — |",
        "K = 3 of N = 6 weeks. **new**: first seen ever this week; **regressed**: back this week "
        "after 2 or more quiet weeks; **chronic**: seen in at least K of the N weeks, and this "
        "week or the week before; **gone quiet**: seen in at least K of the N weeks, but not this "
        "week or the week before.",
        f"| gone quiet | {AZ} | 3 | 3 | 0 | 3 | 2024-04-30 | 2024-05-23 |",
        f"| {DEPLOYER} | s3:GetObject | {STATE} | 4 | 1 | {S3} | 2024-06-11 |",
        f"| {INFRA} | 3 | 1 | 4 |",
        "Unclassified share: 4 of 23 occurrences (17.4%). Top 20 templates in the window.",
        f"| t1 | 3 | 2 | 2024-06-04 | 2024-06-11 | {TEMPLATES['t1']} |",
        f"| {INFRA} | 11 | 9 | 2 | 18.2% | 3 | 3 | 3 | 0 | 0.0% | {S3} |",
        f"| payments | 6 | 5 | 1 | 16.7% | 3 | 2 | 0 | +2 | — | {AZ} |",
        f"| {DDB} | -lock=false | 2 | 2 | 2024-06-12 |",
        f"| {S3} | {KB[S3]['title']} | auth_error | aws-access-denied | permission, aws | 6 | {KB[S3]['root_cause']} | "
        f"{KB[S3]['workaround']} |",
    ]:
        assert line in md.splitlines(), line
    policy = json.loads(md.split(f"`{DEPLOYER}` (aws):\n\n```json\n", 1)[1].split("```", 1)[0])
    assert policy["Statement"][1] == {"Sid": "TfpulseAllowS3", "Effect": "Allow",
                                      "Action": ["s3:GetObject", "s3:PutObject"],
                                      "Resource": [STATE]}
    assert f"`{GSA}` (gcp):\n\n```sh\ngcloud iam roles create tfpulseCi" in md
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Summary", "## Fix these first", "## Incidents", "## Occurrences per week", "## Trend per KB entry",
        "## New, regressed, chronic and gone quiet", "## Top recurring permission errors",
        "## Least-privilege suggestions", "## State-lock errors per repo",
        "## Top unclassified templates", "## By family", "## By repo", "## By team",
        "## Dead-end attempts", "## What happened next", "## What happened next, by family",
        "## Dead ends: claimed and observed fail rate", "## Failures per Terraform version",
        "## Entries seen only on old versions",
        "## Entries seen: root cause and best workaround"]


def test_csv(report, tmp_path):
    paths = write_csv(report, tmp_path / "out")
    assert [p.name for p in paths] == [
        "summary.csv", "fix_first.csv", "incidents.csv", "weekly_totals.csv", "trend.csv", "weekly.csv", "lifecycle.csv",
        "permissions.csv", "least_privilege.csv", "state_locks.csv", "unclassified.csv",
        "by_family.csv", "by_repo.csv", "by_team.csv", "dead_ends.csv", "what_next.csv",
        "what_next_family.csv", "dead_ends_observed.csv", "versions.csv", "old_versions.csv",
        "entries.csv"]
    text = {p.stem: p.read_text() for p in paths}
    assert text["summary"] == (
        "metric,value\noccurrences,23\nclassified,19\nunclassified,4\nunclassified_pct,17.4\n"
        "entries,6\nrepos,3\npermission_errors,13\nlock_contention,5\nlock_permission,2\n"
        "dead_end_attempts,5\n")
    assert text["state_locks"] == (
        "repo,contention,permission,total\nacme/infra-live,3,1,4\nacme/data-lake,2,0,2\n"
        "acme/app-stack,0,1,1\n")
    trend = text["trend"].splitlines()
    assert trend[0] == ("kb_id,title,2024-W19,2024-W20,2024-W21,2024-W22,2024-W23,2024-W24,"
                        "total,this_week,prev_week,change,change_pct")
    assert trend[1] == f"{S3},{KB[S3]['title']},1,1,1,0,2,1,6,1,2,-1,-50.0"
    assert trend[2] == f"{LOCK},{KB[LOCK]['title']},0,0,1,2,0,2,5,2,0,2,"  # no % from zero
    assert len(trend) == 7
    assert text["lifecycle"].splitlines()[1] == f"new,{GCP},{KB[GCP]['title']},1,2,2,0,2024-06-10,2024-06-11"
    back = pd.read_csv(tmp_path / "out" / "least_privilege.csv")
    assert json.loads(back["suggestion"][2])["Statement"][0]["Resource"] == [TABLE]
    assert len(text["weekly"].splitlines()) == 1 + 6 * 6
