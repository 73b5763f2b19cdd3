"""Writes the README's list of refused model files from the cases the tests run, so it cannot drift.

    python scripts/readme_failures.py          # rewrite the block in README.md
The test `test_readme_lists_every_refused_model_file` fails while the README and the cases differ.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- refused-model-files: begin (scripts/readme_failures.py) -->", "<!-- refused-model-files: end -->"


def block() -> str:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from test_core_hostile_inputs import CASES

    lines = [f"- {case}: *{message.split('|')[0]}*" for case, _change, message in CASES]
    return "\n".join([BEGIN, *lines, END])


def rewritten(readme: str) -> str:
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    return readme[:start] + block() + readme[end:]


if __name__ == "__main__":
    path = ROOT / "README.md"
    path.write_text(rewritten(path.read_text(encoding="utf-8")), encoding="utf-8")
