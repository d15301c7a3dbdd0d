"""Which paths a `.dockerignore` leaves in the build context, as Docker decides it.

Docker's rule (moby's patternmatcher): patterns are paths relative to the context, `*` and
`?` stay within one path segment, `**` spans any number of them, a pattern that matches a
folder matches everything in it, `!` re-includes, and the last matching pattern wins.
Character classes (`[...]`) are outside this subset and raise.
"""

import re
from pathlib import Path


class BuildContext:
    """The patterns of one `.dockerignore`, asked one path at a time."""

    def __init__(self, dockerignore: Path) -> None:
        self._patterns: list[tuple[re.Pattern[str], bool]] = []
        for raw in dockerignore.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            included = line.startswith("!")
            pattern = line.removeprefix("!").strip().strip("/")
            if "[" in pattern:
                raise ValueError(f"character classes are outside this reader's subset: {line}")
            self._patterns.append((_compile(pattern), included))

    def includes(self, relative_path: str) -> bool:
        """True when the file at `relative_path` (from the context's root) is sent to the build."""
        parts = relative_path.strip("/").split("/")
        candidates = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
        included = True
        for pattern, re_included in self._patterns:
            if any(pattern.fullmatch(candidate) for candidate in candidates):
                included = re_included
        return included


def _compile(pattern: str) -> re.Pattern[str]:
    regex = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex += "(?:.*/)?"
            index += 3
        elif pattern.startswith("**", index):
            regex += ".*"
            index += 2
        elif pattern[index] == "*":
            regex += "[^/]*"
            index += 1
        elif pattern[index] == "?":
            regex += "[^/]"
            index += 1
        else:
            regex += re.escape(pattern[index])
            index += 1
    return re.compile(regex)
