"""The seed blocks of ``ntkcheck calibrate`` as tasks: one after another here, on an embedded Dask
``LocalCluster``, or on an existing Dask cluster (``--scheduler ADDRESS``, e.g. started by dask-jobqueue).

A block is a few consecutive base seeds; its task is one pytest process over the claim modules with
``--claims-seeds`` for those seeds (exactly what the one-run calibration draws for them), run serially
with one BLAS/OpenMP thread, which returns its ``--claims-json`` document as text. The client writes each
document into the block folder (``seeds-A-B.json``, atomically) as its task finishes, so an interrupted
calibration resumes (``--resume DIR``) from the blocks already written: a seed covered by a valid block
file of the same settings is not run again. Then :func:`ntkcheck.merge.merge_documents` joins the blocks
into one ``--claims-seeds`` document (refusing an overlap or a lost test), which
:func:`ntkcheck.calibrate.summarize` reads like the one-run document.

Dask, not a hand-made pool: it streams results as tasks finish (``as_completed``), reschedules the task
of a worker that died (a killed process, a preempted SLURM job) on another worker, up to
``distributed.scheduler.allowed-failures`` times (3 by default), and the same code talks to a laptop's
LocalCluster or a cluster's scheduler. One thread per worker: a block is one serial pytest process, so
W workers keep W cores busy, as pytest-xdist's W workers did (measured in docs/regression.md).

Requirements on a cluster: the workers see the repository at the client's working directory (a shared
file system, as SLURM clusters have) and have ntkcheck installed with its test extras. Cost: a pytest
start (~2 s: imports and collection) per block, on top of the block's tests.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ntkcheck._validate import InvalidArgument
from ntkcheck.results import load_results, validate

PYTEST_EXIT_OK = (0, 1)  # all passed / some tests failed: both leave a complete JSON behind
MANIFEST = "calibration-blocks.json"  # the settings of the blocks in a --resume folder
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclasses.dataclass(frozen=True)
class Block:
    """One task: the claims ``paths`` under base seeds ``seeds`` at ``profile``, run in ``cwd``."""

    seeds: tuple
    paths: tuple
    profile: str
    cwd: str

    @property
    def name(self) -> str:
        return f"seeds-{self.seeds[0]}-{self.seeds[-1]}"

    def command(self, claims_json) -> list[str]:
        # the worker's own Python (sys.executable is evaluated on the worker); no cache (its last-failed
        # list would fill with seed copies), no benchmark plugin; -q --tb=no: the table is the report
        return [sys.executable, "-m", "pytest", *self.paths, "-p", "no:cacheprovider", "-p", "no:benchmark",
                "-q", "--tb=no", "--claims-profile", self.profile,
                "--claims-seeds", ",".join(map(str, self.seeds)), "--claims-json", str(claims_json)]


def run_block(block: Block) -> str:
    """The task: run ``block`` in a fresh pytest process, return its claims document (JSON text).
    Raises RuntimeError if pytest could not run (a usage error, a crash of the session)."""
    env = dict(os.environ)
    for variable in _THREAD_VARIABLES:  # one core per worker: a second thread would only spin
        env.setdefault(variable, "1")
    with tempfile.TemporaryDirectory(prefix="ntkcheck-block-") as scratch:
        claims_json = Path(scratch) / "claims.json"
        command = block.command(claims_json)
        result = subprocess.run(command, cwd=block.cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, check=False)
        if result.returncode not in PYTEST_EXIT_OK or not claims_json.is_file():
            tail = " | ".join(result.stdout.strip().splitlines()[-3:])[-300:]
            raise RuntimeError(f"pytest exited with status {result.returncode} and no complete claims JSON: "
                               f"{' '.join(command)} ({tail})")
        return claims_json.read_text()


def plan(seeds, block_size: int, paths, profile: str, cwd) -> list[Block]:
    """The blocks of ``seeds`` (consecutive runs of ``block_size`` seeds)."""
    seeds = list(seeds)
    return [Block(tuple(seeds[i:i + block_size]), tuple(map(str, paths)), profile, str(cwd))
            for i in range(0, len(seeds), block_size)]


class BlockFolder:
    """The folder of block documents: a temporary one, or the ``--resume`` folder whose blocks of the
    same settings (profile, paths, working directory) count as done."""

    def __init__(self, folder, *, profile: str, paths, cwd):
        self.path = Path(folder)
        self.settings = {"profile": profile, "paths": [str(p) for p in paths], "cwd": str(cwd)}
        self.path.mkdir(parents=True, exist_ok=True)
        manifest = self.path / MANIFEST
        if manifest.is_file():
            try:
                stored = json.loads(manifest.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise InvalidArgument(f"--resume folder {str(self.path)!r}: unreadable {MANIFEST} ({exc})") from None
            if stored != self.settings:
                changed = [k for k in self.settings if stored.get(k) != self.settings[k]]
                raise InvalidArgument(f"--resume folder {str(self.path)!r} holds blocks of another calibration "
                                      f"({', '.join(f'{k} {stored.get(k)!r}' for k in changed)}, now "
                                      f"{', '.join(repr(self.settings[k]) for k in changed)}): use another folder")
        else:
            manifest.write_text(json.dumps(self.settings, indent=1) + "\n")

    def done(self, wanted) -> dict:
        """{file name: document} of the valid block files whose seeds all lie in ``wanted``. A file that
        does not read (a block interrupted while being written cannot be one: writes are atomic) is an
        error, not silently redone."""
        wanted, found = set(wanted), {}
        for path in sorted(self.path.glob("seeds-*.json")):
            document = load_results(path)
            if document.get("profile") == self.settings["profile"] and set(document.get("base_seeds") or ()) <= wanted:
                found[str(path)] = document
        return found

    def write(self, block: Block, text: str) -> tuple[str, dict]:
        document = validate(json.loads(text), f"the claims JSON of block {block.name}")
        path = self.path / f"{block.name}.json"
        partial = path.with_suffix(".json.partial")
        partial.write_text(text)
        partial.replace(path)  # atomic: a block file is complete or absent
        return str(path), document


class Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal, a line per block otherwise)."""

    WIDTH = 30

    def __init__(self, total: int, done: int = 0, stream=None):
        self.total, self.done, self.stream = total, done, stream or sys.stderr
        self.started = time.perf_counter()
        self.tty = getattr(self.stream, "isatty", lambda: False)()

    def advance(self, label: str) -> None:
        self.done += 1
        filled = round(self.WIDTH * self.done / max(self.total, 1))
        line = (f"calibrate [{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} blocks, "
                f"{time.perf_counter() - self.started:.0f} s; {label} done")
        self.stream.write(("\r" + line + ("\n" if self.done == self.total else "")) if self.tty else line + "\n")
        self.stream.flush()


def _client(scheduler, workers: int):
    """A dask.distributed Client: to ``scheduler``, or to a fresh LocalCluster of ``workers`` processes
    with one thread each. Returns (client, cluster or None, a description)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InvalidArgument("the Dask engine needs the 'distributed' package: pip install -e \".[test]\" "
                              "(or \".[cluster]\"), or run with --engine xdist") from None
    if scheduler is not None:
        try:  # an address, or the scheduler file of `dask scheduler --scheduler-file F` / dask-mpi
            client = (Client(scheduler_file=scheduler) if Path(scheduler).is_file()
                      else Client(scheduler))  # waits distributed.comm.timeouts.connect (30 s by default)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InvalidArgument(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
        return client, None, f"Dask scheduler {scheduler}"
    # memory_limit 0: a block's memory is its pytest process's, not the worker's; dashboard on a free port
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=0,
                           dashboard_address=":0")
    return Client(cluster), cluster, f"Dask LocalCluster, {workers} workers x 1 thread"


def run_blocks(blocks: list[Block], folder: BlockFolder, *, workers: int, scheduler=None,
               progress: Progress) -> str:
    """Run ``blocks`` (serially when ``workers`` is 0 and no scheduler is given, else as Dask tasks),
    writing each document into ``folder`` as it arrives. Returns a description of where they ran."""
    if not blocks:
        return "nothing to run"
    if scheduler is None and workers == 0:
        for block in blocks:
            folder.write(block, _attempt(run_block, block))
            progress.advance(block.name)
        return "one process"
    client, cluster, where = _client(scheduler, workers)
    from distributed import as_completed  # importable: _client checked
    futures = {}
    try:
        futures = {client.submit(run_block, block, key=f"ntkcheck-calibrate-{block.name}-{os.getpid()}",
                                 pure=False): block for block in blocks}
        for future in as_completed(futures):
            block = futures[future]
            folder.write(block, _attempt(future.result))
            progress.advance(block.name)
        return where
    finally:
        client.cancel(list(futures))  # after an error the other blocks are not needed (done: a no-op)
        client.close()
        if cluster is not None:
            cluster.close()


def _attempt(call, *args) -> str:
    try:
        return call(*args)
    except RuntimeError as exc:  # pytest could not run: the same for every block, no retry
        raise InvalidArgument(str(exc)) from None
    except Exception as exc:  # e.g. distributed's KilledWorker: a block whose workers died again and again
        if type(exc).__name__ == "KilledWorker":
            raise InvalidArgument(f"a block's worker died more often than Dask retries ({exc}); the blocks "
                                  "already written stay in the block folder: rerun with --resume") from None
        raise
