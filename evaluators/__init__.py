"""Evaluators score LLaMA-Factory's generated_predictions.jsonl; one module per task's metrics (base.py: the contract)."""
