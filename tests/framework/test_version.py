import re

import framework as fw


def test_version_is_a_release_string():
    assert re.fullmatch(r"\d+\.\d+\.\d+", fw.__version__)
