"""`domaintune gen-restaurant`: a thin wrapper over the restaurant task's sample generator."""

from pathlib import Path

import click

from pipelines.restaurant.generate import (
    POI_TABLE,
    SAMPLE_RECORDS,
    SAMPLE_SEED,
    generate,
    load_table,
    write_records,
)


@click.command("gen-restaurant")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False), help="JSON Lines file to write.")
@click.option("--records", "n_records", default=SAMPLE_RECORDS, show_default=True, type=click.IntRange(min=1), help="Distinct questions (duplicates come on top).")
@click.option("--seed", default=SAMPLE_SEED, show_default=True, help="Same seed and table, same file.")
@click.option("--pois", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=POI_TABLE, show_default=True, help="POI table (schema recipes/schema/pois.schema.json).")
def gen_restaurant(output, n_records, seed, pois):
    """Generate map-agent output (question, recommendation, tool results) over a POI table, deterministically.

    The defaults rewrite the committed sample set.
    Example: domaintune gen-restaurant -o data/raw/restaurant/agent_output.jsonl
    """
    records = generate(n_records, seed, load_table(pois))
    click.echo(f"{write_records(records, output)}: {len(records)} records")


COMMANDS = (gen_restaurant,)
