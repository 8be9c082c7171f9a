"""The benchmark at a small size: correctness only (no test asserts a time)."""
from __future__ import annotations

from bench.__main__ import bench, table


def test_the_benchmark_runs_every_case_and_counts_agree(outside_tmp):
    result = bench(rows=2000, repeat=1, memory_factor=2, chunk_size=400, work=outside_tmp("bench"), demo_size="small")
    for case in "ABCEF":
        assert result[case]["seconds"] > 0 and result[case]["ratio_to_B"] > 0
    assert "seconds" in result["D"] or result["D"]["skipped"].startswith("dlt is not installed")
    a = result["A"]["counts"]
    assert a == {"read": 2000, "inserted": 2000 - result["expected_quarantined"], "updated": 0, "unchanged": 0,
                 "quarantined": result["expected_quarantined"]}
    assert result["reference"]["counts_equal"] and result["reference"]["chunk_size"] == 40
    assert result["A"]["warehouse"] == {"audit": a, "quarantine_rows": result["expected_quarantined"]}
    assert result["E"]["counts"]["read"] == 0  # the same file again: recognised, not re-read
    f = result["F"]["counts"]
    assert f["read"] == 2000 and 0 < f["updated"] <= 20 and f["inserted"] == 0
    assert f["quarantined"] == result["expected_quarantined"]
    assert result["memory"]["rows_big"] == 4000 and result["memory"]["peak_rss_mb_big"] > 0
    assert 0 < result["A"]["validate_share"] < 1
    assert set(result["machine"]["versions"]) >= {"pandas", "great-expectations", "pyarrow"}
    g = result["G"]  # a small source, forked from a warm worker and cold: the reference's counts
    assert g["rows"] == 3000 and g["counts_equal"] and g["counts"]["read"] == 3000 and g["counts"]["quarantined"] > 0
    assert len(g["runs"]) == 3 and g["seconds"] > 0 and g["cold_seconds"] > 0
    h = result["H"]  # hub demo: every source loads and quarantines what its manifest says, every finding found
    assert h["size"] == "small" and h["sources"] > 10 and not h["failed"]
    assert h["loads_equal"] and h["quarantine_equal"] and h["findings_equal"] and h["findings"] > 0
    printed = table(result)
    assert "A hub, first load" in printed and "B bare COPY (floor)" in printed
    assert "G small source (3,000 rows)" in printed and "H hub demo --size small" in printed
