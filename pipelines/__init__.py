"""domaintune pipelines: raw data -> LLaMA-Factory datasets -> recipes -> training and prediction."""
