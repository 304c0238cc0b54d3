"""Fill a KB workaround with what the log said, never with the KB's sample values.

A workaround is written once, for every reader, so its ARNs and account ids are samples
(`arn:aws:dynamodb:us-east-1:123456789012:table/my-terraform-lock-table`). Pasted as is, such
a fix grants access to a table that does not exist. Here every sample is replaced by the
value the log gave (the match's fields), or by a placeholder that says what to put there
(`<dynamodb table ARN>`), so a printed fix never looks like theirs when it is not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# arn:partition:service:region:account:resource (account may be empty, `*` or masked).
# An ARN that holds a KB placeholder (`arn:aws:s3:::<bucket>`) is a template: SLOTS fill it.
ARN = re.compile(r"arn:aws(?![^\s\"',\]\}]*<)[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):(\d{12}|\*+|)?:"
                 r"([^\s\"',\]\}]+)")
ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")
ACTION_LIST = re.compile(r'("Action"\s*:\s*\[)([^\]]*)\]')
AWS_ACTION = re.compile(r"^[a-z0-9][a-z0-9-]*:[A-Za-z0-9*]+$")
LOCK_ID = re.compile(r"<(?:ID|LOCK_ID|lock id)>")
# Fields whose value may be a resource name the ARN is built from, by service.
NAME_FIELDS = {"dynamodb": ("table", "resource"), "s3": ("bucket", "resource")}
SAME_SERVICE = {"sts": "iam"}


@dataclass(frozen=True)
class Slot:
    """Where a KB workaround names a value the log may give: its sample values and its own
    placeholders (`pattern`), the field that fills it, the placeholder left when the log
    did not say."""

    pattern: str
    field: str
    placeholder: str
    strip: str = ""  # a suffix the log's value may carry that the slot must not (`.tflock`)


_REGION = r"(?:us|eu|ap|ca|sa|me|af)-[a-z]+-\d|<region>"
# The one table of samples and placeholders the KB's workarounds use (grep kb/**/*.yaml).
# A bare region is not a slot: `a valid name such as eu-west-1` must stay.
SLOTS = (
    Slot(r"my-terraform-lock-table|my-lock-table|<lock-table>|<lock table>"
         r"|(?<=--table-name )(?:<name>|my-[\w-]+)", "table", "<lock table>"),
    Slot(r"my-terraform-state-bucket|my-terraform-state|my-tfstate-bucket|my-tf-state|my-bucket"
         r"|<bucket>|<state bucket>|(?<=--bucket )<name>", "bucket", "<bucket>"),
    Slot(r"<key>|<state key>|(?<=--key )terraform\.tfstate", "key", "<state key>", ".tflock"),
    Slot(rf"(?<=--region )(?:{_REGION})|(?<=--location=)<region>|(?<=AWS_REGION=)(?:{_REGION})"
         r"|<region>", "region", "<region>"),
    Slot(r"(?<=-n )(?:my-namespace|<ns>|<namespace>)|(?<=--namespace )(?:my-namespace|<ns>)"
         r"|(?<=--namespace=)(?:my-namespace|<ns>)|<namespace>", "namespace", "<namespace>"),
    Slot(r"(?<=:role/)(?:my-ci-role|terraform-ci|<ci-role>|<role>)(?![\w-])"
         r"|(?<=--role-name )(?:my-ci-role|terraform-ci|<role>)", "role", "<role name>"),
    Slot(r"(?<=serviceAccount:)<(?:sa|ci-sa)>|<principal>", "principal", "<principal>"),
    Slot(r"<account>|<account id>|<account-id>", "account", "<account id>"),
)
SAMPLE = re.compile("|".join([ARN.pattern, *(f"(?P<s{i}>{s.pattern})" for i, s in
                                             enumerate(SLOTS)), ACCOUNT.pattern]))
# Fields tried first for the log's own ARN: the resource the fix is about, then the rest.
RESOURCE_FIRST = ("resource", "role_arn")
# A field the log gave under another name, or inside another value: (field, source, regex
# whose group 1 is the value), first hit wins.
DERIVED = (
    ("role", "role_arn", r":role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$"),
    ("role", "principal", r":(?:assumed-)?role/([\w+=,.@-]+)"),
    ("table", "resource", r":table/([\w.-]+)"),
    ("bucket", "resource", r"^arn:aws[a-z-]*:s3:::([^/\s]+)"),
    ("bucket", "lock_path", r"^(?:gs|s3)://([^/\s]+)"),
    ("key", "resource", r"^arn:aws[a-z-]*:s3:::[^/\s]+/(.+?)(?:\.tflock)?$"),
    ("region", "resource", r"^arn:aws[a-z-]*:[a-z0-9-]+:([a-z]{2}-[a-z]+-\d):"),
    ("region", "principal", r"^arn:aws[a-z-]*:[a-z0-9-]+:([a-z]{2}-[a-z]+-\d):"),
)


@dataclass(frozen=True)
class Filled:
    """A workaround's text with the log's values; what came from the log, what did not."""

    text: str
    from_log: tuple[str, ...] = ()  # field names whose values were put in
    missing: tuple[str, ...] = ()  # placeholders left for the reader to fill


def _service(arn: str) -> str:
    m = ARN.match(arn)
    return SAME_SERVICE.get(m.group(1), m.group(1)) if m else ""


def _kind(resource: str) -> str:
    """`table/x` -> table, `role/x` -> role, a bare S3 bucket -> bucket."""
    return resource.split("/", 1)[0].split(":", 1)[0] if "/" in resource or ":" in resource \
        else "bucket"


def _account(fields: Mapping[str, str]) -> str | None:
    if fields.get("account"):
        return fields["account"]
    for value in fields.values():
        m = ARN.search(value or "")
        if m and m.group(3) and m.group(3).isdigit():
            return m.group(3)
    return None


class _Filler:
    def __init__(self, fields: Mapping[str, str]):
        first = [k for k in RESOURCE_FIRST if k in fields]
        self.fields = {k: fields[k] for k in [*first, *fields] if fields[k]}
        self.used: list[str] = []
        self.missing: list[str] = []

    def _note(self, bucket: list[str], item: str) -> None:
        if item not in bucket:
            bucket.append(item)

    def arn(self, m: re.Match[str]) -> str:
        service, kind = SAME_SERVICE.get(m.group(1), m.group(1)), _kind(m.group(4))
        for name, value in self.fields.items():  # the log's own ARN of the same service
            found = ARN.search(value)
            if found and _service(found.group(0)) == service:
                self._note(self.used, name)
                return found.group(0)
        built = self._build(service, kind)
        if built:
            return built
        placeholder = f"<{m.group(1)} {kind} ARN>"
        self._note(self.missing, placeholder)
        return placeholder

    def _build(self, service: str, kind: str) -> str | None:
        """An ARN from a plain name the log gave (`on resource: my-table`)."""
        for name in NAME_FIELDS.get(service, ()):
            value = self.fields.get(name, "")
            if not value or ARN.search(value) or not re.fullmatch(r"[\w.\-/*]+", value):
                continue
            self._note(self.used, name)
            if service == "s3":
                return f"arn:aws:s3:::{value}"
            region = self.fields.get("region") or self._missing("<region>")
            account = _account(self.fields) or self._missing("<account id>")
            return f"arn:aws:{service}:{region}:{account}:{kind}/{value}"
        return None

    def _missing(self, placeholder: str) -> str:
        self._note(self.missing, placeholder)
        return placeholder

    def value(self, field: str) -> str | None:
        """The log's value for a field: given as is, or found inside another field."""
        if field == "account":
            return _account(self.fields)
        if self.fields.get(field):
            return self.fields[field]
        for name, source, regex in DERIVED:
            found = re.search(regex, self.fields.get(source, "")) if name == field else None
            if found:
                return found.group(1)
        return None

    def slot(self, m: re.Match[str]) -> str:
        slot = SLOTS[int(str(m.lastgroup)[1:])]
        value = self.value(slot.field)
        if value and slot.strip and value.endswith(slot.strip):
            value = value[: -len(slot.strip)]
        if value:
            self._note(self.used, slot.field)
            return value
        # the KB's own placeholder stays as written; a sample value becomes ours
        return self._missing(m.group(0) if m.group(0).startswith("<") else slot.placeholder)

    def account(self, m: re.Match[str]) -> str:
        account = _account(self.fields)
        if account:
            self._note(self.used, "account")
            return account
        return self._missing("<account id>")

    def actions(self, m: re.Match[str]) -> str:
        action = self.fields.get("action", "")
        if AWS_ACTION.match(action) and f'"{action}"' not in m.group(2):
            self._note(self.used, "action")
            listed = m.group(2).strip()
            return f'{m.group(1)}"{action}"{", " + listed if listed else ""}]'
        if f'"{action}"' in m.group(2):
            self._note(self.used, "action")
        return m.group(0)

    def lock_id(self, m: re.Match[str]) -> str:
        if self.fields.get("lock_id"):
            self._note(self.used, "lock_id")
            return self.fields["lock_id"]
        return self._missing(m.group(0))


def fill(text: str, fields: Mapping[str, str]) -> Filled:
    """`text` with its sample ARNs, account ids, SLOTS, action lists and lock ids replaced
    by the log's values, or by placeholders naming what is needed. A value the log names
    as wrong is captured under another name by its entry (`wrong_region`), so it never
    fills a slot."""
    filler = _Filler(fields)
    # One pass for ARNs, slots and account ids, so that a filled value is never edited again.
    out = SAMPLE.sub(lambda m: filler.arn(m) if m.group(1) else
                     filler.slot(m) if m.lastgroup else filler.account(m), text)
    out = ACTION_LIST.sub(filler.actions, out)
    out = LOCK_ID.sub(filler.lock_id, out)
    return Filled(out, tuple(filler.used), tuple(filler.missing))
