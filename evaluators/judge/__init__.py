"""An LLM judge usable by every task: a stronger model behind any OpenAI-compatible endpoint scores training
records and model answers against rubrics that are data (rubrics/*.yaml, schema recipes/schema/rubric.schema.json).

    rubric.py     rubrics registered by name (a task may name its own YAML file) and the prompt for one item
    client.py     the calls: settings, bounded concurrency, the openai client's retries; whatever an endpoint
                  answers is an answer or a counted call failure with its reason, never a crash
    cache.py      scored answers keyed by prompt, model, rubric version and sampling settings, in SQLite
    parse.py      scores out of JSON, fenced JSON or [[n]]; anything else is a counted parse failure
    aggregate.py  per-dimension statistics and the Pearson r between two rubrics
    section.py    the report section `domaintune eval --judge-base-url URL --judge-model M` adds to any task
    terminal.py   the judge's table that `eval` prints after the headline
"""
