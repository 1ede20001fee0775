"""The catalog as reviewers and the ``catalog --json`` contract see it."""

from __future__ import annotations

from typing import Any

from planstats.catalog import Catalog


def catalog_json(catalog: Catalog, plan_code: str | None = None) -> list[dict[str, Any]]:
    plans = [catalog.plan(plan_code)] if plan_code else list(catalog.plans.values())
    out = []
    for plan in plans:
        out.append({
            "code": plan.code, "name": plan.name, "region_code": plan.region_code,
            "period_start": plan.period_start, "period_end": plan.period_end,
            "baseline_year": plan.baseline_year, "deadline": plan.deadline,
            "source": plan.source,
            "indicators": [{
                "code": i.code, "seq": i.seq, "name": i.name, "concept_name": i.concept.name,
                "aliases": list(i.concept.aliases), "unit": i.concept.unit,
                "category": i.category, "attribute": i.attribute,
                "attribute_inferred": i.attribute_inferred, "comparator": i.comparator,
                "target": i.target, "target_text": i.target_text, "target_year": i.target_year,
                "baseline": i.baseline, "baseline_year": i.baseline_year,
                "aggregation": i.concept.aggregation, "scale": i.concept.scale,
                "numerator": i.concept.numerator, "denominator": i.concept.denominator,
                "valid_range": [i.concept.valid_min, i.concept.valid_max],
                "integer": i.concept.integer, "source_text": i.source_text,
            } for i in plan.indicators],
        })
    return out
