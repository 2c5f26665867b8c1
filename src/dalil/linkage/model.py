"""The linkage model: Splink's Fellegi-Sunter model on DuckDB, trained by EM on the data.

Names are compared in their script-neutral comparison form (:mod:`dalil.names`): exactly (with
a term-frequency adjustment, so that agreeing on a common name counts less than agreeing on a
rare one), then by phonetic key, then by Jaro-Winkler similarity; a given name found in the
other record's family-name column (and the other way round) is its own level, because lists
swap them. Dates of birth exactly, then a single typing slip, then the same year, one year off
and three years off. Numbers exactly or one slip apart; addresses and places by similarity.
A field one record lacks counts neither way.

Candidate pairs come from blocking rules that survive transliteration, swapped names and a year
off: phonetic keys of the names, each rule with enough of them (or the birth year) that one
common name does not put a whole list in one block. The same settings run on Splink's Spark
backend (docs/linkage.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

COMPARED = ("given", "family", "father", "grandfather", "mother", "birth", "sex", "branch",
            "detainee_number", "national_id", "address", "postcode", "place")  # fmt: skip
"""The compared fields, in the order of the model (and of a pair's evidence)."""


def _name(column: str, key: str | None, swapped_with: str | None = None) -> Any:
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    levels: list[Any] = [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column, term_frequency_adjustments=True).configure(
            label_for_charts="the same"
        ),
    ]
    if swapped_with is not None:
        levels.append(
            cll.CustomLevel(
                f'"{column}_l" = "{swapped_with}_r" AND "{swapped_with}_l" = "{column}_r"',
                f"the same, in the {swapped_with} name's column",
                base_dialect_str="duckdb",
            )
        )
    if key is not None:
        levels.append(
            cll.CustomLevel(f'"{key}_l" = "{key}_r"', "sounds the same", base_dialect_str="duckdb")
        )
    levels += [
        cll.JaroWinklerLevel(column, 0.92).configure(label_for_charts="nearly the same"),
        cll.JaroWinklerLevel(column, 0.8).configure(label_for_charts="similar"),
        cll.ElseLevel().configure(label_for_charts="different"),
    ]
    return CustomComparison(levels, output_column_name=column, comparison_description=column)


def _birth() -> Any:
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    return CustomComparison(
        [
            cll.CustomLevel(
                '("birth_date_l" IS NULL OR "birth_date_r" IS NULL)'
                ' AND ("birth_year_l" IS NULL OR "birth_year_r" IS NULL)',
                "birth unknown",
                base_dialect_str="duckdb",
            ).configure(is_null_level=True),
            cll.ExactMatchLevel("birth_date").configure(label_for_charts="the same date"),
            cll.LevenshteinLevel("birth_date", 1).configure(label_for_charts="one digit apart"),
            cll.ExactMatchLevel("birth_year").configure(label_for_charts="the same year"),
            cll.CustomLevel(
                'abs("birth_year_l" - "birth_year_r") <= 1',
                "a year apart",
                base_dialect_str="duckdb",
            ),
            cll.CustomLevel(
                'abs("birth_year_l" - "birth_year_r") <= 3',
                "two or three years apart",
                base_dialect_str="duckdb",
            ),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
        output_column_name="birth",
        comparison_description="date or year of birth",
    )


def _number(column: str) -> Any:
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    return CustomComparison(
        [
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(label_for_charts="the same"),
            cll.DamerauLevenshteinLevel(column, 1).configure(label_for_charts="one slip apart"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
        output_column_name=column,
        comparison_description=column,
    )


def _text(column: str) -> Any:
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    return CustomComparison(
        [
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(label_for_charts="the same"),
            cll.JaroWinklerLevel(column, 0.92).configure(label_for_charts="nearly the same"),
            cll.JaroWinklerLevel(column, 0.8).configure(label_for_charts="similar"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
        output_column_name=column,
        comparison_description=column,
    )


SHOWN = {"birth": ("birth_date", "birth_year")}
"""A comparison's values as shown in its evidence, when they are not its own column."""


def levels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Per comparison, the label of each comparison-vector value (gamma) of a saved model."""
    out: dict[str, dict[int, str]] = {}
    for comparison in model.get("comparisons", []):
        found = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        out[comparison["output_column_name"]] = {
            len(found) - 1 - i: str(lv.get("label_for_charts") or "") for i, lv in enumerate(found)
        }
    return out


def steady(model: dict[str, Any]) -> dict[str, Any]:
    """The model with every level EM could not see made neutral: a level that no pair of
    records reached in training (probability estimated as nothing) would otherwise weigh
    enormously for or against the first pair that reaches it."""
    for comparison in model.get("comparisons", []):
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level") or level.get("sql_condition") == "ELSE":
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            if m is None or u is None:
                continue
            if min(m, u) < 1e-6:
                level["m_probability"] = level["u_probability"] = max(m, u, 1e-6)
            elif level.get("label_for_charts") in AGREEING and m < u:
                # exact agreement never counts against a match, whatever a small sample says
                level["m_probability"] = u
    return model


AGREEING = frozenset({"the same", "the same date", "the same year"})
"""Levels of full agreement: :func:`steady` never lets them weigh against a match."""


def blocking_rules() -> list[Any]:
    """Who is compared with whom. Each rule joins records that share *several* keys, so the
    commonest names alone never make a block of the whole list."""
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    return [
        block_on("given_key", "family_key", "birth_year"),
        block_on("given_key", "father_key", "family_key"),
        block_on("given_key", "father_key", "birth_year"),
        block_on("father_key", "family_key", "birth_year"),
        CustomRule(  # given and family names swapped
            "l.given_key = r.family_key AND l.family_key = r.given_key"
            " AND l.birth_year = r.birth_year",
            sql_dialect="duckdb",
        ),
        CustomRule(
            "l.given_key = r.family_key AND l.family_key = r.given_key"
            " AND l.father_key = r.father_key",
            sql_dialect="duckdb",
        ),
        block_on("given_key", "birth_date"),
        block_on("family_key", "birth_date"),
        block_on("given_key", "postcode"),
        block_on("family_key", "postcode"),
        block_on("detainee_number"),
        block_on("national_id"),
    ]


def settings(link_type: str) -> Any:
    from splink import SettingsCreator

    return SettingsCreator(
        link_type=link_type,  # type: ignore[arg-type]
        comparisons=[
            _name("given", "given_key", swapped_with="family"),
            _name("family", "family_key", swapped_with="given"),
            _name("father", "father_key"),
            _name("grandfather", None),
            _name("mother", None),
            _birth(),
            _number("sex"),
            _number("branch"),
            _number("detainee_number"),
            _number("national_id"),
            _text("address"),
            _number("postcode"),
            _text("place"),
        ],
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["full"],
        max_iterations=25,
    )


def for_backend(saved: dict[str, Any], link_type: str, dialect: str = "spark") -> dict[str, Any]:
    """A model recorded by a DuckDB run, for another Splink backend (``"spark"``): the SQL of
    :func:`settings` written in that backend's dialect, the trained probabilities taken from
    the recorded model level by level (a saved model's SQL names DuckDB's functions, such as
    ``jaro_winkler_similarity``, which Spark does not have)."""
    rendered: dict[str, Any] = settings(link_type).get_settings(dialect).as_dict()
    prior = "probability_two_random_records_match"
    rendered[prior] = saved[prior]
    for mine, theirs in zip(rendered["comparisons"], saved["comparisons"], strict=True):
        for level, trained in zip(
            mine["comparison_levels"], theirs["comparison_levels"], strict=True
        ):
            level.update(
                {k: trained[k] for k in ("m_probability", "u_probability") if k in trained}
            )
    return rendered


EM_PAIRS = 5e6
"""The most pairs one EM session samples from its blocking rule."""


def train(make: Callable[[Any], Any], link_type: str, records: int) -> tuple[Any, list[str]]:
    """A linker made by ``make(settings)``, trained by EM on the data itself (no labelled pairs
    needed). Returns it with notes of what could not be estimated (Splink's defaults stay for
    that). A failed step is undone by starting again from the model saved before it: Splink can
    leave a linker half-changed (a comparison dropped) when an estimate fails."""
    from splink import block_on

    notes: list[str] = []
    logging.getLogger("splink").setLevel(logging.ERROR)
    linker = make(settings(link_type))

    def guarded(what: str, step: Callable[[Any], Any]) -> None:
        nonlocal linker
        saved = json.dumps(linker.misc.save_model_to_json())
        try:
            step(linker)
        except Exception as exc:  # too few pairs, or an estimate that underflows
            notes.append(f"{what} not estimated ({str(exc).splitlines()[0][:160]})")
            linker = make(json.loads(saved))

    guarded(
        "the prior probability of a match",
        lambda lk: lk.training.estimate_probability_two_random_records_match(
            [
                block_on("national_id"),
                block_on("detainee_number"),
                block_on("full", "birth_date"),
                block_on("full", "birth_year"),
            ],
            recall=0.7,
        ),
    )
    guarded(
        "chance agreement (u)",
        lambda lk: lk.training.estimate_u_using_random_sampling(
            max_pairs=min(5e6, max(1e5, records * 20)), seed=1
        ),
    )
    for rule in (
        block_on("given_key", "family_key"),
        block_on("birth_year", "father_key", "family_key"),
        block_on("birth_date"),
    ):

        def em(lk: Any, rule: Any = rule) -> None:
            # at most a few million pairs per session: a common name and year would otherwise
            # make hundreds of millions at a million records, for no better estimate
            lk.training.estimate_parameters_using_expectation_maximisation(
                rule, fix_u_probabilities=True, max_pairs=EM_PAIRS
            )

        guarded(f"EM blocked on {rule.get_blocking_rule('duckdb').blocking_rule_sql}", em)
    return make(steady(linker.misc.save_model_to_json())), notes
