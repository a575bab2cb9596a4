"""Converters turn one raw input format into the target records, registered by name.

A converter's target records are one of LLaMA-Factory's two formats, the same for every record it writes;
`pipelines/data/dataset_info.py` registers each dataset with the formatting, columns and tags its records use.

Alpaca (alpaca, behavior_log, trajectory, map_agent):
    {"instruction": str,            # the user's turn; never empty
     "input": str,                  # extra context appended to the instruction ("" when none)
     "output": str,                 # the assistant's answer the model learns; never empty
     "system": str,                 # optional: system prompt ("" falls back to the task's)
     "history": [[str, str], ...]}  # optional: earlier (user, assistant) turns, oldest first

ShareGPT (sharegpt, openai_messages), with LLaMA-Factory's default tags:
    {"conversations": [{"from": "human" | "gpt" | "function_call" | "observation", "value": str}, ...],
                                    # human/observation at odd positions, gpt/function_call at even ones;
                                    # the last is gpt or function_call; every gpt/function_call turn is trained
     "system": str,                 # optional: system prompt ("" falls back to the task's)
     "tools": str}                  # optional: JSON list of the function definitions the model is shown
    A function_call's value is JSON {"name": str, "arguments": {...}} or a list of them.

A converter is a function `(paths, options, skip_invalid) -> Conversion` registered with
`@register_converter(name, options_schema=...)` (pipelines/core/registry.py). Record-wise formats use
`convert_records` (records.py), which refuses media columns and counts the input fields a converter does not
carry over (`Conversion.dropped`), so nothing is dropped silently; formats that need the whole stream (event
logs) produce `Example`s themselves and may set `group`/`order` so a chronological split can keep the future
out of training.
"""
