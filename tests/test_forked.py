"""Work on the second core: a one-off child (forked.beside), a batch's GX worker
(forked.Worker), and the two places the pipeline uses them give what this process would."""

import json
import os
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from planstats import forked, gxkit, pipeline, publish

ENYANG = "511903"
SEEN = "PLANSTATS_TEST_PIDS"  # a file each job appends its process id to


def _job(value: int) -> tuple[int, int]:
    with open(os.environ[SEEN], "a") as fh:
        fh.write(f"{os.getpid()}\n")
    return value * 2, os.getpid()


def _failing_in_a_child(parent: int, value: int) -> int:
    if os.getpid() != parent:
        raise OSError("disk full")
    return value + 1


def _dying_in_a_child(parent: int, value: int) -> int:
    if os.getpid() != parent:
        os._exit(3)
    return value + 1


def _pids(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_beside_gives_the_childs_result_or_does_the_work_here(monkeypatch, tmp_path):
    monkeypatch.setenv(SEEN, str(tmp_path / "pids"))
    calls: list[str] = []
    doubled, pid = forked.beside(partial(_job, 21), lambda: calls.append("meanwhile"))
    assert (doubled, calls) == (42, ["meanwhile"]) and pid != os.getpid()
    parent = os.getpid()
    assert forked.beside(partial(_failing_in_a_child, parent, 1), lambda: None) == 2
    assert forked.beside(partial(_dying_in_a_child, parent, 1), lambda: None) == 2
    assert forked.beside(partial(_job, 1), lambda: None, fork=False) == (2, parent)

    with pytest.raises(ZeroDivisionError):  # an error of the work is raised here
        forked.beside(lambda: 1 / 0, lambda: None)
    with pytest.raises(KeyError):  # meanwhile failed: the child is ended and reaped
        forked.beside(partial(_job, 1), lambda: {}["x"])
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def _nested(value: int) -> tuple[tuple[int, int], int]:
    """A beside inside the work of a child: the inner work runs in that same child."""
    return forked.beside(partial(_job, value), lambda: None), os.getpid()


def test_beside_forks_one_child_at_a_time_and_none_from_a_child(monkeypatch, tmp_path):
    monkeypatch.setenv(SEEN, str(tmp_path / "pids"))
    (inner, inner_pid), child = forked.beside(partial(_nested, 3), lambda: None)
    assert inner == 6 and inner_pid == child != os.getpid()

    pids: list[int] = []

    def others() -> None:  # meanwhile, while the first child runs: its work stays here
        pids.extend(forked.beside(partial(_job, n), lambda: None)[1] for n in range(2))

    assert forked.beside(partial(_job, 5), others)[1] != os.getpid()
    assert pids == [os.getpid()] * 2
    assert forked.beside(partial(_job, 7), lambda: None)[1] != os.getpid(), "forks again after"


def test_a_worker_runs_every_job_in_one_process_beside_this_one(monkeypatch, tmp_path):
    seen = tmp_path / "pids"
    monkeypatch.setenv(SEEN, str(seen))
    order: list[int] = []
    with forked.Worker() as worker:
        results = [worker.run(partial(_job, n), lambda n=n: order.append(n)) for n in range(4)]
        pid = worker.pid
    assert [r[0] for r in results] == [0, 2, 4, 6] and order == [0, 1, 2, 3]
    assert pid not in (None, os.getpid()) and set(_pids(seen)) == {pid}, "one fork, four jobs"
    assert worker.pid is None
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_a_failed_worker_hands_its_job_and_the_later_ones_back(monkeypatch, tmp_path):
    seen = tmp_path / "pids"
    monkeypatch.setenv(SEEN, str(seen))
    parent = os.getpid()
    with forked.Worker() as worker:
        assert worker.run(partial(_job, 1), lambda: None)[1] != parent
        assert worker.run(partial(_dying_in_a_child, parent, 5), lambda: None) == 6
        assert worker.pid is None, "a dead worker is reaped"
        assert worker.run(partial(_job, 2), lambda: None) == (4, parent), "not started again"
    with forked.Worker() as worker:
        assert worker.run(partial(_failing_in_a_child, parent, 7), lambda: None) == 8
        assert worker.run(partial(_job, 3), lambda: None) == (6, parent)
    with forked.Worker(enabled=False) as worker:
        assert worker.run(partial(_job, 4), lambda: None) == (8, parent)
        assert worker.pid is None


def _gx_run_recorded(*args: Any) -> Any:
    with open(os.environ[SEEN], "a") as fh:
        fh.write(f"{os.getpid()}\n")
    return _original_run(*args)


_original_run = gxkit._run


@pytest.mark.parametrize("gx_fork", [True, False], ids=["gx-worker", "gx-here"])
def test_a_batchs_chunks_checked_by_the_gx_worker_as_they_would_be_here(
        ctx, make_workbook, monkeypatch, tmp_path, gx_fork):
    """A chunk a file: each chunk's GX run goes to the worker while the next chunk's files are
    read; the last runs here. Issues, statuses and history between the files are the same."""
    seen = tmp_path / "pids"
    monkeypatch.setenv(SEEN, str(seen))
    monkeypatch.setattr(gxkit, "_run", _gx_run_recorded)
    monkeypatch.setattr(pipeline, "CHUNK_VALUES", 1)
    monkeypatch.setenv("PLANSTATS_GX_FORK", str(gx_fork).lower())
    ctx = pipeline.context()
    folder = ctx.settings.inbox / ENYANG
    make_workbook(folder / "a-2022.xlsx", year=2022, overrides={"ZB0017": (10, None, None)})
    make_workbook(folder / "b-2023.xlsx", year=2023, overrides={"ZB0017": (20, None, None),
                                                                 "ZB0001": (120, 12, 10)})
    make_workbook(folder / "c-2024.xlsx", year=2024, overrides={"ZB0017": (21, None, None)})
    outcomes = pipeline.ingest(ctx=ctx)
    found = [(Path(o["file"]).name, o["status"],
              sorted((i["rule"], i["indicator_code"], i["column"]) for i in o["issues"]))
             for o in outcomes]
    assert found == [
        ("a-2022.xlsx", "accepted", []),
        ("b-2023.xlsx", "rejected", [("ratio_parts", "ZB0001", "F"),
                                     ("value_range", "ZB0001", "E"),
                                     ("yoy_change", "ZB0017", "E")]),  # a's value is history
        ("c-2024.xlsx", "accepted", []),  # b was not loaded: no last year to jump from
    ], json.dumps(found, ensure_ascii=False)
    pids = _pids(seen)
    assert len(pids) == 3 and pids[-1] == os.getpid(), "the last chunk is checked here"
    if gx_fork:
        assert len(set(pids[:2])) == 1 and pids[0] != os.getpid(), "one worker, two chunks"
    else:
        assert set(pids) == {os.getpid()}
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def _write_recorded(*args: Any, **kwargs: Any) -> dict[str, Path]:
    with open(os.environ[SEEN], "a") as fh:
        fh.write(f"{os.getpid()}\n")
    return _original_write(*args, **kwargs)


_original_write = publish.write_statistics


def test_a_years_publication_writes_what_each_plans_would(wh_ctx, make_workbook, monkeypatch,
                                                          tmp_path):
    """publish_year: every plan in period rolled up and published, the largest plan's files by
    a forked child that reads them on connections of its own (SQLite and PostgreSQL); the
    files are those publish_statistics writes plan by plan."""
    ctx = wh_ctx
    seen = tmp_path / "pids"
    monkeypatch.setenv(SEEN, str(seen))
    make_workbook(ctx.settings.inbox / ENYANG / "2025.xlsx", year=2025)
    pipeline.ingest(ctx=ctx)
    monkeypatch.setattr(publish, "write_statistics", _write_recorded)
    written = pipeline.publish_year(2025, ctx)
    assert list(written) == pipeline.plans_of_year(2025, ctx) and len(written) > 1
    pids = _pids(seen)
    assert len(pids) == len(written) and pids.count(os.getpid()) == len(written) - 1
    largest = max(written, key=lambda code: pipeline._size(ctx, code))
    assert largest == "sichuan-14th"
    for code, paths in written.items():
        again = pipeline.publish_statistics(code, 2025, tmp_path / "one-by-one", ctx)
        for kind in ("csv", "json"):
            assert Path(paths[kind]).read_bytes() == Path(again[kind]).read_bytes(), (code, kind)
        assert Path(paths["xlsx"]).stat().st_size > 0
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_planstats_publish_writes_every_plan_of_the_year_and_the_dashboard(
        ctx, make_workbook, capsys):
    from planstats import cli

    make_workbook(ctx.settings.inbox / ENYANG / "2025.xlsx", year=2025)
    pipeline.ingest(ctx=ctx)
    capsys.readouterr()
    assert cli.main(["publish", "--year", "2025", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(out["plans"]) == sorted(pipeline.plans_of_year(2025, ctx))
    assert Path(out["html"]) == ctx.settings.publish / "2025" / "index.html"
    assert all(Path(p).stat().st_size for paths in out["plans"].values() for p in paths.values())
    status = {r.status for r in pipeline.statistics("enyang-14th", 2025, ctx)}
    assert status and status <= {"达标", "未达标", "缺报"}, "rolled up, not only written"
