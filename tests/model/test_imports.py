"""Importing the model stays cheap: no sky, ipywidgets or IPython (checked in a fresh process)."""
from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import skyexec_nb.model.executor
import skyexec_nb.model.accelerators, skyexec_nb.model.masking, skyexec_nb.model.config
import skyexec_nb
ex = skyexec_nb.SkyExecutor(gpus=['A100:8', 'H100:8'], cloud=['aws', 'gcp'], ports='8888')
ex.to_yaml('t', cmd=['python', 'x.py'])
skyexec_nb.model.accelerators.accelerator_names()
ex._repr_html_(); repr(ex)
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sky', 'ipywidgets', 'IPython'))
print(heavy)
"""


def test_model_import_and_to_config_do_not_import_heavy_packages(tmp_path):
    env = {"HOME": str(tmp_path), "SKY_RUNTIME_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
