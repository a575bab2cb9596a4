"""`domaintune estimate`, `recipes` and `validate` through click, as a user runs them."""

import json

import pytest
import yaml
from click.testing import CliRunner

from pipelines.cli.main import Group
from pipelines.cli.plan import estimate, recipes, validate
from pipelines.planning.recipe_table import README_FILE


@pytest.fixture
def run():
    group = Group("domaintune", commands=[estimate, recipes, validate])

    def invoke(*args):
        return CliRunner().invoke(group, list(args))

    return invoke


def test_estimate_json_for_7b_lora_is_near_the_published_16_gb(run):
    result = run("estimate", "--params", "7B", "--method", "lora", "--bits", "16", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["peak_gb"] == pytest.approx(16, rel=0.25)
    assert "fits" not in data


def test_estimate_says_qwen3_06b_fits_a_3080_laptop(run):
    result = run("estimate", "--model", "Qwen/Qwen3-0.6B", "--method", "lora", "--bits", "16", "--gpu", "3080-laptop", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["fits"], data["gpu"], data["usable_gb"]) == (True, "3080-laptop", pytest.approx(7.2))


def test_estimate_prints_the_breakdown_and_the_verdict(run):
    result = run("estimate", "--params", "72B", "--method", "lora", "--bits", "16", "--no-checkpointing", "--gpu", "h100")
    assert result.exit_code == 0, result.output
    for part in ("weights", "gradients", "optimizer", "activations", "logits", "overhead", "peak"):
        assert f"  {part} " in result.output
    assert "gradient checkpointing off" in result.output
    assert "does not fit h100:" in result.output
    assert "of 72.0 GB usable (80 GB less 10% headroom)" in result.output


@pytest.mark.parametrize("models", [[], ["--model", "Qwen/Qwen3-0.6B", "--params", "7B"]])
def test_estimate_needs_exactly_one_of_model_and_params(run, models):
    result = run("estimate", *models, "--method", "lora", "--bits", "16")
    assert result.exit_code == 2
    assert "give exactly one of --model and --params" in result.output


def test_estimate_reports_a_bad_combination_in_one_line(run):
    result = run("estimate", "--params", "7B", "--method", "qlora", "--bits", "16")
    assert result.exit_code == 1
    assert result.output == "Error: qlora takes bits 8 or 4, not 16\n"


def test_recipes_prints_every_row_without_writing(run):
    before = README_FILE.stat().st_mtime_ns
    result = run("recipes", "--no-write")
    assert result.exit_code == 0, result.output
    assert "telecom" in result.output and "LoRA bf16" in result.output
    assert "wrote" not in result.output
    assert README_FILE.stat().st_mtime_ns == before


def test_validate_prints_every_problem_and_fails(run, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model_name_or_path: Qwen/Qwen3-0.6B\nstage: sft\nlora_rnak: 8\nlearning_rate: fast\n")
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert "  - lora_rnak: unknown key (did you mean lora_rank?)\n" in result.output
    assert "  - learning_rate: 'fast' is not float\n" in result.output
    assert result.output.endswith(f"Error: not a valid LLaMA-Factory recipe: {path}\n")


def test_validate_passes_a_good_recipe(run, tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(
        "model_name_or_path: Qwen/Qwen3-0.6B\nstage: sft\ndo_train: true\nfinetuning_type: lora\n"
        f"dataset: x\ndataset_dir: {tmp_path}\ntemplate: qwen3\noutput_dir: {tmp_path / 'out'}\nreport_to: none\n"
    )
    result = run("validate", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{path}: ok\n")


def test_recipe_says_on_the_terminal_where_it_lowers_the_task_rank(tmp_path, long_telecom_samples):
    # Telecom samples of 400 tokens on Qwen2.5-7B and an 8 GB laptop: rank 32 and 16 do not fit even with paged
    # 8-bit AdamW, rank 8 does. The user hears it, and the YAML trains rank 8 at the task's alpha/rank of 2.
    from pipelines.cli.plan import recipe_cmd

    out = tmp_path / "r.yaml"
    group = Group("domaintune", commands=[recipe_cmd])
    args = ["recipe", "--task", "telecom", "--gpu", "3080-laptop", "--model", "Qwen/Qwen2.5-7B-Instruct", "-o", str(out)]
    result = CliRunner().invoke(group, args)
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("Note: ")]
    assert [note[:40] for note in notes] == ["Note: Paged 8-bit AdamW (bitsandbytes), ", "Note: LoRA rank 8, not the task's 32: at"]
    assert result.stdout == f"{out}\n"
    recipe = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert (recipe["quantization_bit"], recipe["optim"], recipe["lora_rank"], recipe["lora_alpha"]) == (4, "paged_adamw_8bit", 8, 16)
    assert f"#   - {notes[1].removeprefix('Note: ')}" in out.read_text(encoding="utf-8")


def test_estimate_takes_the_paged_8bit_optimizer(run):
    args = ["--model", "Qwen/Qwen2.5-7B-Instruct", "--method", "qlora", "--bits", "4", "--cutoff", "152", "--lora-rank", "32", "--json"]
    adamw = json.loads(run("estimate", *args).output)
    paged = json.loads(run("estimate", *args, "--optim", "paged_adamw_8bit").output)
    assert (adamw["optim"], paged["optim"]) == ("adamw", "paged_adamw_8bit")
    assert adamw["optimizer"] / paged["optimizer"] == pytest.approx(8 / 2.03125)
