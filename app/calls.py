"""``CallManager``: the service's ``CallRegistry``. Opens, finds and ends call sessions.

Admission (is the id free, is there room) is checked and the slot reserved in one step with no
``await`` in between, so it is atomic on the event loop and no call ever waits behind another
call's I/O. The playbook is read after that: a database round trip for the newest version and,
when another instance stored a newer one, a parse in a thread, once per version (calls that need
it meanwhile share that parse).

A call id is not used for a second call. A platform may open a call under the id of one that
has ended (an Asterisk AudioSocket leg that comes after its call's leg grace, a Twilio stream
started again in the same call, a reconnect after its grace): the new call gets
``<id>:2`` (then ``:3``, ...) instead of writing into the ended call's record. Ids are looked
up in the store (calls of other instances, and before a restart) and, because the store is
written behind, among the calls this instance ended recently. This is best effort: when the
store does not answer within ``ID_LOOKUP_TIMEOUT_S`` only this instance's calls are checked,
and two instances opening the same id at the same moment can both take it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.bus import EventBus
from app.components import Components
from app.ingest.base import CallMeta, IngestError
from app.metrics import Metrics
from app.session import CallSession, SessionConfig, UnknownNudge
from app.store import FeedbackOp, Store
from app.store.repository import PRACTICE_CALL_PREFIX, PRACTICE_SOURCE, is_practice_call

if TYPE_CHECKING:
    from nudges.playbook import Playbook

log = logging.getLogger("carecue.calls")

HOLD_TTL_S = 15.0
"""A live call's hold on the bus (``EventBus.hold_calls``) lasts this long unless renewed; an
instance renews its calls' holds every third of it. A call whose instance died is ended by
another instance (reason ``instance_lost``) once its hold has expired."""

MAX_CALL_ID = 128
ENDED_IDS_KEPT = 10_000
"""Ids of calls this instance ended, kept so that a new call cannot take one whose record may
still be in the store's write queue (the store has the older ones)."""
ID_CANDIDATES = 20  # numbered ids looked up in one store round trip
ID_LOOKUP_TIMEOUT_S = 1.0
"""How long opening a call waits for the store's answer about its id. A slow database must
not hold up a platform's stream set-up (an AudioSocket leg waits for it): past this the call
opens as if the database were away, checked against this instance's calls."""


@dataclass
class PlaybookState:
    """The playbook new calls get: parsed object, its YAML text and stored version."""

    playbook: Playbook
    text: str
    source: str
    version: int | None


class CallManager:
    """Live calls of this instance. ``app.state.calls``."""

    def __init__(
        self,
        *,
        bus: EventBus,
        store: Store,
        metrics: Metrics,
        config: SessionConfig,
        max_calls: int,
        ready_wait_s: float,
        parse_playbook: Callable[[str, str], Playbook] | None = None,
        admit_max_asr_lag_s: float = 1.0,
    ) -> None:
        self._bus = bus
        self._store = store
        self._metrics = metrics
        self._config = config
        self._max_calls = max_calls
        self._admit_max_lag = admit_max_asr_lag_s
        self._ready_wait_s = ready_wait_s
        self._sessions: dict[str, CallSession] = {}
        self._opening: set[str] = set()  # admitted, still reading the playbook
        self._streams = 0  # transcription-only streams (/v1/asr), also under max_calls
        self._nudge_index: dict[str, str] = {}
        self._ended_ids: OrderedDict[str, None] = OrderedDict()  # newest last
        self._id_lookup_timeout_s = ID_LOOKUP_TIMEOUT_S
        self.components: Components | None = None
        self.ready = asyncio.Event()
        self.load_error: str | None = None
        self.playbook: PlaybookState | None = None
        self._parse = parse_playbook or _parse_playbook
        self._parsing: dict[int, asyncio.Task[PlaybookState]] = {}  # version -> its one parse
        self._closing = False
        metrics.asr_lag.set_function(self.asr_lag_s)

    # ---- capacity -----------------------------------------------------------------------

    def asr_lag_s(self) -> float:
        """Measured ASR lag now: the longest an ASR job has waited for a thread, or any live
        track's audio has waited to be transcribed (seconds; 0 when ASR keeps up)."""
        pressure = self.components.asr_pressure() if self.components is not None else 0.0
        tracks = max((s.asr_lag_s() for s in self._sessions.values()), default=0.0)
        return max(pressure, tracks)

    def capacity(self) -> tuple[bool, str | None]:
        """Whether a new call would be refused, and why: ``max_calls`` reached, or ASR
        already lagging more than ``admit_max_asr_lag_s`` (one more call would make every
        call's transcript later; a load balancer should send it to another instance)."""
        if self.in_use() >= self._max_calls:
            return True, "this instance is at its call limit"
        lag = self.asr_lag_s()
        if lag > self._admit_max_lag:
            return True, f"speech recognition is {lag:.1f} s behind on this instance"
        return False, None

    def _admit(self) -> None:
        full, why = self.capacity()
        if full:
            self._metrics.calls_refused.inc()
            raise IngestError("at_capacity", why or "at capacity", 1013)

    # ---- CallRegistry -------------------------------------------------------------------

    async def _ready_components(self) -> Components:
        if self._closing:
            raise IngestError("shutting_down", "the service is shutting down", 1001)
        if not self.ready.is_set():
            try:
                await asyncio.wait_for(self.ready.wait(), self._ready_wait_s)
            except TimeoutError as exc:
                raise IngestError(
                    "not_ready", "models are still loading; retry shortly", 1013
                ) from exc
        if self.components is None:
            raise IngestError("models_failed", self.load_error or "models failed to load", 1011)
        return self.components

    @asynccontextmanager
    async def stream_slot(self) -> AsyncIterator[Components]:
        """A transcription-only stream (``/v1/asr``): it waits for the models like a call
        and holds one of ``max_calls`` while it runs."""
        components = await self._ready_components()
        self._admit()
        self._streams += 1
        try:
            yield components
        finally:
            self._streams -= 1

    async def open_call(self, meta: CallMeta) -> CallSession:
        components = await self._ready_components()
        if not _valid_id(meta.call_id):
            raise IngestError(
                "bad_call_id", "call_id must be 1..128 printable UTF-8 characters", 1007
            )
        if not _valid_id(meta.agent_id):
            raise IngestError(
                "bad_agent_id", "agent_id must be 1..128 printable UTF-8 characters", 1007
            )
        if is_practice_call(meta.call_id) and not (
            meta.source == PRACTICE_SOURCE or "practice" in meta.custom
        ):
            # the floor hides practice calls: a live call must not be hidden by its id
            raise IngestError(
                "bad_call_id",
                f"call ids starting with {PRACTICE_CALL_PREFIX!r} are for practice calls",
                1007,
            )
        # Admission: check and reserve with no await in between (see the module docstring).
        if meta.call_id in self._sessions or meta.call_id in self._opening:
            raise IngestError("call_exists", f"call {meta.call_id!r} is already streaming", 1008)
        self._admit()
        wanted = meta.call_id
        self._opening.add(wanted)
        try:
            pb = await self._current_playbook()
            call_id = await self._unused_call_id(wanted)
            if self._closing:
                raise IngestError("shutting_down", "the service is shutting down", 1001)
            if call_id != wanted:
                log.info(
                    "call id already used by an earlier call; this call gets its own",
                    extra={"wanted_call_id": wanted, "call_id": call_id, "source": meta.source},
                )
                meta = dataclasses.replace(meta, call_id=call_id)
            session = CallSession(
                meta,
                components=components,
                playbook=pb.playbook,
                playbook_version=pb.version,
                bus=self._bus,
                store=self._store,
                metrics=self._metrics,
                config=self._config,
                on_finished=self._finished,
                on_nudge=self._index_nudge,
            )
            self._sessions[meta.call_id] = session
        finally:
            self._opening.discard(wanted)
        try:
            # held before call.started is published, so no instance sees it as orphaned
            await self._bus.hold_calls([meta.call_id], HOLD_TTL_S)
            await session.start()
        except Exception as exc:
            self._sessions.pop(meta.call_id, None)
            log.exception("call failed to start", extra={"call_id": meta.call_id})
            raise IngestError("start_failed", "the call could not be started", 1011) from exc
        self._metrics.active_calls.inc()
        self._metrics.calls_total.labels(meta.source).inc()
        return session

    def get(self, call_id: str) -> CallSession | None:
        return self._sessions.get(call_id)

    async def _unused_call_id(self, wanted: str) -> str:
        """``wanted``, or the first of ``wanted:2``, ``wanted:3``, ... that no call has had
        (see the module docstring). ``wanted`` itself is reserved by the caller."""
        first = 2
        while True:
            numbered = [_numbered(wanted, n) for n in range(first, first + ID_CANDIDATES)]
            stored = await self._stored_ids([wanted, *numbered] if first == 2 else numbered)
            # From here to the return nothing awaits: the id chosen is still free when the
            # caller registers it.
            if first == 2 and wanted not in stored and wanted not in self._ended_ids:
                return wanted
            for call_id in numbered:
                if call_id not in stored and not self.taken_here(call_id):
                    return call_id
            first += ID_CANDIDATES

    async def _stored_ids(self, call_ids: list[str]) -> set[str]:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self._store.repo.stored_call_ids, call_ids),
                self._id_lookup_timeout_s,
            )
        except TimeoutError:
            log.warning(
                "call id lookup in the store timed out; checked against this instance only",
                extra={"call_id": call_ids[0], "timeout_s": self._id_lookup_timeout_s},
            )
            return set()
        except Exception:
            # The database is away: calls go on, checked against this instance's calls only.
            log.exception("could not look up call ids in the store", extra={
                "call_id": call_ids[0]})
            return set()

    def taken_here(self, call_id: str) -> bool:
        """This instance runs the call, is opening it, or has just ended it (its
        ``call.ended`` may still be on its way to the store, where the call then looks open)."""
        return (call_id in self._sessions or call_id in self._opening
                or call_id in self._ended_ids)

    def in_use(self) -> int:
        """Slots of ``max_calls`` taken: live calls, calls being opened and ``/v1/asr`` streams."""
        return len(self._sessions) + len(self._opening) + self._streams

    # ---- the rest -----------------------------------------------------------------------

    def live(self) -> list[CallSession]:
        return list(self._sessions.values())

    def live_ids(self, agent_id: str | None = None) -> list[str]:
        return [
            s.call_id for s in self._sessions.values() if agent_id is None or s.agent_id == agent_id
        ]

    def _finished(self, session: CallSession) -> None:
        if self._sessions.get(session.call_id) is session:
            del self._sessions[session.call_id]
            self._metrics.active_calls.dec()
        self._ended_ids[session.call_id] = None
        self._ended_ids.move_to_end(session.call_id)
        while len(self._ended_ids) > ENDED_IDS_KEPT:
            self._ended_ids.popitem(last=False)
        for nid in [n for n, c in self._nudge_index.items() if c == session.call_id]:
            del self._nudge_index[nid]

    def _index_nudge(self, nudge_id: str, session: CallSession) -> None:
        self._nudge_index[nudge_id] = session.call_id

    async def _current_playbook(self) -> PlaybookState:
        """The newest playbook; another instance may have stored a newer one (PUT)."""
        current = self.playbook
        assert current is not None
        try:
            latest = await asyncio.to_thread(self._store.repo.latest_playbook_version)
        except Exception:
            log.exception("could not check the playbook version; using the cached one")
            return current
        if latest is None or latest == current.version:
            return current
        task = self._parsing.get(latest)
        if task is None:
            task = asyncio.create_task(self._load_newest(), name=f"playbook-v{latest}")
            self._parsing[latest] = task
            task.add_done_callback(lambda _t: self._parsing.pop(latest, None))
        # shielded: a caller that gives up does not cancel the parse others wait for
        return await asyncio.shield(task)

    async def _load_newest(self) -> PlaybookState:
        """Read the newest stored playbook and parse it in a thread; the cached one on error."""
        current = self.playbook
        assert current is not None
        try:
            row = await asyncio.to_thread(self._store.repo.latest_playbook)
            if row is None:
                return current
            version, text, source = row
            parsed = await asyncio.to_thread(self._parse, text, source)
            state = PlaybookState(parsed, text, source, version)
        except Exception:
            log.exception("could not load the newest playbook; using the cached one")
            return current
        newest = self.playbook
        if newest is None or newest.version is None or newest.version < version:
            self.playbook = state  # never back: a PUT here may have set a newer one meanwhile
        return state

    async def feedback(self, agent_id: str | None, nudge_id: str, action: str) -> str:
        """Route an agent's feedback to the live call, or store it for an ended one.

        ``agent_id`` None means a supervisor/admin acting on any call. Returns the call id;
        raises ``UnknownNudge`` for a nudge the caller may not touch or that does not exist.
        """
        call_id = self._nudge_index.get(nudge_id)
        session = self._sessions.get(call_id) if call_id else None
        if session is not None and not session.ended:
            if agent_id is not None and session.agent_id != agent_id:
                raise UnknownNudge(nudge_id)
            await session.feedback(nudge_id, action, agent_id or session.agent_id)
            return session.call_id
        owner = await asyncio.to_thread(self._store.repo.nudge_owner, nudge_id)
        if owner is None:
            # It may still be in the writer queue (just created); wait for it once.
            await self._store.flush()
            owner = await asyncio.to_thread(self._store.repo.nudge_owner, nudge_id)
        if owner is None:
            raise UnknownNudge(nudge_id)
        owner_call, owner_agent, rule_id = owner
        if agent_id is not None and owner_agent != agent_id:
            raise UnknownNudge(nudge_id)
        from datetime import UTC, datetime

        await self._store.enqueue(
            FeedbackOp(
                owner_call, nudge_id, rule_id, agent_id or owner_agent, action, datetime.now(UTC)
            )
        )
        return owner_call

    async def hold_live_calls(self) -> None:
        """Renew the holds of this instance's live calls until cancelled."""
        while True:
            await asyncio.sleep(HOLD_TTL_S / 3)
            try:
                await self._bus.hold_calls(list(self._sessions), HOLD_TTL_S)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not renew the live calls' holds")

    async def shutdown(self) -> None:
        self._closing = True
        sessions = list(self._sessions.values())
        await asyncio.gather(*(s.end("shutdown") for s in sessions), return_exceptions=True)


def _parse_playbook(text: str, source: str) -> Playbook:
    from nudges.playbook import parse_playbook

    return parse_playbook(text, source)


def _numbered(call_id: str, n: int) -> str:
    """``call_id:n``, its id shortened if need be to stay within ``MAX_CALL_ID``."""
    suffix = f":{n}"
    return call_id[: MAX_CALL_ID - len(suffix)] + suffix


def _valid_id(value: object) -> bool:
    """1..128 printable characters that encode as UTF-8 (no lone surrogates, no controls):
    an id that cannot be sent to a browser would break every stream that carries it."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_CALL_ID or not value.isprintable():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
