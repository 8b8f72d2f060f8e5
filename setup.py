"""Build hook: compiles the packet path's Cython kernels (``sensors/_*.pyx``).

Everything else about the package is declared in pyproject.toml. The kernels are built at
install time (``pip install -e .`` builds them in place), never fetched at run time.
"""

from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

KERNELS = sorted(Path("sensors").glob("_*.pyx"))

setup(
    ext_modules=cythonize(
        [Extension(f"sensors.{path.stem}", [str(path)]) for path in KERNELS],
        compiler_directives={"language_level": 3},
    )
)
