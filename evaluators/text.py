"""Chinese tokens for ROUGE/BLEU, shared by evaluators."""


def jieba_tokens(text: str) -> list[str]:
    import jieba

    # Whitespace is not a token in Chinese evaluation; LLaMA-Factory's own ROUGE/BLEU drop it too.
    return [t for t in jieba.lcut(text) if t.strip()]
