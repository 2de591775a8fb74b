"""A process importing a customer base that stops for ever in the middle of writing one chunk (after some of its
rows are written, before its commit), to be killed there: tests/integration/test_customer_import.py.

    python tests/pinned_process.py tests/integration/import_crash_child.py <tenant id> <import id> <chunk> <ready>
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app import create_app  # noqa: E402
from app.jobs import run_job  # noqa: E402
from domain.imports import services, writing  # noqa: E402


def main(tenant_id: int, import_id: int, stop_at: int, ready: Path) -> None:
    app = create_app()
    services.DEFAULT_CHUNK_ROWS = 2  # small chunks: several per file, as the test counts them
    services.CHUNK_ROWS["readings"] = 4
    written = {"chunks": 0}
    for kind, real in list(writing._WRITERS.items()):
        def hanging(records, ctx, real=real):
            counts = real(records, ctx)  # rows written in the chunk's transaction, not committed
            written["chunks"] += 1
            if written["chunks"] == stop_at:
                ready.write_text("writing")
                time.sleep(300)
            return counts
        writing._WRITERS[kind] = hanging
    with app.app_context():
        run_job("imports.check", tenant_id, None, {"import_id": import_id})


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
