import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import profiles
from shops import CaseKpis, World

# `pytest --hypothesis-profile=thorough` (make test-full) overrides this in pytest_configure.
profiles.load(os.environ.get("KEFU_HYPOTHESIS_PROFILE", "default"))

#: The backends every declared definition case runs on (tests/shops.py: @case); Spark needs Java.
BACKENDS = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture(scope="session")
def spark_con(tmp_path_factory):
    """One local Spark session for the whole run (a JVM start costs ~10 s), on 127.0.0.1 only."""
    if shutil.which("java") is None:
        pytest.fail("Java is not installed: run scripts/ensure-java.sh (make install does)")
    from kefu.engines import spark

    session = spark.session(scratch=tmp_path_factory.mktemp("spark"), partitions=2, small_data=True)
    yield spark.connect(session)
    session.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    """The module's declared cases in one workspace, answered on one backend."""
    cases = {name: test.case for name, test in vars(request.module).items() if hasattr(test, "case")}
    spark = request.getfixturevalue("spark_con") if request.param == "spark" else None
    return World(tmp_path_factory.mktemp("world"), cases, request.param, spark)


@pytest.fixture
def kpi(world, request) -> CaseKpis:
    """The KPI answers of this test's own shop (its @case rows)."""
    return CaseKpis(world, request.node.originalname)
