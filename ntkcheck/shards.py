"""What a claims run collected, for ``ntkcheck merge``: the ``collection`` key of the ``--claims-json``.

A run can be split into K shards with pytest-split (``pytest claims/ --splits K --group i``), each on its
own machine. To put the shards back together, ``ntkcheck merge`` must know that no test was lost, so
each shard's JSON records

* ``collected``: the node ids the run collected, before any deselection (the same list in every shard
  of one run: the merge checks that the shards split the same suite);
* ``deselected``: those that this shard did not run (pytest-split's other groups, and ``-k``/``-m``);
* ``split``: ``{"group": i, "splits": K, "algorithm": ...}`` under pytest-split, else null.

A test deselected in every shard was deselected on purpose (``-m``/``-k``, the same in each shard); any
other test of ``collected`` must be in exactly one shard's ``tests`` (docs/regression.md).

The lists come from a wrapper around ``pytest_collection_modifyitems``, whose first half runs before
every implementation (pytest's own ``-k``/``-m`` and pytest-split's) and whose second half after them.
Under pytest-xdist the workers collect and the controller writes the JSON, so a worker ships the lists
through ``config.workeroutput`` (every worker collects the same items). Cost: two lists of node ids.
"""
from __future__ import annotations

import pytest

WORKEROUTPUT_KEY = "ntkcheck_collection"


class CollectionRecorder:
    """Registered by the ntkcheck plugin in every process: keeps what the run collected and selected."""

    def __init__(self, config):
        self.config = config
        self.collection: dict | None = None

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(self, config, items):
        collected = [item.nodeid for item in items]
        result = yield
        selected = {item.nodeid for item in items}
        splits, group = config.getoption("splits", None), config.getoption("group", None)
        split = None if not (splits and group) else {
            "group": group, "splits": splits, "algorithm": config.getoption("splitting_algorithm", None)}
        self.collection = {"collected": collected,
                           "deselected": [nodeid for nodeid in collected if nodeid not in selected],
                           "split": split}
        if hasattr(config, "workerinput"):  # an xdist worker: the controller writes the JSON
            config.workeroutput[WORKEROUTPUT_KEY] = self.collection
        return result

    @pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook, on the controller
    def pytest_testnodedown(self, node, error):
        collection = getattr(node, "workeroutput", {}).get(WORKEROUTPUT_KEY)
        if collection is not None and self.collection is None:
            self.collection = collection


def collection(config) -> dict | None:
    """The ``collection`` entry of this run's JSON (None if nothing was collected, e.g. a usage error)."""
    recorder = config.pluginmanager.get_plugin(PLUGIN_NAME)
    return None if recorder is None else recorder.collection


PLUGIN_NAME = "ntkcheck-collection-recorder"


def register(config) -> None:
    config.pluginmanager.register(CollectionRecorder(config), PLUGIN_NAME)
