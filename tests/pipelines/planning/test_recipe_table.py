"""The recipe table: the seed configurations, a task that fits nowhere small, and recipes/README.md in sync."""

import dataclasses

import pytest

from pipelines.core.gpus import get_tier, load_tiers
from pipelines.core.tasks import load_task, task_names
from pipelines.planning.architectures import resolve_architecture
from pipelines.planning.plan import PlanError
from pipelines.planning.recipe import plan_for
from pipelines.planning.recipe_table import (
    COLUMNS,
    README_FILE,
    batch_cell,
    checkpointing_cell,
    estimate_cell,
    lengths_cell,
    method_cell,
    recipe_rows,
    render_readme,
    samples_cell,
    shipped_lengths,
    write_readme,
)


@pytest.fixture(scope="module")
def rows():
    return {(row.task, row.tier.name): row for row in recipe_rows()}


def test_one_row_per_task_and_tier(rows):
    assert list(rows) == [(task, tier) for task in task_names() for tier in load_tiers()]


def test_telecom_on_a_4090_packs_its_short_samples(rows):
    # ~100-token samples: about 10 would share each 1032-token row, 20 a step of 2 rows; rows packed to 848 tokens
    # hold 8, and 2 of them make the effective batch of 16.
    row = rows["telecom", "4090"]
    assert row.model == "Qwen/Qwen2.5-1.5B-Instruct"
    assert (method_cell(row), batch_cell(row), checkpointing_cell(row)) == ("LoRA bf16", "2 × 1, packed", "off")
    assert (lengths_cell(row), samples_cell(row), row.plan.cutoff_len) == ("856 packed, 8.0/row", "16", 848)
    assert estimate_cell(row) == "13.7 / 21.6 GB"


def test_behavior_rows_are_planned_for_the_longest_sample(rows):
    # Unpacked, a row is as long as the longest sample; packed, rows of 968 + 1 tokens padded to 976 (cutoff_len 968,
    # above the longest sample) hold two samples on average, and 8 of them make the effective batch of 16.
    row = rows["behavior", "h100x8"]
    assert (batch_cell(row), lengths_cell(row)) == ("2 × 1 × 8 GPUs", "552 (p50 466)")
    assert row.plan.estimate.seq_len == 552
    row = rows["behavior", "4090"]
    assert (batch_cell(row), lengths_cell(row), samples_cell(row)) == ("4 × 2, packed", "976 packed, 2.0/row", "16")


def test_behavior_fits_a_3080_laptop(rows):
    row = rows["behavior", "3080-laptop"]
    assert row.model == "Qwen/Qwen3-0.6B"
    assert row.plan is not None
    assert method_cell(row) == "LoRA bf16"
    assert row.plan.estimate.peak_gb <= 0.9 * row.tier.memory_gb


def test_multi_gpu_rows_name_the_zero_stage_and_the_gpus(rows):
    row = rows["telecom", "4090x2"]
    assert method_cell(row) == "LoRA bf16 + ZeRO-2"
    assert batch_cell(row) == "1 × 1 × 2 GPUs, packed"


def test_a_task_too_big_for_a_tier_names_the_tier_that_fits():
    telecom = load_task("telecom")
    big = dataclasses.replace(telecom, config={**telecom.config, "model": {**telecom.model, "base": "Qwen/Qwen2.5-72B-Instruct"}})
    row = next(row for row in recipe_rows([big]) if row.tier.name == "3080-laptop")
    with pytest.raises(PlanError) as error:
        plan_for(big, get_tier("3080-laptop"), resolve_architecture(big.model["base"]), shipped_lengths(big))
    # The table and the planner's own message agree on the smallest tier that fits.
    assert f"Smallest tier that fits: {row.fits_on} " in str(error.value)
    assert method_cell(row) == "does not fit → l40s"
    assert [cell(row) for cell in (batch_cell, checkpointing_cell, estimate_cell)] == ["—", "—", "—"]
    # It fits there only by the last resorts, and the table names them.
    l40s = next(row for row in recipe_rows([big]) if row.tier.name == "l40s")
    assert method_cell(l40s) == "QLoRA-4 bf16 + 8-bit Adam, rank 8 (task: 32)"


def test_telecom_on_qwen25_7b_gets_a_qlora_plan_on_the_8_gb_laptop():
    telecom = load_task("telecom")
    seven_b = dataclasses.replace(telecom, config={**telecom.config, "model": {**telecom.model, "base": "Qwen/Qwen2.5-7B-Instruct"}})
    row = next(row for row in recipe_rows([seven_b]) if row.tier.name == "3080-laptop")
    assert (method_cell(row), estimate_cell(row)) == ("QLoRA-4 bf16 + 8-bit Adam", "7.2 / 7.2 GB")


def test_every_recipe_trains_within_a_quarter_of_the_effective_batch(rows):
    # Packed rows hold several samples each, and LLaMA-Factory counts rows: the samples per optimizer step are what
    # the task's effective batch means. The planner rounds the batch up to a multiple of the GPUs, and says so.
    checked = 0
    for (task, tier), row in rows.items():
        if row.plan is None:
            continue
        wanted = load_task(task).train["effective_batch_size"]
        planned = -(-wanted // row.tier.devices) * row.tier.devices
        assert row.plan.samples_per_step == pytest.approx(planned, rel=0.25), (task, tier, row.plan.samples_per_step)
        assert planned == wanted or row.plan.departures[0].startswith(f"Effective batch {planned}, not the task's {wanted}")
        checked += 1
    assert checked == sum(row.plan is not None for row in rows.values()) > 40


def test_readme_is_up_to_date():
    # Regenerate with `domaintune recipes` when this fails.
    assert README_FILE.read_text(encoding="utf-8") == render_readme(recipe_rows())


def test_readme_explains_every_column_and_says_it_is_generated(tmp_path, rows):
    text = write_readme(list(rows.values()), tmp_path / "README.md").read_text(encoding="utf-8")
    assert text.startswith("<!-- generated by `domaintune recipes`, do not edit -->")
    assert "| " + " | ".join(column.title for column in COLUMNS) + " |" in text
    assert all(f"- **{column.title}**:" in text for column in COLUMNS)
    assert "| LoRA | 16 | 16 (15) | 32 (30) | 64 (61) | 160 (141) |" in text
    # The measured runs stand beside the estimates, with machine and date.
    assert "## Measured on real GPUs" in text
    assert "| NVIDIA H200 (1 GPU), 2026-11-26 | telecom | Qwen/Qwen2.5-1.5B-Instruct | variant 16 x 1 |" in text



def test_a_task_the_planner_rejects_is_one_row_not_a_crash():
    telecom = load_task("telecom")
    broken = dataclasses.replace(telecom, config={**telecom.config, "train": {**telecom.train, "effective_batch_size": 0}})
    rows = recipe_rows([broken, telecom])
    assert [row.task for row in rows].count("telecom") == 2 * len(load_tiers())  # the table goes on past the bad task
    bad = next(row for row in rows if row.tier.name == "4090" and row.error)
    assert bad.plan is None
    assert method_cell(bad) == "error: effective batch 0 must be a positive number of samples"


def test_the_template_follows_the_model_family(tmp_path):
    from pipelines.core.models import ModelChoice
    from pipelines.planning.recipe import training_recipe

    recipe = training_recipe(load_task("telecom"), get_tier("4090"), ModelChoice("Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B"), tmp_path / "adapter")
    assert (recipe.args["template"], recipe.args["enable_thinking"]) == ("qwen3_nothink", False)
    assert any("template qwen3_nothink (not the task's qwen): Qwen/Qwen3-0.6B is a qwen3 model" in line for line in recipe.header)
    same_family = training_recipe(load_task("telecom"), get_tier("4090"), ModelChoice("Qwen/Qwen2.5-7B-Instruct"), tmp_path / "a")
    assert same_family.args["template"] == "qwen"


def test_a_recipe_packed_shorter_writes_that_cutoff_len_and_says_the_samples_per_step(tmp_path, monkeypatch):
    from pipelines.core.models import ModelChoice
    from pipelines.core.paths import WORKSPACE_ENV, dataset_dir
    from pipelines.data.lengths import LengthStats, write_stats
    from pipelines.planning.recipe import training_recipe

    # Every sample 100 tokens: a 1024-token row would hold 10, two rows 20 for telecom's batch of 16.
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path))
    dataset_dir().mkdir(parents=True)
    write_stats(dataset_dir(), LengthStats("telecom_train", "qwen", 1024, 1000, 1000, 100, 100, 100, 100, 100, 0, [100] * 101))
    recipe = training_recipe(load_task("telecom"), get_tier("4090"), ModelChoice("Qwen/Qwen2.5-1.5B-Instruct"), tmp_path / "adapter")
    assert (recipe.args["packing"], recipe.args["cutoff_len"], recipe.sections["dataset"]["cutoff_len"]) == (True, 800, 800)
    assert "Samples per optimizer step: about 16 (the task's effective batch: 16)." in recipe.header
