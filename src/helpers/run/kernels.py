"""Kernels for the notebooks of one `tierbook run`: started and warmed while the runner computes the steps.

Part of the runner. Starting a kernel and importing the kit cost about as much CPU as a notebook's own
cells (about 0.5 s and 1.7 s on the sample), so the runner starts one kernel per core while it computes
steps 1-4 and runs several notebooks one after another in each kernel, reset between them to the state
of a newly started kernel (`reset_to_fresh`). The executed notebooks are the same as with one new kernel
each: a clean namespace, execution counts from 1, the same matplotlib settings and warning filters.
"""

from __future__ import annotations

import ast
import atexit
import functools
import json
import os
import queue
import signal
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path

KERNEL_NAME = "python3"
# As nbclient starts its own kernels: an in-memory IPython history, so parallel kernels never share
# (and lock) one history.sqlite.
KERNEL_ARGUMENTS = ("--HistoryManager.hist_file=:memory:",)
# Run silently inside a kernel (see `WarmKernel`): after the warm-up, and between two notebooks.
# (__import__: no name is bound in the namespace being cleared)
REMEMBER_CODE = "__import__('helpers.run.kernels', fromlist=['_']).remember_fresh_state()"
RESET_CODE = "__import__('helpers.run.kernels', fromlist=['_']).reset_to_fresh()"
REHOME_CODE = "__import__('helpers.run.kernels', fromlist=['_']).rehome({env!r}, {log!r})"


def warm_up_code(notebooks) -> str:
    """The `helpers` imports of the given notebooks, as one block of code to run silently in a kernel.

    `notebooks` is one notebook path or several. Takes the top-level `import helpers…` / `from helpers…
    import …` statements of every code cell except the parameters cell, in order and without repeats
    (the lines the benchmark's floor imports, found with `ast` so that an import written over several
    lines is kept whole). A cell that is not plain Python (an IPython magic) is skipped: it runs as
    written later. Returns "" when there is none.

    >>> import nbformat, tempfile
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from helpers.paths import (\\n    slugify)\\nx = 1"),
    ...                                      nbformat.v4.new_code_cell("import os\\nimport helpers.paths\\n%time x")])
    >>> path = tempfile.mkdtemp() + "/n.ipynb"; nbformat.write(nb, path)
    >>> print(warm_up_code(path))
    from helpers.paths import slugify
    """
    paths = [notebooks] if isinstance(notebooks, (str, os.PathLike)) else list(notebooks)
    statements: list[str] = []
    for path in paths:
        # read as plain JSON: nbformat would import jsonschema (about 1 s) before the runner's steps start
        for cell in json.loads(Path(path).read_text(encoding="utf-8")).get("cells", []):
            if cell.get("cell_type") != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
                continue
            source = cell.get("source", "")
            try:
                tree = ast.parse(source if isinstance(source, str) else "".join(source))
            except SyntaxError:
                continue
            statements += [ast.unparse(node) for node in tree.body if _imports_the_kit(node)]
    return "\n".join(dict.fromkeys(statements))


def _imports_the_kit(node: ast.stmt) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and (node.module or "").split(".")[0] == "helpers"
    if isinstance(node, ast.Import):
        return all(alias.name.split(".")[0] == "helpers" for alias in node.names)
    return False


# BLAS libraries read these when numpy is loaded (OpenBLAS with pthreads, MKL, OpenMP builds).
BLAS_THREADS_ENV = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def one_blas_thread() -> None:
    """One BLAS thread in this process and in every kernel it starts, unless the user set a number.

    A run already keeps the cores busy with its own processes (the steps, one kernel per core); BLAS
    threads on top of that wait for a busy core by spinning. Measured on the 2-core machine: step 4 on
    the CDNOW-sized company took 1.9 s with one thread, 4 to 15 s with two. Takes effect in this process
    only when called before numpy is imported (the `tierbook` command does so first); kernels started
    afterwards always inherit it.
    """
    for name in BLAS_THREADS_ENV:
        os.environ.setdefault(name, "1")


def import_papermill():
    """papermill, imported without jsonschema's optional `rfc3987_syntax` (when jsonschema is not loaded yet).

    jsonschema imports that package, when installed, for its "iri" format checks, and it compiles 38 Lark
    grammars on import: 0.7 of papermill's 1.1 s import, on the runner's critical path. Notebook
    validation (nbformat) never checks formats, so the runner's process does without it; the entry is
    removed again afterwards, so a later `import rfc3987_syntax` works as usual.
    """
    if "papermill" not in sys.modules and "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # `import` of a None entry raises ImportError, which jsonschema expects
        try:
            import papermill
        finally:
            if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
                del sys.modules["rfc3987_syntax"]
    import papermill

    return papermill


def cores() -> int:
    """The cores this process may use (at least one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# ------------------------------------------------------------------ inside a kernel
# What a newly started kernel looks like once the kit is imported; `reset_to_fresh` puts it back.
_FRESH: dict = {}


def remember_fresh_state() -> None:
    """Inside a kernel, right after the warm-up: note matplotlib's settings, the warning filters and the
    kit's language, then clear the namespace (the warm-up's names are not the notebook's)."""
    import gc
    import warnings

    import matplotlib

    from helpers.core import i18n

    _FRESH["rc"] = {k: v for k, v in dict(matplotlib.rcParams).items() if k != "backend"}
    _FRESH["warnings"] = list(warnings.filters)
    _FRESH["language"] = i18n.get_language()
    _FRESH["cwd"], _FRESH["path"] = os.getcwd(), list(sys.path)
    reset_to_fresh()
    # The imported modules live as long as the kernel: out of the collector's sight, every collection
    # (IPython's reset runs one, and the notebooks' cells many) no longer walks through them again.
    gc.collect()
    gc.freeze()


def reset_to_fresh() -> None:
    """Inside a kernel, before its next notebook: the state a newly started kernel has after the imports.

    Closes every figure; puts back matplotlib's settings (as `matplotlib.rc_context` does), the warning
    filters (a warning shown once by the last notebook is shown again), the kit's language, the working
    folder and `sys.path`; then IPython's own reset: an empty namespace, no output history, execution
    counts from 1, and a garbage collection, so the last notebook's tables are gone before the next one
    unpickles its own. Imported modules stay: they are what the warm-up is for. pandas display options
    need no reset (every notebook sets them in `open_workbook`), nor do the random generators (a new
    kernel seeds them from the system too).
    """
    import gc
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt
    from IPython import get_ipython

    from helpers.core import i18n

    plt.close("all")
    if _FRESH:
        dict.update(matplotlib.rcParams, _FRESH["rc"])
        warnings.resetwarnings()  # also forgets which warnings were already shown
        warnings.filters.extend(_FRESH["warnings"])
        i18n.set_language(_FRESH["language"])
        os.chdir(_FRESH["cwd"])
        sys.path[:] = _FRESH["path"]
    shell = get_ipython()
    if shell is not None:
        shell.reset(new_session=True)
    gc.collect()
    _give_memory_back()


def rehome(env: dict[str, str | None], log: str) -> None:
    """Inside a kept kernel, before another run's notebooks: that run's environment and kernel log.

    `env` sets each variable (None: removes it), as a kernel started by that run would have inherited
    them (the hand-over key, the pseudonym key file, DuckDB's spill folder). The kernel's error output,
    which it inherited as the last run's logs/kernels.log, goes to `log` instead (os.devnull between
    two runs), so nothing is ever written into a run's published outputs. With ipykernel's output
    capture, file descriptor 2 is its pipe and the log is the copy it echoes to.
    """
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    sys.stderr.flush()
    target = getattr(sys.stderr, "_original_stdstream_copy", None)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 2 if target is None else target)
    finally:
        os.close(fd)


def _give_memory_back() -> None:
    """Return the heap the last notebook freed to the system (glibc's `malloc_trim`; nothing elsewhere).

    Freed memory otherwise stays with the process, and the next notebook's tables land beside it: at a
    million clients a kernel that had run the report then peaked 0.6 GB above any notebook run alone.
    """
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): the allocator keeps its own policy
        pass


# ------------------------------------------------------------------ in the runner
@functools.cache
def _kernel_manager_class():
    """AsyncKernelManager that remembers its clients: papermill leaves the client of a kernel it did not
    start open, and the runner closes it after each notebook."""
    from jupyter_client.manager import AsyncKernelManager

    class TrackedKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.clients_made = []

        def client(self, **kwargs):
            kc = super().client(**kwargs)
            self.clients_made.append(kc)
            return kc

    return TrackedKernelManager


class _Owner:
    """One daemon thread that runs every call made on one kernel, in order.

    A kernel manager's zmq sockets belong to the asyncio loop of the thread that made them, so a kernel
    kept for a later run must be driven by the same thread. The standard library's ThreadPoolExecutor
    cannot be that thread: its threads are joined before `atexit` runs, where kept kernels are ended.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._stopped = False
        threading.Thread(target=self._work, name="tierbook-kernel", daemon=True).start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, function, args = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(function(*args))
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                    future.set_exception(exc)

    def call(self, function, *args):
        """`function(*args)` in the owner thread; its result, or its exception raised here. Raises
        RuntimeError once the thread was stopped (nothing would ever answer)."""
        if self._stopped:
            raise RuntimeError("this kernel's thread has ended")
        future: Future = Future()
        self._jobs.put((future, function, args))
        return future.result()

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._jobs.put(None)


class WarmKernel:
    """A kernel started in a folder, with the kit's imports already run, ready for papermill.

    Every call on it (`start`, `run`, `reset`, `rehome`, `close_clients`, `shutdown`) runs in the
    kernel's own thread (see `_Owner`), whichever thread makes it, so a kernel can serve one run after
    another (`keep`); `kill` acts at once from any thread. Code runs silently (`silent=True`): no output,
    no execution count, no history.
    """

    def __init__(self, cwd: str | os.PathLike, code: str = "", *, start_timeout: float = 120):
        self.cwd, self.code, self.start_timeout = str(cwd), code, start_timeout
        self.km = None
        self._kc = None  # the runner's own client, for silent code
        self.pid: int | None = None
        self.notebooks_run = 0
        self._owner = _Owner()

    def run(self, function, *args):
        """`function(*args)` in the kernel's own thread (papermill's `execute_notebook(km=kernel.km)`)."""
        return self._owner.call(function, *args)

    def start(self) -> "WarmKernel":
        """Start the kernel, run the warm-up code and note the fresh state.

        Raises what jupyter_client raises, or RuntimeError when the kernel dies or does not answer. A
        warm-up whose code fails (an import error) is no error here: the notebook's own import cell fails
        the same way later and says so in the executed notebook.
        """
        from jupyter_core.utils import run_sync

        self.run(run_sync(self._start))
        return self

    async def _start(self) -> None:
        self.km = _kernel_manager_class()(kernel_name=KERNEL_NAME)
        await self.km.start_kernel(extra_arguments=list(KERNEL_ARGUMENTS), cwd=self.cwd)
        self.pid = getattr(self.km.provisioner, "pid", None)
        if self.code:
            await self._run_silently(self.code)
        await self._run_silently(REMEMBER_CODE)

    def reset(self) -> bool:
        """Before the next notebook: back to the fresh state (`reset_to_fresh`). False if the kernel
        did not answer `ok` (then use a new one)."""
        return self._silently(RESET_CODE)

    def rehome(self, env: dict[str, str | None], log: str) -> bool:
        """Give a kept kernel another run's environment and kernel log (`rehome` inside it). False if
        the kernel did not answer `ok` (then use a new one)."""
        return self._silently(REHOME_CODE.format(env=env, log=log))

    def _silently(self, code: str) -> bool:
        from jupyter_core.utils import run_sync

        try:
            return self.run(run_sync(self._run_silently), code)
        except Exception:  # noqa: BLE001 - a kernel that does not answer is not reused
            return False

    async def _run_silently(self, code: str) -> bool:
        """Run `code` silently; True when the kernel replied `ok`, False when the code raised.

        Raises RuntimeError when the kernel died or did not answer within `start_timeout`.

        The runner's own client has only the shell channel (no output to drain) and is kept for the
        kernel's life; a request sent before the kernel is up waits in the socket, so its reply is also
        the proof that the kernel is ready (no `wait_for_ready` and its 0.2 s of listening to IOPub).
        """
        if self._kc is None:
            from jupyter_client.session import Session

            # a session of its own: the kernel tells clients apart by session id, and papermill's client
            # (from the manager's session) would otherwise take this one's place
            own = Session(key=self.km.session.key, signature_scheme=self.km.session.signature_scheme)
            self._kc = self.km.client(session=own)
            self.km.clients_made.remove(self._kc)  # not papermill's: closed in `shutdown` only
            self._kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        msg_id = self._kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + self.start_timeout
        # a kernel killed meanwhile (Ctrl-C) never replies: look every second whether it still lives
        while time.monotonic() < deadline and await self.km.is_alive():
            try:
                reply = await self._kc.get_shell_msg(timeout=1)
            except queue.Empty:
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return reply.get("content", {}).get("status") == "ok"
        raise RuntimeError(f"kernel {self.pid} died or did not answer within {self.start_timeout} s")

    def close_clients(self) -> None:
        """Close the channels papermill's client left open on this kernel."""
        if self.km is not None:
            self.run(self._close_clients)

    def _close_clients(self) -> None:
        for kc in self.km.clients_made:
            kc.stop_channels()
        self.km.clients_made.clear()

    def kill(self) -> None:
        """End the kernel at once (Ctrl-C, SIGTERM, a failed hand-over): its notebook stops with DeadKernelError."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def shutdown(self) -> None:
        """Ask the kernel to end (a kernel already gone is fine), then end its thread."""
        if self.km is not None:
            self.run(self._shutdown)
        self._owner.stop()

    def _shutdown(self) -> None:
        from jupyter_core.utils import run_sync

        self._close_clients()
        if self._kc is not None:
            self._kc.stop_channels()
            self._kc = None
        try:
            run_sync(self.km.shutdown_kernel)(now=False)
        except Exception:  # noqa: BLE001 - killed or dead already: nothing left to end
            self.kill()
        self.km = None


# ------------------------------------------------------------------ kept between runs (a batch worker)
_kept: list[WarmKernel] = []
_kept_lock = threading.Lock()
_keeping = False


def keep_kernels_between_runs() -> None:
    """From now on, this process keeps the kernels of a finished run warm for its next run.

    A batch worker runs one company after another: each run otherwise starts its kernels and imports
    the kit again (about 2 s of CPU a kernel, a fifth of a sample company's run), which on a busy
    machine is time taken from the other companies. The kept kernels end when the process exits.
    """
    global _keeping
    if not _keeping:
        _keeping = True
        atexit.register(end_kept_kernels)


def keep(kernel: WarmKernel) -> bool:
    """Keep a kernel whose run has finished for this process's next run: reset to a fresh kernel's
    state (its tables freed now) and its error output sent nowhere until a run takes it (`take_kept`).
    False when this process keeps no kernels or the kernel did not answer; the caller then ends it."""
    if not _keeping or not kernel.reset() or not kernel.rehome({}, os.devnull):
        return False
    kernel.notebooks_run = 0  # reset just now
    with _kept_lock:
        _kept.append(kernel)
    return True


def take_kept(cwd: str | os.PathLike, code: str) -> WarmKernel | None:
    """A kept kernel started in `cwd` with the warm-up `code`, taken from the kept ones; else None."""
    with _kept_lock:
        for i, kernel in enumerate(_kept):
            if kernel.cwd == str(cwd) and kernel.code == code:
                return _kept.pop(i)
    return None


def end_kept_kernels() -> None:
    """End every kept kernel (at the process's exit)."""
    with _kept_lock:
        ending = list(_kept)
        _kept.clear()
    for kernel in ending:
        kernel.shutdown()
