"""Text normalisation shared by evaluators: thinking blocks, first lines, Chinese tokens."""

import re

# Qwen3 emits <think>...</think> (possibly empty, possibly unclosed when generation was cut off).
THINK_BLOCK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL)


def strip_think(text: str) -> str:
    return THINK_BLOCK.sub("", text).strip()


def first_line(text: str) -> str:
    """The first non-empty line after thinking blocks are removed ("" when there is none)."""
    return next((line.strip() for line in strip_think(text).splitlines() if line.strip()), "")


def jieba_tokens(text: str) -> list[str]:
    import jieba

    # Whitespace is not a token in Chinese evaluation; LLaMA-Factory's own ROUGE/BLEU drop it too.
    return [t for t in jieba.lcut(text) if t.strip()]
