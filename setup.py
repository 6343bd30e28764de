"""Compile the Babel message catalogs (.po -> .mo) while building, so that the
installed package never compiles anything at run time.

For working from a source tree: `python setup.py compile_catalogs` compiles them in place."""
from pathlib import Path

from setuptools import Command, setup
from setuptools.command.build_py import build_py

# The kernel's catalog and each capability's (commands/<name>/locale).
LOCALES = ("bot/framework/locale", "commands/*/locale")


def compile_catalogs(target_root: Path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in sorted(p for pattern in LOCALES for p in Path(".").glob(f"{pattern}/*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=po_path.parts[-3])
        target = target_root / po_path.with_suffix(".mo")
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)


class BuildWithCatalogs(build_py):
    def run(self):
        super().run()
        compile_catalogs(Path(self.build_lib))


class CompileCatalogs(Command):
    description = "compile message catalogs into the source tree (development)"
    user_options: list = []

    def initialize_options(self):
        pass

    def finalize_options(self):
        pass

    def run(self):
        compile_catalogs(Path("."))


setup(cmdclass={"build_py": BuildWithCatalogs, "compile_catalogs": CompileCatalogs})
