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
ARN = re.compile(r"arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):(\d{12}|\*+|)?:([^\s\"',\]\}]+)")
ACCOUNT = re.compile(r"(?<![\d:])\d{12}(?![\d])")
SAMPLE = re.compile(f"{ARN.pattern}|{ACCOUNT.pattern}")
ACTION_LIST = re.compile(r'("Action"\s*:\s*\[)([^\]]*)\]')
AWS_ACTION = re.compile(r"^[a-z0-9][a-z0-9-]*:[A-Za-z0-9*]+$")
LOCK_ID = re.compile(r"<(?:ID|LOCK_ID|lock id)>")
# Fields whose value may be a resource name the ARN is built from, by service.
NAME_FIELDS = {"dynamodb": ("table", "resource"), "s3": ("bucket", "resource")}
SAME_SERVICE = {"sts": "iam"}


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
        self.fields = {k: v for k, v in fields.items() if v}
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
    """`text` with its sample ARNs, account ids, action lists and lock ids replaced by the
    log's values, or by placeholders naming what is needed."""
    filler = _Filler(fields)
    # One pass for ARNs and bare account ids, so that a filled ARN is never edited again.
    out = SAMPLE.sub(lambda m: filler.arn(m) if m.group(1) else filler.account(m), text)
    out = ACTION_LIST.sub(filler.actions, out)
    out = LOCK_ID.sub(filler.lock_id, out)
    return Filled(out, tuple(filler.used), tuple(filler.missing))
