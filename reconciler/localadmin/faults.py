"""Fault injection for the local Admin: what a flaky network and an overloaded Admin do to calls.

``LocalAdmin(faults=Faults(...))`` puts a :class:`FaultInjector` in front of every servicer (a
gRPC server interceptor, so the servicers do not know about it) and, when connection resets are
among the faults, a :class:`ResetProxy` in front of the gRPC port (``LocalAdmin.endpoint`` is
then the proxy's). Which calls are faulted: a seeded random ``rate`` of them, or exactly the
call numbers in ``calls``, in both cases only after the first ``after`` calls; a faulted call
gets one of ``kinds``, picked by the same seeded generator:

``delay``
    the call sleeps ``delay`` seconds, then runs normally.
``unavailable``, ``deadline-exceeded``, ``resource-exhausted``
    the call fails with that status before the handler runs: nothing happened in Admin. The
    status is sent by the server (``context.abort``); a real DEADLINE_EXCEEDED would need the
    client's deadline (30 s, not configurable) to pass, so the code is what is reproduced, not
    the wait.
``reset``
    a real TCP connection reset (RST, ``SO_LINGER`` 0) of every connection through the proxy,
    before the handler runs: the client sees UNAVAILABLE ("Connection reset by peer" or
    "Socket closed"), and so does every other call in flight on those connections.
``drop-response``
    the handler runs, so a write is committed, and then the client gets UNAVAILABLE instead of
    the answer: the create happened but the client saw an error.
``reset-after-commit``
    as ``drop-response``, but the answer is lost in a real connection reset.

The same injector faults the blob server's ``PUT`` (``dataproxy.py``; the uploads that follow
``CreateUploadLocation``), counted as calls to the method :data:`BLOB_PUT`, each kind as HTTP
has it: ``unavailable`` and ``resource-exhausted`` answer 503 (S3's "SlowDown" is a 503),
``deadline-exceeded`` 504, before anything is written; ``reset`` resets the connection (RST)
before anything is written; ``drop-response`` writes the blob and answers 503, and
``reset-after-commit`` writes it and resets the connection: the upload happened, the client
saw it fail.

A call counts as one when it reaches the server while the injector is enabled; numbers start
at 1 and count every service (``AuthMetadataService`` and the blob server's PUT included).
The injector records what it did (``injected``), so a test can say how many faults its run
survived.

:class:`KillClient` is the crash half: after the handler of call number ``k`` has run (the write
is committed), it SIGKILLs the client process before the answer is sent, which is the worst
moment for a client to die.
"""

from __future__ import annotations

import contextlib
import enum
import os
import random
import selectors
import signal
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc


class Fault(str, enum.Enum):
    DELAY = "delay"
    UNAVAILABLE = "unavailable"
    DEADLINE_EXCEEDED = "deadline-exceeded"
    RESOURCE_EXHAUSTED = "resource-exhausted"
    RESET = "reset"
    DROP_RESPONSE = "drop-response"
    RESET_AFTER_COMMIT = "reset-after-commit"


_BEFORE = {
    Fault.UNAVAILABLE: (grpc.StatusCode.UNAVAILABLE, "injected fault: unavailable"),
    Fault.DEADLINE_EXCEEDED: (grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"),
    Fault.RESOURCE_EXHAUSTED: (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "injected fault: too many requests, try again later",
    ),
}
RESETS = frozenset({Fault.RESET, Fault.RESET_AFTER_COMMIT})
BLOB_PUT = "PUT /blobs"
"""The method name of the blob server's PUT, for ``Faults.methods`` and ``Injected.by_method``."""
HTTP_STATUS = {Fault.UNAVAILABLE: 503, Fault.RESOURCE_EXHAUSTED: 503, Fault.DEADLINE_EXCEEDED: 504}
"""The answer of a PUT faulted before the write, by kind."""


@dataclass(frozen=True)
class Faults:
    """Which calls to fault and how (see the module docstring)."""

    rate: float = 0.0
    seed: int = 0
    kinds: tuple[Fault, ...] = tuple(Fault)
    after: int = 0
    """The first ``after`` calls are never faulted."""
    calls: frozenset[int] = frozenset()
    """Fault exactly these call numbers (in addition to ``rate``)."""
    delay: float = 0.3
    methods: frozenset[str] | None = None
    """Only calls to these methods (short names: ``CreateExecution``); None: every method."""
    limit: int | None = None
    """At most this many faults in all."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate {self.rate} is not within 0..1")
        if not self.kinds:
            raise ValueError("faults need at least one kind")

    @property
    def needs_proxy(self) -> bool:
        return any(kind in RESETS for kind in self.kinds)


@dataclass
class Injected:
    """What a :class:`FaultInjector` has done so far."""

    calls: int = 0
    faults: Counter[Fault] = field(default_factory=Counter)
    by_method: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.faults.values())


class FaultInjector(grpc.ServerInterceptor):  # type: ignore[misc]
    """Faults calls as ``faults`` says; ``enabled`` and ``faults`` may be changed while it
    serves (a test arms it for the step under test only)."""

    def __init__(self, faults: Faults, reset: Callable[[], None] | None = None) -> None:
        if faults.needs_proxy and reset is None:
            raise ValueError("connection resets need a ResetProxy in front of the server")
        self.faults = faults
        self.enabled = True
        self._reset = reset
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()
        self.injected = Injected()

    def decide(self, method: str) -> Fault | None:
        """Count a call to ``method`` (a short name: ``CreateExecution``, :data:`BLOB_PUT`) and
        say which fault it gets, if any."""
        faults = self.faults
        with self._lock:
            if not self.enabled:
                return None
            self.injected.calls += 1
            number = self.injected.calls
            # draw for every call, so that a given seed faults the same call numbers whatever
            # the methods filter and the explicit numbers say
            roll = self._random.random()
            kind = self._random.choice(faults.kinds)
            if number <= faults.after:
                return None
            if faults.methods is not None and method not in faults.methods:
                return None
            if number not in faults.calls and roll >= faults.rate:
                return None
            if faults.limit is not None and self.injected.total >= faults.limit:
                return None
            self.injected.faults[kind] += 1
            self.injected.by_method[method] += 1
            return kind

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = details.method.rsplit("/", 1)[-1]
        fault = self.decide(method)
        if fault is None:
            return handler
        behaviour = handler.unary_unary

        def faulted(request: Any, context: grpc.ServicerContext) -> Any:
            if fault is Fault.DELAY:
                time.sleep(self.faults.delay)
                return behaviour(request, context)
            if fault in _BEFORE:
                code, message = _BEFORE[fault]
                context.abort(code, message)
            if fault is Fault.RESET:
                self._reset_connections()
                context.abort(grpc.StatusCode.UNAVAILABLE, "injected fault: connection reset")
            response = behaviour(request, context)  # the write is committed here
            if fault is Fault.RESET_AFTER_COMMIT:
                self._reset_connections()
            context.abort(
                grpc.StatusCode.UNAVAILABLE, "injected fault: the response was lost after commit"
            )
            return response  # not reached: abort raises

        return grpc.unary_unary_rpc_method_handler(
            faulted,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _reset_connections(self) -> None:
        assert self._reset is not None
        self._reset()


class KillClient(grpc.ServerInterceptor):  # type: ignore[misc]
    """SIGKILL the client process right after the handler of call number ``after`` has run.

    The client is a process the test started (``pid`` is set once it has been spawned; a call
    that arrives first waits for it, bounded). Calls are numbered as they arrive, from 1."""

    def __init__(self, after: int, *, wait: float = 30.0) -> None:
        self.after = after
        self.calls = 0
        self.killed_at: str | None = None
        self._pid: int | None = None
        self._pid_set = threading.Event()
        self._wait = wait
        self._lock = threading.Lock()

    def target(self, pid: int) -> None:
        self._pid = pid
        self._pid_set.set()

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        with self._lock:
            self.calls += 1
            number = self.calls
        if number != self.after:
            return handler
        behaviour = handler.unary_unary
        method = details.method.rsplit("/", 1)[-1]

        def then_kill(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return behaviour(request, context)
            finally:
                # after the handler, committed or refused, before the answer leaves
                if not self._pid_set.wait(self._wait) or self._pid is None:
                    raise RuntimeError("KillClient: no client process to kill")
                self.killed_at = method
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._pid, signal.SIGKILL)

        return grpc.unary_unary_rpc_method_handler(
            then_kill,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class ResetProxy:
    """A TCP proxy on 127.0.0.1 in front of ``upstream``; :meth:`reset` aborts every
    connection through it with an RST, as a load balancer or a NAT table flush does.

    One thread moves the bytes of all connections (non-blocking sockets and a selector), so a
    reset happens on that thread, between two reads, and never races a blocked ``recv``."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._peers: dict[socket.socket, socket.socket] = {}
        self._requests: list[threading.Event] = []
        self._lock = threading.Lock()
        self._stopping = False
        self.resets = 0
        self._thread = threading.Thread(target=self._loop, name="localadmin-proxy", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        self._thread.start()

    def reset(self, timeout: float = 10.0) -> None:
        """RST every open connection; returns once done (or after ``timeout``)."""
        done = threading.Event()
        with self._lock:
            self._requests.append(done)
        self._wake_write.send(b"r")
        done.wait(timeout)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
        if self._thread.is_alive():
            with contextlib.suppress(OSError):
                self._wake_write.send(b"s")
            self._thread.join(timeout=10)
        for sock in (self._listener, self._wake_read, self._wake_write):
            sock.close()
        self._selector.close()

    def _loop(self) -> None:
        while True:
            for key, _ in self._selector.select(timeout=1.0):
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    with contextlib.suppress(BlockingIOError):
                        self._wake_read.recv(4096)
                else:
                    self._pump(key.fileobj)  # type: ignore[arg-type]
            with self._lock:
                requests, self._requests = self._requests, []
                stopping = self._stopping
            if requests or stopping:
                self._abort_all()
                self.resets += len(requests)
                for request in requests:
                    request.set()
            if stopping:
                return

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            reset_connection(client)
            return
        for sock in (client, server):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._peers[client] = server
        self._peers[server] = client
        for sock in (client, server):
            self._selector.register(sock, selectors.EVENT_READ, "pump")

    def _pump(self, sock: socket.socket) -> None:
        peer = self._peers.get(sock)
        if peer is None:
            return
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close_pair(sock, abort=False)
            return
        try:
            # loopback and HTTP/2 flow control: a blocking send is brief (bounded all the same)
            peer.settimeout(10)
            peer.sendall(data)
            peer.setblocking(False)
        except OSError:
            self._close_pair(sock, abort=True)

    def _close_pair(self, sock: socket.socket, *, abort: bool) -> None:
        peer = self._peers.pop(sock, None)
        for one in (sock, peer):
            if one is None:
                continue
            self._peers.pop(one, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(one)
            if abort:
                reset_connection(one)
            else:
                one.close()

    def _abort_all(self) -> None:
        for sock in list(self._peers):
            if sock in self._peers:
                self._close_pair(sock, abort=True)


def reset_connection(sock: socket.socket) -> None:
    """Close with RST instead of FIN (a connection reset, as the peer sees it)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
