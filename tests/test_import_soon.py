"""runtime.import_soon: modules needed after the polls are imported in another thread meanwhile,
and a module that cannot be imported does not stop the others nor raise there."""

from __future__ import annotations

import sys
import threading

from monitor.runtime import import_soon
from tests.support.waiting import wait_for


def test_modules_are_imported_in_a_background_thread_and_a_broken_one_is_left_to_its_user() -> None:
    sys.modules.pop("tests.support.importmark", None)
    before = {t.ident for t in threading.enumerate()}
    import_soon("tests.support.importmark")
    wait_for(lambda: "tests.support.importmark" in sys.modules and not any(
        t.name == "leakmon-import" and t.ident not in before for t in threading.enumerate()), 10.0,
        "the background import")
    assert sys.modules["tests.support.importmark"].IMPORTED_BY == "leakmon-import"
    import_soon("tests.support.no_such_module")          # fails quietly in its thread
