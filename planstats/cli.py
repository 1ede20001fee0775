"""The ``planstats`` command line: what counties, data teams and reviewers run by hand."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from planstats import pipeline
from planstats.rollup import BASES


def _json_value(value: Any) -> Any:
    """Instants as ISO 8601 with their offset (UTC), anything else as text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=_json_value)
    sys.stdout.write("\n")


def cmd_catalog(args: argparse.Namespace) -> int:
    from planstats.catalog_view import catalog_json, catalog_markdown

    ctx = pipeline.context()
    if args.markdown:
        print(catalog_markdown(ctx.catalog))
        return 0
    plans = catalog_json(ctx.catalog, args.plan)
    if args.json:
        _print_json(plans)
        return 0
    for plan in plans:
        print(f"{plan['code']}  {plan['name']}  {plan['region_code']}  "
              f"{plan['period_start']}–{plan['period_end']}  {len(plan['indicators'])} 项指标")
        for ind in plan["indicators"]:
            unit = "" if ind["target_text"].endswith(ind["unit"]) else ind["unit"]
            print(f"  {ind['code']}  {ind['name']}  {ind['target_text']}{unit}  "
                  f"{ind['attribute']}  {ind['aggregation']}")
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    path = pipeline.make_template(args.region, args.year, Path(args.output))
    print(f"已生成填报模板：{path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    result = pipeline.validate_file(Path(args.file).resolve())
    if args.json:
        _print_json(result)
    else:
        from planstats.publish import STATUS_LABELS

        print(f"{result['file']}: {STATUS_LABELS[result['status']]}  {result['summary']}")
        for issue in result["issues"]:
            where = " ".join(str(x) for x in (issue["sheet"], issue["row"], issue["column"]) if x)
            print(f"  [{'错误' if issue['severity'] == 'error' else '提示'}] {where}  "
                  f"{issue['indicator_code'] or ''} {issue['message']}")
    return 1 if result["status"] == "rejected" else 0


def _landing_zone(args: argparse.Namespace,
                  run: Callable[[pipeline.Context], list[dict[str, Any]]],
                  summary: Callable[[int, pipeline.Context], str]) -> int:
    """Run one pass over the landing zone (``--inbox`` overrides the setting) and list it."""
    from planstats.settings import Settings

    settings = Settings.from_env()
    if args.inbox:
        settings = settings.replaced(inbox=Path(args.inbox))
    ctx = pipeline.context(settings)
    outcomes = run(ctx)
    if args.json:
        _print_json(outcomes)
    else:
        for o in outcomes:
            print(f"{o['status']:<24} {o['file']}")
        print(summary(len(outcomes), ctx))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    return _landing_zone(args, lambda ctx: pipeline.ingest(ctx=ctx),
                         lambda n, ctx: f"处理 {n} 个文件；审核报告一览见 {ctx.settings.reports}")


def cmd_precheck(args: argparse.Namespace) -> int:
    return _landing_zone(args, lambda ctx: pipeline.precheck(ctx=ctx),
                         lambda n, _: f"预审 {n} 个文件（均未入库）；回执在各县的“回执”文件夹")


def cmd_rollup(args: argparse.Namespace) -> int:
    from planstats.clock import parse_instant
    from planstats.publish import basis_text

    ctx = pipeline.context()
    basis = "approved" if args.approved_only else args.basis
    as_of = parse_instant(args.as_of) if args.as_of else None
    if as_of is not None and basis != "accepted":
        raise ValueError("--as-of applies to all accepted data, not with an approved basis")
    if as_of is None:  # publishing is the scheduled run's job; as-of only reads the past
        pipeline.run_rollup(args.plan, args.year, ctx, basis=basis)
    rows = pipeline.statistics(args.plan, args.year, ctx, basis=basis, as_of=as_of)
    paths = None
    if args.out:
        out = Path(args.out).resolve()
        paths = pipeline.publish_statistics(args.plan, args.year, out, ctx, basis, as_of)
        paths["html"] = pipeline.publish_dashboard(args.year, ctx, basis, out, as_of)
    if args.json:
        _print_json([r.to_dict() for r in rows])
    else:
        counts: dict[str, int] = {}
        for r in rows:
            if r.region_code == ctx.catalog.plan(args.plan).region_code:
                counts[r.status] = counts.get(r.status, 0) + 1
        print(f"{args.plan} {args.year}（{basis_text(basis, as_of)}）: "
              + "，".join(f"{k} {v}" for k, v in counts.items()))
        if paths:
            print("\n".join(paths.values()))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """The yearly DAG's work without a scheduler: every plan's roll-up, files and dashboard."""
    ctx = pipeline.context()
    written = pipeline.publish_year(args.year, ctx, args.basis)
    page = pipeline.publish_dashboard(args.year, ctx, args.basis) if written else None
    if args.json:
        _print_json({"year": args.year, "plans": written, "html": page})
    elif not written:
        print(f"{args.year} 年没有在规划期内的规划")
    else:
        for code, paths in written.items():
            print(f"{code} {args.year}: " + "，".join(paths.values()))
        print(f"年度统计一览：{page}")
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    import csv

    from planstats.publish import QUALITY_HEADERS, quality_lines

    ctx = pipeline.context()
    rows = pipeline.data_quality(args.year, args.plan, ctx, args.threshold, args.min_peers)
    if args.json:
        _print_json([r.to_dict() for r in rows])
        return 0
    names = {c.code: c.name for c in ctx.catalog.concepts.values()}
    if args.csv:
        sys.stdout.write("\ufeff")  # Excel opens UTF-8 right only with the BOM
        writer = csv.writer(sys.stdout)
        writer.writerow(QUALITY_HEADERS)
        writer.writerows(quality_lines(rows, ctx.regions, names))
        return 0
    for r in rows:
        print(f"{r.score:+7.1f}  {r.region_code} {ctx.regions.name(r.region_code)}  "
              f"{r.indicator_code} {names.get(r.indicator_code, '')}  本年值 {r.value:g}{r.unit}  "
              f"{r.reason}")
    print(f"{args.year} 年{f' {args.plan}' if args.plan else ''}：{len(rows)} 条数据质量提示"
          "（供审核参考，不影响数据接收）")
    return 0


def _listing(rows: list[dict[str, Any]], as_json: bool,
             line: Callable[[dict[str, Any]], str]) -> int:
    """Rows as JSON, or one line each."""
    if as_json:
        _print_json(rows)
    else:
        for r in rows:
            print(line(r))
    return 0


def _queue_line(r: dict[str, Any]) -> str:
    what = r.get("file_name") or f"{r['ready']}/{r['total']} 个下级已审核"
    return (f"{r['kind']:<10} {r.get('id') or r['region_code']}  {r['region_code']} "
            f"{r['region_name'] or ''}  {what}")


def cmd_review(args: argparse.Namespace) -> int:
    from planstats.review import FOLLOW_UP_LABELS, LABELS
    from planstats.review.states import OPEN

    if args.action == "list":
        return _listing(pipeline.review_list(args.year, args.status), args.json, lambda r: (
            f"{r['submission_id']}  {r['region_code']} {r['region_name'] or ''}  "
            f"{r['file_name']}  {r['status']}  {'当前' if r['is_current'] else '历史'}  "
            f"{LABELS.get(r['review_status'], r['review_status'])}"))
    if args.action == "show":
        _print_json(pipeline.review_show(args.submission))
        return 0
    if args.action == "approvals":
        return _listing(pipeline.review_approvals(args.year), args.json, lambda r: (
            f"{r['region_code']} {r['region_name']}  {r['state_label']}  "
            f"下级 {r['ready']}/{r['total']} 已审核或不报送"))
    if args.action == "follow-ups":
        rows = pipeline.review_follow_ups(args.year, OPEN if args.open else None)
        return _listing(rows, args.json, lambda r: (
            f"{r['follow_up_id']}  {r['county_code']} {r['county_name'] or ''}  "
            f"{r['indicator_code']} {r['indicator_name'] or ''} = {r['value']}  "
            f"{FOLLOW_UP_LABELS[r['state']]}  {r['comment']}"))
    reviewer = pipeline.cli_reviewer()
    if getattr(args, "reviewer", None):
        print(f"planstats: --reviewer 已不再使用，审核人记录为 {reviewer.name}"
              "（运行命令的系统用户）", file=sys.stderr)
    if args.action == "queue":
        return _listing(pipeline.review_queue(args.year, reviewer), args.json, _queue_line)
    if args.action == "flag":
        mark = pipeline.review_flag(args.submission, args.region, args.indicator, reviewer,
                                    args.comment)
        print(f"{mark['follow_up_id']}: {FOLLOW_UP_LABELS[mark['state']]}")
        return 0
    if args.action == "close-follow-up":
        mark = pipeline.review_close_follow_up(args.follow_up, reviewer, args.comment)
        print(f"{mark['follow_up_id']}: {FOLLOW_UP_LABELS[mark['state']]}")
        return 0
    action = args.action.replace("-", "_")
    if args.region:
        if args.year is None or args.submission:
            raise ValueError("--region 需要与 --year 一起使用，且不带报送编号")
        state = pipeline.review_decide_region(args.region, args.year, action, reviewer,
                                              args.comment)
        print(f"{state['region_code']} {state['region_name']} {state['year']}: "
              f"{state['state_label']}")
        return 0
    if not args.submission:
        raise ValueError("请给出报送编号，或用 --region CODE --year YYYY 审核地区数据")
    result = pipeline.review_decide(args.submission, action, reviewer, args.comment)
    print(f"{result['submission_id']}: {LABELS[result['review_status']]}")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    pipeline.purge_warehouse(args.confirm)
    print("warehouse purged")
    return 0


def cmd_expectations(args: argparse.Namespace) -> int:
    from planstats.expectations import write_suites

    ctx = pipeline.context()
    for path in write_suites(ctx.catalog, ctx.settings.expectations_dir):
        print(path)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from planstats.samples import write_samples

    ctx = pipeline.context()
    inbox = Path(args.inbox).resolve() if args.inbox else ctx.settings.inbox
    years = range(args.first_year, args.last_year + 1)
    for path in write_samples(ctx, args.region, years, inbox, broken=not args.no_broken):
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="planstats", description="规划指标年度统计")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar or progress lines on stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("catalog", help="plans and their indicators")
    p.add_argument("--plan")
    p.add_argument("--json", action="store_true")
    p.add_argument("--markdown", action="store_true", help="the reviewers' catalog page")
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("template", help="the pre-filled workbook for a county and year")
    p.add_argument("--region", required=True)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("validate", help="dry run: check a file, write nothing")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("ingest", help="process every new file in the landing zone")
    p.add_argument("--inbox")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("precheck", help="pre-check the files in <inbox>/<region>/预审/ (no load)")
    p.add_argument("--inbox")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_precheck)

    p = sub.add_parser("rollup", help="the annual statistics of a plan")
    p.add_argument("--plan", required=True)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--json", action="store_true")
    p.add_argument("--out")
    p.add_argument("--approved-only", action="store_true",
                   help="use only submissions a reviewer approved (= --basis approved)")
    p.add_argument("--basis", default="accepted", choices=BASES,
                   help="approved_city / approved_prov: only where the city's / province's "
                        "figures are approved too")
    p.add_argument("--as-of", help="the statistics as the data stood then, computed for you only "
                   "(the published ones are not touched): 2025-03-01 (end of that day), "
                   "2025-03-01T12:00 (Beijing time) or with an offset, 2025-03-01T04:00Z")
    p.set_defaults(func=cmd_rollup)

    p = sub.add_parser("publish", help="roll up and publish every plan in period for a year "
                       "(the yearly DAG's work) into the publish folder")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--basis", default="accepted", choices=BASES)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("quality", help="values far from their peers or their past, for review")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--plan")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv", action="store_true")
    p.add_argument("--threshold", type=float,
                   help="|modified z| beyond which a value is listed (PLANSTATS_QUALITY_THRESHOLD)")
    p.add_argument("--min-peers", type=int,
                   help="reporting counties a peer group needs (PLANSTATS_QUALITY_MIN_PEERS)")
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser("review", help="reviewer decisions, layer by layer, and follow-up marks")
    review_sub = p.add_subparsers(dest="action", required=True)
    q = review_sub.add_parser("list", help="submissions of a year with their review status")
    q.add_argument("--year", type=int, required=True)
    q.add_argument("--status", choices=["pending", "approved", "returned", "reopened"])
    q.add_argument("--json", action="store_true")
    q = review_sub.add_parser("show", help="one submission, its versions and review history")
    q.add_argument("submission")
    q = review_sub.add_parser("queue", help="what awaits your decision in a year")
    q.add_argument("--year", type=int, required=True)
    q.add_argument("--json", action="store_true")
    q = review_sub.add_parser("approvals", help="the approval of each city's and the province's "
                                                "figures")
    q.add_argument("--year", type=int, required=True)
    q.add_argument("--json", action="store_true")
    for action, text in (
            ("approve", "approve a submission (city level), or with --region a city's or the "
                        "province's figures once all below are approved; locks the levels below"),
            ("return", "send a submission back to the county"),
            ("reopen", "unlock an approved submission or region (top-down)"),
            ("not-reporting", "with --region: excuse a region from reporting this year")):
        q = review_sub.add_parser(action, help=text)
        q.add_argument("submission", nargs="?")
        q.add_argument("--region")
        q.add_argument("--year", type=int)
        q.add_argument("--comment")
        q.add_argument("--reviewer", help="ignored: the operating-system user is recorded")
    q = review_sub.add_parser("flag", help="mark a value of a submission 待核实")
    q.add_argument("submission")
    q.add_argument("--region", required=True, help="the value's region (county or unit below)")
    q.add_argument("--indicator", required=True)
    q.add_argument("--comment", required=True)
    q = review_sub.add_parser("follow-ups", help="follow-up marks of a year")
    q.add_argument("--year", type=int, required=True)
    q.add_argument("--open", action="store_true", help="only the open ones")
    q.add_argument("--json", action="store_true")
    q = review_sub.add_parser("close-follow-up", help="close an open follow-up mark")
    q.add_argument("follow_up")
    q.add_argument("--comment")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("purge", help="drop every table of a TEST warehouse")
    p.add_argument("--confirm", required=True, help="the warehouse database name")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("expectations", help="regenerate the GX suites from the catalog")
    p.set_defaults(func=cmd_expectations)

    p = sub.add_parser("sample", help="write plausible sample submissions into the inbox")
    p.add_argument("--region", default="511903")
    p.add_argument("--first-year", type=int, default=2021)
    p.add_argument("--last-year", type=int, default=2025)
    p.add_argument("--inbox")
    p.add_argument("--no-broken", action="store_true")
    p.set_defaults(func=cmd_sample)
    return parser


def main(argv: list[str] | None = None) -> int:
    from planstats.progress import configure

    args = build_parser().parse_args(argv)
    configure(quiet=args.quiet)
    try:
        return args.func(args)
    except (ValueError, KeyError, PermissionError) as exc:
        print(f"planstats: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
