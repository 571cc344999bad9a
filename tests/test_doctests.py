"""The runnable examples that open the kernel's module docs stay true."""

import doctest
import importlib

import pytest

MODULES = ["kmodel.core.system", "kmodel.core.interning", "kmodel.core.symmetry"]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name: str) -> None:
    failed, tried = doctest.testmod(importlib.import_module(name))
    assert tried and not failed
