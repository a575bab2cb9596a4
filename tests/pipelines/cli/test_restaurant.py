from click.testing import CliRunner

from pipelines.cli.restaurant import gen_restaurant
from pipelines.restaurant.generate import DUPLICATES


def test_gen_restaurant_writes_the_records_it_reports(tmp_path):
    out = tmp_path / "agent.jsonl"
    result = CliRunner().invoke(gen_restaurant, ["-o", str(out), "--records", "5", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert result.output == f"{out}: {5 + 2 * DUPLICATES} records\n"
    assert len(out.read_text(encoding="utf-8").splitlines()) == 5 + 2 * DUPLICATES
