"""`domaintune export` refuses folders it must not write into (issue 20: `export -o DIR` wrote over the files of a
non-empty folder, `-o <run>/adapter` included, which then held a full model where the run's adapter was)."""

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.core.errors import DomaintuneError
from pipelines.run.export import check_output


@pytest.fixture
def run(tmp_path):
    root = tmp_path / "runs/telecom-cpu-20250101-000000"
    (root / "adapter").mkdir(parents=True)
    (root / "train.yaml").write_text("dataset: telecom_train\n", encoding="utf-8")
    (root / "adapter/adapter_config.json").write_text('{"base_model_name_or_path": "models/tiny-qwen2"}', encoding="utf-8")
    return root


def export(*args):
    return CliRunner().invoke(cli, ["export", *args])


def test_a_non_empty_folder_needs_force(run, tmp_path):
    out = tmp_path / "exports/telecom"
    out.mkdir(parents=True)
    (out / "config.json").write_text("mine", encoding="utf-8")
    result = export("--adapter", str(run / "adapter"), "-o", str(out))
    assert result.exit_code == 1
    assert result.output == f"Error: {out}: not empty (config.json); export into a new or empty folder, or pass --force to write over its files\n"
    assert [p.name for p in out.iterdir()] == ["config.json"] and (out / "config.json").read_text(encoding="utf-8") == "mine"
    check_output(run / "adapter", out, force=True)  # allowed with --force


@pytest.mark.parametrize("inside", ["adapter", "adapter/merged"])
def test_never_into_a_runs_adapter_even_with_force(run, tmp_path, inside):
    result = export("--adapter", str(run / "adapter"), "-o", str(run / inside), "--force")
    assert result.exit_code == 1
    where = "is" if inside == "adapter" else "is inside"
    assert result.output == f"Error: {run / inside}: {where} the adapter folder {run / 'adapter'}; export into a folder of its own, e.g. exports/<name>\n"
    assert sorted(p.name for p in (run / "adapter").iterdir()) == ["adapter_config.json"]


def test_never_into_another_runs_adapter(run, tmp_path):
    other = tmp_path / "runs/telecom-cpu-20250102-000000"
    (other / "adapter").mkdir(parents=True)
    (other / "train.yaml").write_text("dataset: telecom_train\n", encoding="utf-8")
    with pytest.raises(DomaintuneError, match="is inside the adapter folder"):
        check_output(run / "adapter", other / "adapter/merged")


def test_new_and_empty_folders_and_a_folder_beside_the_adapter_are_fine(run, tmp_path):
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "new", tmp_path / "empty", run / "merged"):
        check_output(run / "adapter", out)
