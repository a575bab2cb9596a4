"""The generation benchmark on a machine without a GPU: it runs, refuses both sides with a reason, and its results
file says it was not measured; the goal line is computed from the two engines' tokens/s."""

import subprocess
import sys

from bench.generation import goal_line, main, run_rows
from pipelines.core.paths import REPO_ROOT


def test_help_runs_without_a_gpu():
    result = subprocess.run([sys.executable, "-m", "bench.generation", "--help"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "--max-new-tokens" in result.stdout


def test_without_a_gpu_nothing_is_measured_and_the_results_say_so(tmp_path, capsys):
    assert main(["--results", str(tmp_path / "generation.md")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("hf side refused: no GPU (")
    assert printed[1].startswith("vllm side refused: no GPU (") and printed[1].endswith("and vLLM needs one")
    text = (tmp_path / "generation.md").read_text(encoding="utf-8")
    assert "not measured: no GPU (" in text and "python -m bench.generation" in text


def test_the_goal_is_vllm_at_five_times_hf_on_trajectory():
    def figures(hf, fast):
        runs = {"hf": {"rows": 240, "tokens": int(hf * 100), "seconds": 100.0, "tokens_per_s": hf, "startup_s": 20.0},
                "vllm": {"rows": 240, "tokens": int(fast * 10), "seconds": 10.0, "tokens_per_s": fast, "startup_s": 60.0}}
        return {"trajectory": {"runs": runs}}

    assert goal_line(figures(400.0, 2400.0)) == "- trajectory: vllm at 6.00x hf's tokens/s (goal >= 5x: met)"
    assert goal_line(figures(400.0, 1600.0)) == "- trajectory: vllm at 4.00x hf's tokens/s (goal >= 5x: missed)"
    assert run_rows(figures(400.0, 2400.0))[2:] == ["| trajectory | hf | 240 | 40,000 | 100.0 | 400 | 20 | 1.00x |",
                                                    "| trajectory | vllm | 240 | 24,000 | 10.0 | 2,400 | 60 | 6.00x |"]
    assert goal_line({"trajectory": {"runs": {"hf": {"failed": "x"}}}}).endswith("not measured (both engines are needed)")
