"""concur_nb.ray(...) without a cluster: the import stays lazy and mistakes get clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import require

import concur_nb
from concur_nb import InvalidError

try:
    import ray as _ray  # noqa: F401

    HAS_RAY = True
except ImportError:
    HAS_RAY = False


def test_importing_concur_nb_never_imports_ray() -> None:
    code = "import sys, concur_nb; concur_nb.ray; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_making_a_ray_backend_does_not_import_ray_either() -> None:
    require(HAS_RAY, "ray (pip install -e '.[ray]')")
    code = (
        "import sys, concur_nb\n"
        "b = concur_nb.ray(num_gpus=1)\n"
        "concur_nb.function(backend=b)(lambda x: x)\n"
        "print('ray' in sys.modules, b.needs)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False 1 GPU"


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"num_gpus": -1}, "num_gpus"),
        ({"num_gpus": True}, "num_gpus"),
        ({"num_cpus": "2"}, "num_cpus"),
        ({"resources": {"TPU": -2}}, "resources['TPU']"),
        ({"resources": ["TPU"]}, "resources"),
        ({"runtime_env": "pip"}, "runtime_env"),
        ({"namespace": ""}, "namespace"),
        ({"max_containers": 0}, "max_containers"),
        ({"address": 6379}, "address"),
    ],
)
def test_bad_options_name_the_parameter_and_the_value(kwargs: dict, named: str) -> None:
    require(HAS_RAY, "ray (pip install -e '.[ray]')")
    with pytest.raises(InvalidError, match=named.replace("[", r"\[")) as caught:
        concur_nb.ray(**kwargs)
    value = next(iter(kwargs.values()))
    seen = value["TPU"] if named == "resources['TPU']" else value
    assert repr(seen) in str(caught.value)


def test_cpu_default_is_one_for_cpu_containers_and_zero_beside_gpus() -> None:
    require(HAS_RAY, "ray (pip install -e '.[ray]')")
    assert concur_nb.ray().num_cpus == 1
    assert concur_nb.ray(num_gpus=1).num_cpus == 0
    assert concur_nb.ray(resources={"TPU": 1}).num_cpus == 0
    assert concur_nb.ray(num_gpus=1, num_cpus=2).needs == "1 GPU, 2 CPU"
