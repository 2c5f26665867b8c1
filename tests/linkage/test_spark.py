"""The linkage model on Splink's Spark backend, for lists that outgrow one machine
(docs/linkage.md): the settings of :mod:`dalil.linkage.model`, trained by EM on a local Spark
session, find the pairs the embedded DuckDB run finds, and a model recorded by a DuckDB run
scores the same pairs on Spark.

Needs pyspark (``pip install -e '.[spark]'``, not a default dependency) and a Java runtime
Spark supports; skipped, saying which is missing, otherwise. Slow (a JVM and a few hundred Spark
jobs, two to four minutes): ``pytest -m slow tests/linkage/test_spark.py``.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pyspark = pytest.importorskip(
    "pyspark", reason="pyspark is not installed: pip install -e '.[spark]' to test on Spark"
)

from dalil.demo.people import FAMILY, GIVEN, people  # noqa: E402
from dalil.linkage import model, predict  # noqa: E402
from dalil.linkage.records import COLUMNS, row  # noqa: E402

pytestmark = pytest.mark.slow


def _java_problem() -> str | None:
    """Why Spark cannot start here (no Java, or one too old for this Spark), else None."""
    java = shutil.which("java")
    if java is None:
        return "no Java runtime on PATH (Spark runs on the JVM: apt-get install default-jre)"
    done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    found = re.search(r'version "(?:1\.)?(\d+)', done.stderr + done.stdout)
    major = int(found.group(1)) if found else 0
    needed = 17 if int(pyspark.__version__.split(".")[0]) >= 4 else 8
    if major < needed:
        return f"Java {major or '?'} is too old for Spark {pyspark.__version__} (needs {needed}+)"
    return None


def _rows() -> list[dict[str, Any]]:
    """Two small lists of the demo's people: one in Arabic script, one in Latin spellings."""
    rng = random.Random(5)
    rows = []
    for p in people(300, seed=3):
        for source in ("a", "b"):
            if rng.random() > 0.7:
                continue
            latin = source == "b"

            def spell(table: list[tuple[str, list[str]]], i: int, latin: bool = latin) -> str:
                return rng.choice(table[i][1]) if latin else table[i][0]

            fields = {"given_name": spell(GIVEN, p.given), "father_name": spell(GIVEN, p.father),
                      "family_name": spell(FAMILY, p.family), "birth_year": str(p.birth_year),
                      "sex": p.sex}  # fmt: skip
            rows.append(row(f"{source}:{p.pid}", source, fields))
    return rows


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    problem = _java_problem()
    if problem:
        pytest.skip(problem)
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    work: Path = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dalil-linkage-test")
        .config("spark.jars", similarity_jar_location())  # Splink's jaro_winkler etc.
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.driver.memory", "1g")
        .config("spark.local.dir", str(work / "local"))
        .config("spark.sql.warehouse.dir", str(work / "warehouse"))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(str(work / "checkpoints"))
    yield session
    session.stop()


@pytest.fixture(scope="module")
def on_duckdb() -> tuple[list[dict[str, Any]], Any]:
    """The rows, and what the embedded DuckDB run finds in them."""
    rows = _rows()
    return rows, predict(rows, "link", 0.5)


@pytest.fixture(scope="module")
def frames(spark: Any, on_duckdb: tuple[list[dict[str, Any]], Any]) -> list[Any]:
    """The two lists as Spark frames, registered with Splink once for both tests."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType
    from splink.backends.spark import SparkAPI

    schema = StructType(
        [StructField(c, LongType() if c == "birth_year" else StringType()) for c in COLUMNS]
    )
    rows = on_duckdb[0]
    db = SparkAPI(spark_session=spark, num_partitions_on_repartition=4)  # type: ignore[no-untyped-call]
    return [
        db.register(
            spark.createDataFrame(
                [tuple(r[c] for c in COLUMNS) for r in rows if r["source_dataset"] == source],
                schema,
            ),
            table_name=f"records_{source}",
        )
        for source in ("a", "b")
    ]


def _pairs(records: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    return {
        tuple(sorted((str(p["unique_id_l"]), str(p["unique_id_r"])))): float(  # type: ignore[misc]
            p["match_probability"]
        )
        for p in records
    }


def test_the_model_trains_on_spark_and_finds_the_duckdb_pairs(
    frames: list[Any], on_duckdb: tuple[list[dict[str, Any]], Any]
) -> None:
    from splink import Linker

    rows, duck = on_duckdb
    linker, _notes = model.train(lambda s: Linker(frames, s), "link_only", len(rows))
    found = _pairs(linker.inference.predict(threshold_match_probability=0.5).as_record_list())
    expected = {tuple(sorted((p["left"], p["right"]))): p["probability"] for p in duck.pairs}
    assert len(expected) > 50
    shared = found.keys() & expected.keys()
    assert len(shared) / len(found.keys() | expected.keys()) >= 0.95
    assert max(abs(found[k] - expected[k]) for k in shared) < 0.05


def test_a_model_recorded_on_duckdb_scores_the_same_pairs_on_spark(
    frames: list[Any], on_duckdb: tuple[list[dict[str, Any]], Any]
) -> None:
    from splink import Linker

    duck = on_duckdb[1]
    linker = Linker(frames, model.for_backend(duck.model, "link_only", "spark"))
    found = _pairs(linker.inference.predict(threshold_match_probability=0.5).as_record_list())
    expected = {tuple(sorted((p["left"], p["right"]))): p["probability"] for p in duck.pairs}
    shared = found.keys() & expected.keys()
    assert len(shared) / len(found.keys() | expected.keys()) >= 0.99
    assert max(abs(found[k] - expected[k]) for k in shared) < 1e-3
