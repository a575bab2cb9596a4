"""Tables are printed whole at every width: drawn with cells wrapped at spaces, one block per row when narrower than
that, Markdown off a terminal. Before, the headline table was cut ("1.00…", an `n` column shrunk to nothing)."""

import io
import re

import pytest
from rich.console import Console

from evaluators.reporting.whole_tables import narrowest, print_table

HEADER = ["", "n", "rouge_l [95% CI]", "bleu_4 [95% CI]", "term_recall [95% CI]"]
ROWS = [
    ["adapter", "15", "0.2345 [0.1000, 0.3500]", "0.0123 [0.0000, 0.0400]", "1.0000 [1.0000, 1.0000]"],
    ["base", "15", "0.0000 [0.0000, 0.0000]", "0.0000 [0.0000, 0.0000]", "0.0000 [0.0000, 0.0000]"],
    ["baseline: most_frequent", "–", "0.1000", "0.0100", "not applicable"],
]
NUMBERS = sorted({n for row in ROWS for cell in row for n in re.findall(r"\d+\.\d+|\b\d+\b", cell)})


def printed(width: int, terminal: bool) -> str:
    out = Console(file=io.StringIO(), width=width, force_terminal=terminal, color_system=None)
    print_table(out, HEADER, ROWS, "telecom: headline metrics")
    return out.file.getvalue()


def words_by_line(text: str) -> list[list[str]]:
    return [re.findall(r"[^\s│┃|]+", line) for line in text.splitlines()]


@pytest.mark.parametrize("width", [20, 40, 50, 60, 71, 80, 100, 160])
def test_every_number_is_whole_on_a_terminal_of_any_width(width):
    text = printed(width, terminal=True)
    assert "…" not in text
    if "┃" in text:  # drawn: within the terminal, so its right edge is not cut either
        assert max(map(len, text.splitlines())) <= width
    words = [w for line in words_by_line(text) for w in line]
    for number in NUMBERS:
        assert number in words or f"[{number}," in words or f"{number}]" in words, (width, number)
    # Each row's label and each column's name is there as well, whatever the layout.
    assert "adapter" in words and "most_frequent" in words and "term_recall" in text


def test_narrower_than_the_longest_words_each_row_is_a_block():
    width = narrowest(HEADER, ROWS)  # 13 + 2 + 8 + 8 + 11 for the longest words, 3 per column and 1 for borders
    assert width == 42 + 3 * 5 + 1
    assert "┃" in printed(width, terminal=True)
    block = printed(width - 1, terminal=True)
    assert "┃" not in block
    assert "adapter\n  n                     15\n  rouge_l [95% CI]      0.2345 [0.1000, 0.3500]\n" in block


def test_off_a_terminal_the_table_is_markdown_whatever_the_width():
    for width in (20, 200):
        assert printed(width, terminal=False) == (
            "telecom: headline metrics\n"
            "|  | n | rouge_l [95% CI] | bleu_4 [95% CI] | term_recall [95% CI] |\n"
            "| --- | --- | --- | --- | --- |\n"
            "| adapter | 15 | 0.2345 [0.1000, 0.3500] | 0.0123 [0.0000, 0.0400] | 1.0000 [1.0000, 1.0000] |\n"
            "| base | 15 | 0.0000 [0.0000, 0.0000] | 0.0000 [0.0000, 0.0000] | 0.0000 [0.0000, 0.0000] |\n"
            "| baseline: most_frequent | – | 0.1000 | 0.0100 | not applicable |\n"
        )
