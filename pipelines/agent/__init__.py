"""The map agent that writes restaurant training data (`domaintune agent-data`).

A smolagents ToolCallingAgent over any OpenAI-compatible endpoint answers generated (or given) questions with
three map tools (`tools.py`) over a POI source chosen by name (`sources/`); each answer is checked against the
task's grounding rules before it is kept (`quality.py`), and the run is a resumable job (`job.py`) whose
record is the map-agent format `domaintune data --task restaurant` reads.

Layering: this package sits at rank 5 beside `pipelines/run/`; unlike `run` it may import the restaurant
evaluator's grounding checks, since filtering answers with them is its job (tests/test_architecture.py).
"""
