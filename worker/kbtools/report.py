"""CheckReport: what `kb lint` and `kb test` found (shared by kbtools.lint and kbtools.test)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems
