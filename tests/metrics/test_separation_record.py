"""scripts/separation.py --record: the separation table as a record the docs render."""
import sys
from pathlib import Path

from gankit.experiments import record_tables, records

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import separation  # noqa: E402


def test_separation_writes_its_table_as_a_record(mnist_root, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["--root", str(mnist_root), "--n", "300", "--record", "sep"]
    separation.main(argv)
    record = records.read(tmp_path / "results" / "sep.json")
    assert record.commands == ["python scripts/separation.py " + " ".join(argv)]
    assert [r.label.split(" ")[0] for r in record.rows] == ["real", "real", "real", "one", "uniform"]
    printed = capsys.readouterr().out
    for row in record.rows:
        assert set(row.values) == {"fd", "modes", "modes_kl", "precision", "recall", "density", "coverage"}
        assert row.values["fd"].label == "fd (lenet_mnist, 300 vs 300)"
        assert f"| {row.label} | {row.values['fd'].mean:.2f} |" in printed
    floor, noise = record.rows[0].values, record.rows[-1].values
    assert floor["fd"].mean < noise["fd"].mean and floor["modes"].mean == 10 and noise["recall"].mean == 0
    table, stale = record_tables.markdown_table(record)
    assert not stale and "uniform noise in [-1, 1]" in table
