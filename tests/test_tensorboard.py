"""flowlab.tensorboard, the package: importing it loads no tensorboardX. Each of its modules has its own file,
tests/test_tensorboard_<module>.py."""

import subprocess
import sys


def test_importing_the_module_does_not_import_tensorboardX():
    code = "import sys, flowlab.tensorboard; sys.exit('tensorboardX' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
