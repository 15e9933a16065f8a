"""Shared test configuration.

Hypothesis runs derandomised by default so that CI is reproducible: a property test that
passes on one run passes on every run. Set ``HYPOTHESIS_PROFILE=explore`` to search new
random examples (and many more of them) when working on a model.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
