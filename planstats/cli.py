"""The ``planstats`` command line: what counties, data teams and reviewers run by hand."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from planstats import pipeline


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
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
            print(f"  {ind['code']}  {ind['name']}  {ind['target_text']}{ind['unit']}  "
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


def cmd_ingest(args: argparse.Namespace) -> int:
    import os

    if args.inbox:
        os.environ["PLANSTATS_INBOX"] = str(Path(args.inbox).resolve())
    ctx = pipeline.context()
    outcomes = pipeline.ingest(ctx=ctx)
    if args.json:
        _print_json(outcomes)
    else:
        for o in outcomes:
            print(f"{o['status']:<24} {o['file']}")
        print(f"处理 {len(outcomes)} 个文件；审核报告一览见 {ctx.settings.reports}")
    return 0


def cmd_rollup(args: argparse.Namespace) -> int:
    ctx = pipeline.context()
    basis = "approved" if args.approved_only else "accepted"
    pipeline.run_rollup(args.plan, args.year, ctx, basis=basis, as_of=args.as_of)
    rows = pipeline.statistics(args.plan, args.year, ctx, basis=basis)
    paths = None
    if args.out:
        paths = pipeline.publish_statistics(args.plan, args.year, Path(args.out), ctx, basis)
        paths["html"] = pipeline.publish_dashboard(args.year, ctx, basis)
    if args.json:
        _print_json([r.to_dict() for r in rows])
    else:
        counts: dict[str, int] = {}
        for r in rows:
            if r.region_code == ctx.catalog.plan(args.plan).region_code:
                counts[r.status] = counts.get(r.status, 0) + 1
        what = "仅已审核通过的数据" if args.approved_only else "全部已接收的数据"
        if args.as_of:
            what += f"（截至 {args.as_of}）"
        print(f"{args.plan} {args.year}（{what}）: "
              + "，".join(f"{k} {v}" for k, v in counts.items()))
        if paths:
            print("\n".join(paths.values()))
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from planstats.review import LABELS

    if args.action == "list":
        rows = pipeline.review_list(args.year, args.status)
        if args.json:
            _print_json(rows)
        for r in [] if args.json else rows:
            print(f"{r['submission_id']}  {r['region_code']} {r['region_name'] or ''}  "
                  f"{r['file_name']}  {r['status']}  {'当前' if r['is_current'] else '历史'}  "
                  f"{LABELS.get(r['review_status'], r['review_status'])}")
        return 0
    if args.action == "show":
        _print_json(pipeline.review_show(args.submission))
        return 0
    result = pipeline.review_decide(args.submission, args.action, args.reviewer, args.comment)
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

    p = sub.add_parser("rollup", help="the annual statistics of a plan")
    p.add_argument("--plan", required=True)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--json", action="store_true")
    p.add_argument("--out")
    p.add_argument("--approved-only", action="store_true",
                   help="use only submissions a reviewer approved")
    p.add_argument("--as-of", help="ISO timestamp: the statistics as the data stood then")
    p.set_defaults(func=cmd_rollup)

    p = sub.add_parser("review", help="reviewer decisions on submissions")
    review_sub = p.add_subparsers(dest="action", required=True)
    q = review_sub.add_parser("list", help="submissions of a year with their review status")
    q.add_argument("--year", type=int, required=True)
    q.add_argument("--status", choices=["pending", "approved", "returned", "reopened"])
    q.add_argument("--json", action="store_true")
    q = review_sub.add_parser("show", help="one submission and its review history")
    q.add_argument("submission")
    for action, text in (("approve", "approve and lock the region and year"),
                         ("return", "send back to the county"),
                         ("reopen", "unlock an approved region and year")):
        q = review_sub.add_parser(action, help=text)
        q.add_argument("submission")
        q.add_argument("--reviewer", required=True)
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
