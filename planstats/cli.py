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
    from planstats.catalog_view import catalog_json

    ctx = pipeline.context()
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
    pipeline.run_rollup(args.plan, args.year, ctx)
    rows = pipeline.statistics(args.plan, args.year, ctx)
    paths = None
    if args.out:
        paths = pipeline.publish_statistics(args.plan, args.year, Path(args.out), ctx)
    if args.json:
        _print_json([r.to_dict() for r in rows])
    else:
        counts: dict[str, int] = {}
        for r in rows:
            if r.region_code == ctx.catalog.plan(args.plan).region_code:
                counts[r.status] = counts.get(r.status, 0) + 1
        print(f"{args.plan} {args.year}: " + "，".join(f"{k} {v}" for k, v in counts.items()))
        if paths:
            print("\n".join(paths.values()))
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
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("catalog", help="plans and their indicators")
    p.add_argument("--plan")
    p.add_argument("--json", action="store_true")
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
    p.set_defaults(func=cmd_rollup)

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
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, KeyError) as exc:
        print(f"planstats: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
