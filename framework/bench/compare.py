"""Two bundles side by side: each benchmark's metric and the ratio B/A ("speedup").

``python -m framework.bench compare A B`` prints the table; the ratio is oriented so that
above 1 always means B is better (for latencies it is A's latency over B's).
"""

from __future__ import annotations

from typing import Any

from .bundle import Bundle, verify_bundle
from .suite import check_evidence


def compare_bundles(a: Bundle, b: Bundle) -> list[dict[str, Any]]:
    """Rows per benchmark present in either bundle: values, unit, speedup of B over A and
    whether B's correctness evidence matches A's."""
    rows = []
    ids = [x["id"] for x in a.results["benchmarks"]]
    ids += [x["id"] for x in b.results["benchmarks"] if x["id"] not in ids]
    for bench_id in ids:
        ra = _find(a, bench_id)
        rb = _find(b, bench_id)
        ref = ra or rb
        row = {"id": bench_id, "metric": ref["metric"]["name"], "unit": ref["metric"]["unit"],
               "a": ra["metric"]["value"] if ra else None,
               "b": rb["metric"]["value"] if rb else None, "speedup": None,
               "evidence": None}
        if ra and rb:
            va, vb = ra["metric"]["value"], rb["metric"]["value"]
            row["speedup"] = vb / va if ref["metric"]["higher_is_better"] else va / vb
            ok, why = check_evidence(rb["correctness"], ra["correctness"])
            row["evidence"] = "match" if ok else f"DIFFERS: {why}"
        rows.append(row)
    return rows


def _find(bundle: Bundle, bench_id: str) -> dict[str, Any] | None:
    try:
        return bundle.benchmark(bench_id)
    except KeyError:
        return None


def format_comparison(a: Bundle, b: Bundle) -> str:
    """The comparison as a plain-text table."""
    rows = compare_bundles(a, b)
    name_a = f"A: {a.backend}"
    name_b = f"B: {b.backend}"
    head = ("benchmark", "metric", name_a, name_b, "B vs A", "evidence")
    lines = [head]
    for r in rows:
        lines.append((r["id"], r["metric"], _fmt(r["a"], r["unit"]), _fmt(r["b"], r["unit"]),
                      "-" if r["speedup"] is None else f"{r['speedup']:.2f}x",
                      r["evidence"] or "-"))
    widths = [max(len(str(x[i])) for x in lines) for i in range(5)]
    out = []
    for i, row in enumerate(lines):
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row[:5], widths, strict=True))
                   + "  " + row[5])
        if i == 0:
            out.append("  ".join("-" * w for w in widths) + "  --------")
    if a.results["suite_version"] != b.results["suite_version"]:
        out.append(f"note: suite versions differ ({a.results['suite_version']} vs "
                   f"{b.results['suite_version']}); the numbers may not be comparable")
    if a.results["mode"] != b.results["mode"]:
        out.append(f"note: modes differ ({a.results['mode']} vs {b.results['mode']})")
    return "\n".join(out)


def _fmt(v: float | None, unit: str) -> str:
    return "-" if v is None else f"{v:.4g} {unit}"


def compare_paths(path_a: str, path_b: str) -> str:
    return format_comparison(verify_bundle(path_a), verify_bundle(path_b))
