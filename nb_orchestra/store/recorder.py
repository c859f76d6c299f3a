"""Writes what the engine does into the store, off the engine's hot path.

The engine publishes events on ``events.bus``; the recorder's listener only
notes which executions (and task runs) changed. One writer thread flushes
them every ``FLUSH_INTERVAL`` seconds, and at once when an execution reaches
a final state, in ONE transaction per flush: the execution rows, then chunks
(chunks.py) of the task runs that changed or are new and of the log lines
not written yet. A 10,000 task-run execution so costs a handful of
transactions and wide rows, not one row per task run.

While executions of this process run, the writer refreshes their heartbeat
every ``HEARTBEAT_INTERVAL`` seconds so other processes can tell a live
owner from a dead one (see orphans.py). ``flush()`` writes everything
pending on the calling thread; it also runs at interpreter exit.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
import weakref
from collections import deque

from ..records import events, states
from ..records.execution import ExecutionRecord, LogRecord, TaskRun
from . import StoreKey, current_key, store_for
from .base import LOGS, TASKRUNS, ExecutionBatch, Store
from .log_chunks import log_texts
from .serialize import Encoder
from .taskrun_chunks import ChunkWriter

FLUSH_INTERVAL = 0.2
HEARTBEAT_INTERVAL = 10.0
# Times one execution's own rows may be refused for what they hold (not for an unreachable store)
# before the recorder stops trying, says so in that execution's logs, and goes on with the others.
MAX_REFUSALS = 3


_TASKRUN_CHANGED, _EXECUTION_CHANGED = events.TaskRunChanged, events.ExecutionChanged


class _Track:
    """What has been written of one execution, and which task runs changed since."""

    __slots__ = ("execution", "key", "next_chunks", "scanned", "unfinished", "restarts", "logs_written", "labels",
                 "flow_saved", "changed", "refusals")

    def __init__(self, execution: ExecutionRecord, key: StoreKey):
        self.execution = execution
        self.key = key
        self.next_chunks: dict[str, int | None] = {TASKRUNS: None, LOGS: None}  # None: the store looks
        self.scanned = 0                      # ex.taskruns[:scanned] were written (a restart rebuilds it)
        # Ids of the runs written before they ended: the only written ones whose changes are written again
        # (a run written ended does not change, until a restart gives it a new attempt).
        self.unfinished: set[str] = set()
        self.restarts = 0                     # RESTARTED states seen: each one makes every run fresh again
        self.logs_written = 0                 # ex.logs[:logs_written] are in the store
        self.labels: dict[str, str] | None = None
        self.flow_saved = False
        self.changed: deque[TaskRun] = deque()  # appended by listeners, drained by flushes: no lock
        self.refusals = 0                     # writes of this execution alone the store refused

    def progress(self) -> tuple:
        """What was written, for a later track of the same execution (a restart)."""
        return self.scanned, self.unfinished, self.restarts, self.logs_written, self.next_chunks, self.labels

    def resume(self, progress: tuple) -> None:
        self.scanned, self.unfinished, self.restarts, self.logs_written, self.next_chunks, self.labels = progress
        self.flow_saved = True


class Recorder:
    """The bus listener and its writer thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()        # guards changes to _tracks and _dirty
        self._flush_lock = threading.Lock()  # one flush at a time (writer thread or flush())
        self._tracks: dict[str, _Track] = {}
        self._ended: weakref.WeakKeyDictionary[ExecutionRecord, tuple] = weakref.WeakKeyDictionary()
        self._dirty: dict[str, _Track] = {}
        self._work = threading.Event()       # something is dirty
        self._urgent = threading.Event()     # an execution ended: flush now
        self._stopping = False
        self._failed_keys: set[StoreKey] = set()
        self.live: set[str] = set()          # ids of this process's executions not yet final
        self._unsubscribe = events.bus.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._run, name="nbo-store-writer", daemon=True)
        self._thread.start()

    # -- on the engine's threads: quick -------------------------------------------------------------

    def _on_event(self, event: events.Event) -> None:
        # Called for every state change of every task run: the common case takes no lock. A change is
        # noted before the execution is made dirty, so a flush that runs between the two still finds it.
        execution = event.execution
        key, kind = execution.id, type(event)
        track = self._tracks.get(key) or self._new_track(execution)
        if track.refusals >= MAX_REFUSALS:
            return  # given up on: see _give_up
        if kind is _TASKRUN_CHANGED:
            track.changed.append(event.taskrun)  # type: ignore[union-attr]
        if self._dirty.get(key) is not track:
            with self._lock:
                self._dirty[key] = track
            self._work.set()
        if kind is _EXECUTION_CHANGED and event.state in states.TERMINAL:  # type: ignore[union-attr]
            self._urgent.set()  # after it is dirty: the flush this wakes must find it

    def _new_track(self, execution: ExecutionRecord) -> _Track:
        with self._lock:
            track = self._tracks.get(execution.id)
            if track is None:
                track = self._tracks[execution.id] = _Track(execution, current_key())
                if execution in self._ended:
                    track.resume(self._ended.pop(execution))
                self.live.add(execution.id)
            return track

    # -- the writer -------------------------------------------------------------------------------------

    def _run(self) -> None:
        last_beat = time.monotonic()
        while not self._stopping:
            self._work.wait(HEARTBEAT_INTERVAL if self.live else None)
            self._urgent.wait(FLUSH_INTERVAL)  # let events gather, unless an execution just ended
            self._urgent.clear()
            self._work.clear()
            self.flush()
            if self.live and time.monotonic() - last_beat >= HEARTBEAT_INTERVAL:
                last_beat = time.monotonic()
                self._heartbeat()

    def flush(self) -> None:
        """Write every pending change now (one transaction per store)."""
        with self._flush_lock:
            with self._lock:
                tracks = list(self._dirty.values())
                self._dirty = {}
            changed = {track.execution.id: _drain(track.changed, track.unfinished) for track in tracks}
            by_key: dict[StoreKey, list[_Track]] = {}
            for track in tracks:
                by_key.setdefault(track.key, []).append(track)
            for key, group in by_key.items():
                self._write(key, group, changed)

    def _write(self, key: StoreKey, tracks: list[_Track], changed: dict[str, dict[str, TaskRun]]) -> None:
        try:
            store = store_for(key)
            snapshots = [_snapshot(track, changed[track.execution.id], store) for track in tracks]
            store.write([batch for batch, _ in snapshots])
        except Exception as exc:  # keep the changes for the next flush; say so once per store
            if _refused_data(exc):
                self._isolate(key, tracks, changed, exc)
                return
            self._keep(tracks, changed)
            if key not in self._failed_keys:
                self._failed_keys.add(key)
                print(f"nb_orchestra: cannot write executions to the store ({exc!r}); retrying", file=sys.stderr)
            return
        self._failed_keys.discard(key)
        with self._lock:
            for track, (batch, written) in zip(tracks, snapshots, strict=True):
                written.apply(track, batch)
                execution = track.execution
                if execution.state in states.TERMINAL and execution.id not in self._dirty:
                    # Done with it; a restart in this process goes on from where this track stopped.
                    self._tracks.pop(execution.id, None)
                    self._ended[execution] = track.progress()
                    self.live.discard(execution.id)

    def _keep(self, tracks: list[_Track], changed: dict[str, dict[str, TaskRun]]) -> None:
        """Changes that could not be written wait for the next flush."""
        with self._lock:
            for track in tracks:
                track.changed.extend(changed[track.execution.id].values())
                self._dirty.setdefault(track.execution.id, track)

    def _isolate(self, key: StoreKey, tracks: list[_Track], changed: dict[str, dict[str, TaskRun]],
                 exc: Exception) -> None:
        """The store refused a batch for what it holds: write each execution alone, so one bad row
        never stops the history of the others; give up on one refused MAX_REFUSALS times."""
        if len(tracks) > 1:
            for track in tracks:
                self._write(key, [track], changed)
            return
        [track] = tracks
        track.refusals += 1
        if track.refusals < MAX_REFUSALS:
            self._keep(tracks, changed)
        else:
            self._give_up(track, exc)

    def _give_up(self, track: _Track, exc: Exception) -> None:
        execution = track.execution
        message = (f"this execution could not be written to the store ({type(exc).__name__}: {exc}); "
                   "its history there is incomplete")
        execution.logs.append(LogRecord(None, None, None, "WARN", message))
        print(f"nb_orchestra: execution {execution.id}: {message}", file=sys.stderr)
        with self._lock:
            self._dirty.pop(execution.id, None)
            self.live.discard(execution.id)

    def _heartbeat(self) -> None:
        with self._lock:
            by_key: dict[StoreKey, list[str]] = {}
            for execution_id in self.live:
                track = self._tracks.get(execution_id)
                if track is not None:
                    by_key.setdefault(track.key, []).append(execution_id)
        for key, ids in by_key.items():
            try:
                store_for(key).heartbeat(ids)
            except Exception:  # the next flush reports a store that is gone
                pass

    def stop(self) -> None:
        """Stop listening, write what is pending, end the writer thread."""
        self._unsubscribe()
        self._stopping = True
        self._work.set()
        self._urgent.set()
        self._thread.join(timeout=5)
        self.flush()


def _refused_data(exc: Exception) -> bool:
    """True when the store refused what a batch holds (a value, a constraint), not the connection."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"DataError", "IntegrityError", "ProgrammingError", "UnicodeError"}) or (
        isinstance(exc, (ValueError, TypeError)) and "OperationalError" not in names)


def _drain(changes: deque[TaskRun], unfinished: set[str]) -> dict[str, TaskRun]:
    """The task runs noted so far that were written unfinished (once each): the others are new and
    written anyway. Later ones stay for the next flush."""
    return {run.id: run for run in (changes.popleft() for _ in range(len(changes))) if run.id in unfinished}


class _Written:
    """A track's progress once its batch is written."""

    __slots__ = ("scanned", "kept_unfinished", "writer", "restarts", "logs_written", "labels")

    def __init__(self, scanned: int, kept_unfinished: set[str], writer: ChunkWriter, restarts: int,
                 logs_written: int, labels: dict[str, str]):
        self.scanned, self.kept_unfinished, self.writer = scanned, kept_unfinished, writer
        self.restarts, self.logs_written, self.labels = restarts, logs_written, labels

    def apply(self, track: _Track, batch: ExecutionBatch) -> None:
        track.next_chunks = batch.next_chunks
        track.scanned, track.restarts, track.logs_written = self.scanned, self.restarts, self.logs_written
        track.labels, track.flow_saved = self.labels, True
        # unfinished: those not written again, and those written unfinished now
        track.unfinished = self.kept_unfinished | self.writer.unfinished


def _snapshot(track: _Track, changed: dict[str, TaskRun], store: Store) -> tuple[ExecutionBatch, _Written]:
    """What changed in one execution, ready to write, and the track's progress once it is written."""
    ex = track.execution
    encode = Encoder(ex.secrets, track.key[0], store.execution_dir(ex.namespace, ex.flow_id, ex.id) / "outputs")
    # Only the tails are copied: a flush of a long loop costs what is new, not what ran before.
    scanned, unfinished = track.scanned, track.unfinished
    restarts = sum(1 for state, _ in ex.state_history if state == states.RESTARTED)
    if restarts != track.restarts:  # the list was rebuilt, ended runs got new attempts: all are new again
        scanned, unfinished, changed = 0, set(), {}
    fresh = ex.taskruns[scanned:]
    scanned += len(fresh)
    logs = ex.logs[track.logs_written:]
    fresh += changed.values()  # written unfinished, changed since
    writer = ChunkWriter(encode)
    labels = {encode.mask(key): encode.mask(value) for key, value in ex.labels.items()}
    row = (ex.id, ex.namespace, ex.flow_id, None, ex.state, encode.dumps(list(ex.state_history)), ex.start_date,
           ex.end_date, encode.dumps(ex.inputs), encode.dumps(labels), encode.dumps(ex.trigger), ex.original_id,
           encode.dumps(ex.flow_outputs), encode.mask(ex.message) if ex.message else None)
    batch = ExecutionBatch(row, labels if labels != track.labels else None, writer.texts(fresh),
                           log_texts(logs, encode), None if track.flow_saved else (ex.namespace, ex.flow_id,
                                                                                    ex.flow.source),
                           dict(track.next_chunks))
    return batch, _Written(scanned, unfinished - changed.keys(), writer, restarts, track.logs_written + len(logs),
                           labels)


_recorder: Recorder | None = None
_start_lock = threading.Lock()


def start_recording() -> Recorder:
    """Record every execution of this process into the store (idempotent)."""
    global _recorder
    with _start_lock:
        if _recorder is None:
            _recorder = Recorder()
            atexit.register(flush)
        return _recorder


def stop_recording() -> None:
    """Stop recording (after writing what is pending)."""
    global _recorder
    with _start_lock:
        recorder, _recorder = _recorder, None
    if recorder is not None:
        recorder.stop()


def flush() -> None:
    """Write what the recorder holds now; a no-op when not recording."""
    if _recorder is not None:
        _recorder.flush()


def live_ids() -> set[str]:
    """Ids of the executions this process is running (and recording)."""
    return set(_recorder.live) if _recorder is not None else set()
