"""flowlab.data, the package itself. Each of its modules has its own file, tests/test_data_<module>.py;
sweeps over data settings are in tests/test_data_axes.py."""

from pathlib import Path

from flowlab import data


def test_module_has_no_print():
    source = Path(data.__file__).read_text()
    assert "print(" not in source


def test_no_module_of_the_package_prints():
    # a library reports through its return values and exceptions; the CLI does the printing
    printing = [p.name for p in Path(data.__file__).parent.glob("*.py") if "print(" in p.read_text()]
    assert not printing, printing
