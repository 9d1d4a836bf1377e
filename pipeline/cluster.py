"""Reports on a Dask cluster: an existing scheduler (tcp://host:8786) or a LocalCluster.

The workers must reach the same data folder (a shared folder mounted at the same path): they
are given paths, never the scheduler's working directory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def run_on_dask(
    scheduler: str,
    workers: int,
    function: Callable,
    arguments: Sequence[tuple],
    items: Sequence,
    finish: Callable,
) -> None:
    """Call `function(*args)` for each item on the cluster; `finish(item, result or exception)`
    as each completes."""
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = {
            client.submit(function, *args, pure=False, retries=0): item
            for args, item in zip(arguments, items, strict=True)
        }
        for future in as_completed(futures):
            item = futures[future]
            try:
                finish(item, future.result())
            except Exception as exc:  # one commune's failure does not stop the others
                finish(item, exc)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
