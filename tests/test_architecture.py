"""House rules that keep the layers apart: explorer.core imports with no Qt at all, the
import-linter contracts in pyproject.toml hold, and no module of explorer imports itself back
through others (an import circle), counting the imports made only for type checking."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCK_QT = """
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'torchvision') or name.startswith('explorer.ui'):
            raise ImportError('blocked for this test: ' + name)
sys.meta_path.insert(0, Block())
import explorer.core
for m in pkgutil.walk_packages(explorer.core.__path__, 'explorer.core.'):  # subpackages too (core/race)
    importlib.import_module(m.name)
print('ok')
"""


def test_core_imports_without_qt_or_torchvision():
    proc = subprocess.run([sys.executable, "-c", BLOCK_QT], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_import_linter_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is part of the test extra"
    proc = subprocess.run([lint], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_import_circle_in_explorer():
    import grimp  # import-linter's graph builder, part of the test extra

    graph = grimp.build_graph("explorer")
    circles = sorted(
        {tuple(sorted((module, imported)))
         for module in graph.modules
         for imported in graph.find_modules_directly_imported_by(module)
         if imported.startswith("explorer") and graph.chain_exists(importer=imported, imported=module)}
    )
    assert circles == [], f"import circles (each pair imports the other, directly or through others): {circles}"
