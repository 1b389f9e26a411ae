"""Skiff's standard benchmark suite and its result bundles.

``python -m framework.bench run --backend NAME --out DIR`` runs the suite and writes a bundle;
``python -m framework.bench compare A B`` compares two; ``python -m framework.bench verify B``
checks one. The hub's leaderboards reuse :func:`verify_bundle`, :func:`check_evidence` and
:func:`protocol_problems`, and accept bundles whose ``suite_version`` they know and whose seeds
equal :data:`SEEDS`.

>>> import framework.bench as bench
>>> bench.SUITE_VERSION
'1.0'
"""

from .bundle import (
    FORMAT,
    FORMAT_VERSION,
    SCHEMA_PATH,
    Bundle,
    BundleError,
    check_bundle_bytes,
    check_output_dir,
    protocol_problems,
    read_bundle_bytes,
    schema,
    verify_archive,
    verify_bundle,
    write_archive,
    write_bundle,
)
from .compare import compare_bundles, format_comparison
from .suite import (
    CORRECTNESS_ATOL,
    CORRECTNESS_RTOL,
    FULL,
    LOSS_STEPS,
    QUICK,
    SEEDS,
    SUITE_VERSION,
    Protocol,
    all_benchmark_ids,
    check_evidence,
    check_results_correctness,
    evidence_for,
    plan,
    run_suite,
)


def run(backend: str, out_dir: str, quick: bool = False, system_yaml: str | None = None,
        archive: bool = False, only: list[str] | None = None, progress=None):
    """Run the suite on ``backend`` and write a verified bundle to ``out_dir``."""
    import framework as fw

    from .system import describe, load_vendor_yaml

    vendor = load_vendor_yaml(system_yaml) if system_yaml else None
    bk = fw.backend.get(backend)
    check_output_dir(out_dir)
    results, log = run_suite(backend, quick=quick, only=only, progress=progress)
    path = write_bundle(out_dir, describe(bk, vendor), results, log, archive=archive)
    return verify_bundle(path)
