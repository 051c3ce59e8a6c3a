"""Thread pools of a claims run (issue 18 item 3, ntkcheck/threads.py and the plugin): one BLAS/OpenMP thread
per process by default in a run with claim tests (serial and in each xdist worker), --claims-threads N / the
ini value to choose, 'auto' and runs without claim tests left alone, the original limits back after the run,
and network.matmul's switch following torch's thread count."""
import json

import numpy as np
import pytest
import scipy.linalg  # noqa: F401  (its own BLAS, loaded before the fixtures set the pools)
import torch
from threadpoolctl import threadpool_info

from ntkcheck import network, threads
from ntkcheck._validate import InvalidArgument

pytest_plugins = ["pytester"]

PROBE = '''
import json, os
import numpy as np
import torch
from threadpoolctl import threadpool_info
from ntkcheck import checks


def test_probe({fixture}):
    pools = sorted({{info["num_threads"] for info in threadpool_info()}})
    with open(os.path.join({out!r}, f"probe-{{os.getpid()}}.json"), "w") as f:
        json.dump({{"torch": torch.get_num_threads(), "pools": pools}}, f)
'''


def _probe(pytester, *args, fixture="claim", subprocess=False):
    out = pytester.mkdir(f"out{len(list(pytester.path.glob('out*')))}")
    pytester.makepyfile(test_probe=PROBE.format(fixture=fixture, out=str(out)))
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest_inprocess
    run("-p", "no:cacheprovider", *args).assert_outcomes(passed=1)
    return [json.loads(p.read_text()) for p in out.glob("probe-*.json")]


@pytest.fixture
def two_threads():
    """This process at 2 threads (torch and every pool), as the libraries' default on a 2-core machine."""
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    limits = threadpool_limits(limits=2)
    torch.set_num_threads(2)
    yield
    limits.restore_original_limits()
    torch.set_num_threads(before)


def test_parse_threads():
    assert threads.parse_threads("3") == 3 and threads.parse_threads("auto") is None
    for bad in ("0", "-1", "two", ""):
        with pytest.raises(InvalidArgument, match="--claims-threads must be a number >= 1 or 'auto'"):
            threads.parse_threads(bad)


def _pools() -> dict:
    return {info["filepath"]: info["num_threads"] for info in threadpool_info()}


def test_one_thread_by_default_and_restored_after(pytester, two_threads):
    before = _pools()
    assert _probe(pytester) == [{"torch": 1, "pools": [1]}]
    after = _pools()
    assert torch.get_num_threads() == 2 and {path: after[path] for path in before} == before


def test_option_and_ini_value(pytester, two_threads):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        torch.set_num_threads(1)
        assert _probe(pytester, "--claims-threads", "2") == [{"torch": 2, "pools": [2]}]
        pytester.makeini("[pytest]\nclaims_threads = 2\n")
        assert _probe(pytester) == [{"torch": 2, "pools": [2]}]
        assert _probe(pytester, "--claims-threads", "1") == [{"torch": 1, "pools": [1]}]  # the option wins


def test_auto_and_runs_without_claims_are_left_alone(pytester, two_threads):
    assert _probe(pytester, "--claims-threads", "auto") == [{"torch": 2, "pools": [2]}]
    assert _probe(pytester, fixture="") == [{"torch": 2, "pools": [2]}]  # no claim test: not ours to change


def test_bad_value_is_a_usage_error(pytester):
    pytester.makepyfile(test_nothing="def test_ok():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--claims-threads", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--claims-threads must be a number >= 1 or 'auto', got '0'*"])


def test_one_thread_in_each_xdist_worker(pytester, monkeypatch):
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)  # the workers start with the libraries' defaults
    probes = _probe(pytester, "-n", "2", subprocess=True)
    assert probes == [{"torch": 1, "pools": [1]}]


def test_matmul_follows_the_thread_count(two_threads, monkeypatch):
    a, b = torch.randn(5, 4, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    calls = []
    monkeypatch.setattr(torch, "from_numpy", lambda x: calls.append(1) or torch.as_tensor(np.asarray(x)))
    network.matmul(a, b)
    assert not calls  # 2 threads: torch's BLAS
    limits = threads.ThreadLimits(1)
    limits.apply()
    try:
        assert torch.allclose(network.matmul(a, b), a @ b) and calls  # 1 thread: numpy's BLAS binding
    finally:
        limits.restore()
    assert torch.get_num_threads() == 2
