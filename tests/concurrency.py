"""Running work on real concurrent database connections, for the PostgreSQL locking tests."""
import threading

from django.db import connection


def run_concurrently(work, workers: int = 8) -> list:
    """Run ``work(n)`` in ``workers`` threads started together; each uses (and closes) its own connection.

    Returns each worker's result; fails the test if a worker raised or hung.
    """
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []
    results: list = [None] * workers

    def run(n):
        try:
            barrier.wait(timeout=30)
            results[n] = work(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert errors == [], errors
    return results
