"""Chinese tokens for ROUGE/BLEU, shared by evaluators."""

import logging


def jieba_tokens(text: str) -> list[str]:
    import jieba

    # jieba logs building its dictionary (4 INFO lines on stderr) the first time; an eval shows its progress instead.
    jieba.setLogLevel(logging.WARNING)
    # Whitespace is not a token in Chinese evaluation; LLaMA-Factory's own ROUGE/BLEU drop it too.
    return [t for t in jieba.lcut(text) if t.strip()]
