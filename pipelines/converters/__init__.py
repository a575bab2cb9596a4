"""Converters turn one raw input format into the target records, registered by name.

The target record (the one schema every converter produces, LLaMA-Factory's Alpaca format):

    {"instruction": str,            # the user's turn; never empty
     "input": str,                  # extra context appended to the instruction ("" when none)
     "output": str,                 # the assistant's answer the model learns; never empty
     "system": str,                 # optional: system prompt ("" falls back to the task's)
     "history": [[str, str], ...]}  # optional: earlier (user, assistant) turns, oldest first

A converter is a function `(paths, options, skip_invalid) -> Conversion` registered with
`@register_converter(name, options_schema=...)` (pipelines/core/registry.py). Record-wise formats use
`convert_records` (records.py); formats that need the whole stream (event logs) produce `Example`s themselves
and may set `group`/`order` so a chronological split can keep the future out of training.
"""
