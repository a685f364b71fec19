"""HashiraMart: the data and ML platform's Dagster code location, CLI and models.

OpenMP threads (LightGBM's) sleep instead of spinning while they wait for each other
(``OMP_WAIT_POLICY=PASSIVE``, unless set): on a small machine where Spark, Postgres or a second process
also run, spinning threads steal the cores the working thread needs. Measured on this 2-core machine
under load: a 2-thread quantile LightGBM fit took 40 s spinning, 6 s passive (8.2 s / 2.4 s at lower
load). It must be set before LightGBM loads its OpenMP runtime, so here, before any submodule imports it.

Known false-positive warnings of the libraries are silenced here, narrowly (by message), before any of
them is imported, so they appear in no command's output and no run's log:
- Dagster marks ``backfill_policy`` (used on purpose: one run per backfill) and dagster-mlflow's own
  hook and ``MlFlow`` resource as beta, and warns about ``include_sources`` that its own selection
  parser passes;
- platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI), then uses /tmp as it should.
"""

import os
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_KNOWN_FALSE_POSITIVES = (
    r"Parameter `backfill_policy` of function `asset` is currently in beta",
    r"Parameter `include_sources` of function `AssetSelection\.\w+` is currently in beta",
    r"Function `_create_mlflow_run_hook` is currently in beta",
    r"Class `MlFlow` is currently in beta",
    r"XDG_RUNTIME_DIR is not set",
)
for _message in _KNOWN_FALSE_POSITIVES:
    warnings.filterwarnings("ignore", message=_message)
