"""The examples in nn's docstrings run as written."""

import doctest
import importlib

import pytest

MODULES = ["framework.nn", "framework.nn.module", "framework.nn.parameter",
           "framework.nn.containers", "framework.nn.linear", "framework.nn.conv",
           "framework.nn.sparse", "framework.nn.loss", "framework.nn.functional",
           "framework.nn.init"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
