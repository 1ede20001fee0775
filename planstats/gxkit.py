"""The Great Expectations machinery: contexts, suites, checkpoints, pruning and Data Docs.

What the rules are lives in ``expectations`` (data) and what a failure means for a county in
``validate``; this module only turns suite files into GX objects and runs them. A project
directory keeps suites, results and Data Docs on disk; ``None`` is an ephemeral, in-memory
context for the dry run, which writes no GX file at all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from functools import cache, lru_cache, partial
from pathlib import Path
from typing import Any

from planstats import forked
from planstats.settings import Settings

Failure = tuple[dict[str, Any], list[dict[str, Any]]]  # an expectation's meta, its failing rows


@cache
def gx_context(project_dir: Path | None) -> Any:
    """A file-backed GX project, once per process and directory; None keeps nothing on disk."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if project_dir is None:
        context = gx.get_context(mode="ephemeral")
    else:
        context = gx.get_context(mode="file", project_root_dir=str(project_dir))
        if context.variables.config_variables_file_path:
            # GX reads and parses that YAML file at every access to a project setting, ≈ 20
            # times a checkpoint run (a third of its fixed cost); the project defines none
            context.variables.config_variables_file_path = None
            context.variables.save()
            context = gx.get_context(mode="file", project_root_dir=str(project_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def suite_from_file(context: Any, suite_path: Path) -> Any:
    """A suite file as a GX suite, saved in ``context``; severity and description carried over."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    data = json.loads(suite_path.read_text(encoding="utf-8"))
    suite = gx.ExpectationSuite(name=data["name"], meta=data.get("meta"))
    for exp in data["expectations"]:
        suite.add_expectation_configuration(ExpectationConfiguration(
            type=exp["type"], kwargs=exp["kwargs"], meta=exp["meta"],
            severity=exp.get("severity", "critical"), description=exp.get("description")))
    return context.suites.add_or_update(suite)


def run_suites(df: Any, suite_names: list[str], expectations_dir: Path,
               project_dir: Path | None, asset_name: str, index_columns: tuple[str, ...],
               run_name: str | None = None, beside: forked.Beside | None = None) -> list[Failure]:
    """Run the named suites over ``df`` in one checkpoint; failing rows come back by
    ``index_columns``. An expectation that cannot run raises: that is the pipeline's fault.

    ``beside``: the run handed to it (a ``forked.Worker``'s ``run`` with what this process
    does meanwhile): the table goes pickled (≈ 10 MB, 10 ms a chunk), the failures come back.
    """
    from great_expectations.core.run_identifier import RunIdentifier

    suites = tuple(_suite_key(expectations_dir, name) for name in suite_names)
    # run_time given explicitly: GX would otherwise try to parse the run name as a date
    run_id = RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))
    # saved here: a worker forked after this finds it made, for every chunk it runs
    _checkpoint(project_dir, asset_name, suites, index_columns)
    run = partial(_run, df, suites, project_dir, asset_name, index_columns, run_id)
    return run() if beside is None else beside(run)


def _run(df: Any, suites: tuple[SuiteKey, ...], project_dir: Path | None, asset_name: str,
         index_columns: tuple[str, ...], run_id: Any) -> list[Failure]:
    from great_expectations.exceptions.resource_freshness import ResourceFreshnessAggregateError

    try:
        result = _checkpoint(project_dir, asset_name, suites, index_columns).run(
            batch_parameters={"dataframe": df}, run_id=run_id)
    except ResourceFreshnessAggregateError:  # another process saved the suites since: reload
        forget_saved()
        result = _checkpoint(project_dir, asset_name, suites, index_columns).run(
            batch_parameters={"dataframe": df}, run_id=run_id)
    failures = []
    for run in result.run_results.values():
        for res in run.results:
            if res.success:
                continue
            if _raised(res.exception_info):
                # GX reports an expectation that could not run as a mere failure, which would
                # let the county's file through
                raise RuntimeError(f"GX expectation {res.expectation_config.type} "
                                   f"({res.expectation_config.meta.get('rule')}) could not run: "
                                   f"{_exception_text(res.exception_info)}")
            rows = res.result.get("unexpected_index_list") or []
            failures.append((dict(res.expectation_config.meta), rows))
    return failures


SuiteKey = tuple[Path, int]  # a suite file and its mtime: a regenerated suite is added again


def _suite_key(expectations_dir: Path, name: str) -> SuiteKey:
    path = expectations_dir / f"{name}.json"
    return path, path.stat().st_mtime_ns


# GX objects saved once per process and reused: saving them again gives them new ids, which
# makes every cached checkpoint that holds the old ones "not fresh".
def forget_saved(contexts: bool = False) -> None:
    """Drop the GX objects saved by this process (and its GX contexts, when asked)."""
    for cached in (_source, _suite, _definition, _checkpoint, *([gx_context] if contexts else [])):
        cached.cache_clear()


@lru_cache(maxsize=64)
def _suite(project_dir: Path | None, key: SuiteKey) -> Any:
    return suite_from_file(gx_context(project_dir), key[0])


@lru_cache(maxsize=8)
def _source(project_dir: Path | None) -> Any:
    """The datasource, saved afresh once per process: one loaded from the project's config
    gives batches without a data context. Every cached asset hangs off this one object."""
    return gx_context(project_dir).data_sources.add_or_update_pandas("submissions")


@lru_cache(maxsize=64)
def _definition(project_dir: Path | None, asset_name: str, key: SuiteKey) -> Any:
    import great_expectations as gx

    context = gx_context(project_dir)
    source = _source(project_dir)
    asset = next((a for a in source.assets if a.name == asset_name), None) or \
        source.add_dataframe_asset(asset_name)
    batch = next((b for b in asset.batch_definitions if b.name == "batch"), None) or \
        asset.add_batch_definition_whole_dataframe("batch")
    suite = _suite(project_dir, key)
    return context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{suite.name}_{asset_name}", data=batch, suite=suite))


@lru_cache(maxsize=32)
def _checkpoint(project_dir: Path | None, asset_name: str, suites: tuple[SuiteKey, ...],
                index_columns: tuple[str, ...]) -> Any:
    """One checkpoint per set of suites, named after them so sets do not overwrite each other."""
    import great_expectations as gx

    definitions = [_definition(project_dir, asset_name, key) for key in suites]
    name = "+".join(key[0].stem for key in suites)
    return gx_context(project_dir).checkpoints.add_or_update(gx.Checkpoint(
        name=f"planstats_{asset_name}_{name}", validation_definitions=definitions,
        result_format={"result_format": "COMPLETE",
                       "unexpected_index_column_names": list(index_columns)}))


def _raised(info: Any) -> bool:
    """GX's exception info: one ExceptionInfo, or one per metric that could not be computed."""
    if not info:
        return False
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(_raised(v) for v in info.values() if isinstance(v, dict))


def _exception_text(info: Any) -> str:
    if "exception_message" in info:
        return str(info["exception_message"])
    return "; ".join(_exception_text(v) for v in info.values() if isinstance(v, dict))


def prune_results(context: Any, keep: int | None = None) -> int:
    """Keep the newest ``keep`` (default: the gx_keep_runs setting) results per suite; return
    how many went."""
    keep = Settings.from_env().gx_keep_runs if keep is None else keep
    store = context.validation_results_store
    by_suite: dict[str, list[Any]] = defaultdict(list)
    for key in store.list_keys():
        by_suite[key.expectation_suite_identifier.name].append(key)
    removed = 0
    for keys in by_suite.values():
        keys.sort(key=lambda k: k.run_id.run_time, reverse=True)
        for key in keys[keep:]:
            store.remove_key(key)
            removed += 1
    return removed


def data_docs_index(project_dir: Path) -> Path:
    return project_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def build_data_docs(project_dir: Path, keep: int | None = None) -> Path:
    """Prune old results, then rebuild the site: its pages and index grow with what is kept."""
    context = gx_context(project_dir)
    prune_results(context, keep)
    context.build_data_docs()
    return data_docs_index(project_dir)
