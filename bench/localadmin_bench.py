"""Throughput of the local Admin: create executions and page through them, with one client and
with eight concurrent client processes.

    python bench/localadmin_bench.py [--create 1000] [--rows 10000] [--clients 8]

One client creates ``--create`` executions; then ``--clients`` processes create the rest up to
``--rows``; then one client, and ``--clients`` processes at once, each page through all rows
(100 per page). Every created name must come back exactly once: no errors, no lost rows.
The server keeps its SQLite file on disk (WAL), as ``local-admin serve --db`` does.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import grpc
from flyteidl.admin import common_pb2, execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2
from flyteidl.service import admin_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import DOMAIN, PROJECT, CallMeter, register_workflow

from reconciler.localadmin import LocalAdmin, ManualClock

LAUNCH_PLAN = identifier_pb2.Identifier(
    resource_type=identifier_pb2.LAUNCH_PLAN,
    project=PROJECT,
    domain=DOMAIN,
    name="wf",
    version="v1",
)


def _request(name: str) -> execution_pb2.ExecutionCreateRequest:
    inputs = literals_pb2.LiteralMap(
        literals={
            "a": literals_pb2.Literal(
                scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=1))
            ),
            "region": literals_pb2.Literal(
                scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value="eu"))
            ),
        }
    )
    return execution_pb2.ExecutionCreateRequest(
        project=PROJECT,
        domain=DOMAIN,
        name=name,
        spec=execution_pb2.ExecutionSpec(launch_plan=LAUNCH_PLAN),
        inputs=inputs,
    )


def create(job: tuple[str, list[str]]) -> int:
    endpoint, names = job
    with grpc.insecure_channel(endpoint) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        for name in names:
            stub.CreateExecution(_request(name), timeout=30)
    return len(names)


def page_all(endpoint: str) -> list[str]:
    names: list[str] = []
    with grpc.insecure_channel(endpoint) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        token = ""
        while True:
            response = stub.ListExecutions(
                common_pb2.ResourceListRequest(
                    id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN),
                    limit=100,
                    token=token,
                    sort_by=common_pb2.Sort(key="created_at", direction=common_pb2.Sort.ASCENDING),
                ),
                timeout=30,
            )
            names.extend(e.id.name for e in response.executions)
            token = response.token
            if not token:
                return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--create", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    meter = CallMeter()
    with (
        tempfile.TemporaryDirectory() as temp,
        LocalAdmin(
            db=Path(temp) / "admin.db",
            clock=ManualClock(),
            data_dir=Path(temp) / "data",
            interceptors=[meter],
            workers=16,
        ) as admin,
    ):
        with grpc.insecure_channel(admin.endpoint) as channel:
            register_workflow(admin_pb2_grpc.AdminServiceStub(channel))
        endpoint = admin.endpoint
        names = [f"e{i:06d}" for i in range(args.rows)]
        results = []

        started = time.perf_counter()
        create((endpoint, names[: args.create]))
        elapsed = time.perf_counter() - started
        results.append(("CreateExecution, 1 client", args.create, elapsed))

        rest = names[args.create :]
        shares = [rest[i :: args.clients] for i in range(args.clients)]
        context = multiprocessing.get_context("spawn")
        with context.Pool(args.clients) as pool:
            started = time.perf_counter()
            created = sum(pool.map(create, [(endpoint, share) for share in shares]))
            elapsed = time.perf_counter() - started
            results.append((f"CreateExecution, {args.clients} clients", created, elapsed))

            started = time.perf_counter()
            seen = page_all(endpoint)
            elapsed = time.perf_counter() - started
            pages = -(-len(seen) // 100)
            results.append((f"ListExecutions of {len(seen)} rows, 1 client", pages, elapsed))
            if sorted(seen) != names:
                sys.exit(f"lost or duplicated rows: {len(seen)} listed, {len(set(seen))} unique")

            started = time.perf_counter()
            listings = pool.map(page_all, [endpoint] * args.clients)
            elapsed = time.perf_counter() - started
            for listing in listings:
                if sorted(listing) != names:
                    sys.exit("a concurrent listing lost or duplicated rows")
            results.append(
                (
                    f"ListExecutions of {len(seen)} rows, {args.clients} clients",
                    pages * args.clients,
                    elapsed,
                )
            )
    print(f"local Admin: {args.rows} executions, SQLite on disk, no errors, no lost rows")
    for what, requests, seconds in results:
        rate = requests / seconds
        print(f"  {what:45s} {requests:6d} requests  {seconds:6.2f} s  {rate:8.0f} req/s")


if __name__ == "__main__":
    main()
