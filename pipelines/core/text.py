"""Reading a model's answer: thinking blocks removed, the first line. Shared by evaluators and live dispatch."""

import re

# Qwen3 emits <think>...</think> (possibly empty, possibly unclosed when generation was cut off).
THINK_BLOCK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL)


def strip_think(text: str) -> str:
    return THINK_BLOCK.sub("", text).strip()


def first_line(text: str) -> str:
    """The first non-empty line after thinking blocks are removed ("" when there is none).

    Lines end at "\n" only: U+2028 and friends inside a line (a window title, say) are text, not line breaks."""
    return next((line.strip() for line in strip_think(text).split("\n") if line.strip()), "")
