"""`domaintune tiny-model` and `download`: the weights commands train on; `--hub` and `--no-download` for every
command that loads a model."""

from pathlib import Path

import click

from pipelines.core.hubs import HUBS

HUB_ENV = "DOMAINTUNE_HUB"


def hub_option():
    return click.option(
        "--hub", type=click.Choice(list(HUBS)), envvar=HUB_ENV,
        help=f"Where a model missing from models/ is downloaded from (or ${HUB_ENV}); default: the task's model.hub, else modelscope.",
    )


def no_download_option():
    return click.option("--no-download", is_flag=True, help="Refuse, instead of downloading, a model that is not in models/ yet.")


def announce_download(listing) -> None:
    """Said before the first byte: what is fetched, how much, from where."""
    size = f"{listing.total_bytes / 2**30:,.2f} GiB" if listing.total_bytes >= 2**30 else f"{listing.total_bytes / 2**20:,.1f} MiB"
    click.echo(f"Downloading {listing.model_id} ({len(listing.files)} files, {size}) from {HUBS[listing.hub].label}, revision {listing.revision}", err=True)


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
@click.option("--model", "-m", required=True, help="Hub id owner/name, e.g. Qwen/Qwen2.5-1.5B-Instruct.")
@hub_option()
def download_cmd(model, hub):
    """Download a model from ModelScope (or --hub huggingface) into models/<id>, resuming an interrupted download.

    Example: domaintune download --model Qwen/Qwen2.5-1.5B-Instruct
    Offline machine: run it where the hub is reachable, then copy models/Qwen/Qwen2.5-1.5B-Instruct across.
    """
    from pipelines.core.download import download
    from pipelines.core.errors import DomaintuneError
    from pipelines.core.hubs import DEFAULT_HUB, HubUnavailable

    try:
        click.echo(download(model, hub or DEFAULT_HUB, on_listing=announce_download))
    except HubUnavailable as exc:
        raise DomaintuneError(f"cannot download {model}: {exc}") from None


COMMANDS = (tiny_model_cmd, download_cmd)
