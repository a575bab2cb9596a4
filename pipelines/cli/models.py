"""`domaintune tiny-model` and `download`: the weights commands train on."""

from pathlib import Path

import click


@click.command("tiny-model")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True, help="Directory to write.")
@click.option("--family", type=click.Choice(["qwen3", "qwen2"]), default="qwen3", show_default=True)
def tiny_model_cmd(out_dir, family):
    """Build a tiny random-weight Qwen model with the real Qwen3 tokenizer.

    Example: domaintune tiny-model -o models/tiny-qwen3 --family qwen3
    """
    from pipelines.core.tiny_model import build_tiny_model

    click.echo(build_tiny_model(out_dir, family))


@click.command("download")
@click.option("--model", "-m", required=True, help="ModelScope id, e.g. Qwen/Qwen2.5-1.5B-Instruct.")
def download_cmd(model):
    """Download a model from ModelScope into models/<id>.

    Example: domaintune download --model Qwen/Qwen2.5-1.5B-Instruct
    """
    from pipelines.core.models import download

    click.echo(download(model))


COMMANDS = (tiny_model_cmd, download_cmd)
