"""One simulated student of bench/soak.py: random good and bad actions on one Streamlit session, and
after each one a check of what the student sees (exceptions, its own architecture, nobody else's)."""

from __future__ import annotations

import asyncio
import functools
import io
import random
import re
import time
import urllib.parse

import numpy as np

from bench.st_client import CAPTION_PREFIX, TRIGGERS, Tab, get_root

SIZE_IN_CAPTION = re.compile(r"(?<=→ )(\d+)(?= →)")
SIZE_IN_TEXT = re.compile(r"(?<![-\w])hidden[ =](\d+(?:(?:-|,|%2C|, )\d+)*)(?!\w)")
STATUS = re.compile(r"\b(running|paused|stopped|done|idle|diverged)\b\W*·.*?step (\d+) of")
PAGES = ("Architecture", "Train", "Sample", "Home")
SIZES = ((8, 8), (4, 16), (16, 4), (2, 32))
# the sidebar part of tests/app/test_bad_inputs.py's catalogue: each is refused, the architecture stays
BAD_HIDDEN = (
    "0,-3",
    "abc",
    "1e9",
    "64, 1.5",
    "5000",
    "9" * 22,
    ",".join(["8"] * 9),
    "1," * 500,
    "<script>alert(1)</script>",
    "-1",
    "%00",
    "NaN",
    "12, , ,x",
    "-3",
    "500,-1",
    "0x10",
    "1e3",
    "٣٢, -٣",  # Arabic-Indic digits with a minus: still not a valid size
    "hidden=1",
)
# what students paste by mistake: a whole document into the box (--paste-mb MB; refused, the box keeps it)
PASTES = ("9", "1,", "x")
# odd but valid texts: (text made from the student's own size n, the hidden layers the app must take)
ODD_HIDDEN = (
    (lambda n: "", lambda n: ()),
    (lambda n: f"{n},", lambda n: (n,)),
    (lambda n: f" {n} ,, {n};", lambda n: (n, n)),
    (lambda n: str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９")), lambda n: (n,)),
    (lambda n: str(n).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")), lambda n: (n,)),
    (lambda n: f"+{n}", lambda n: (n,)),
)
UPLOAD = "Your data file"  # the Train page's uploader (Source: Upload)
REFUSED = "This file cannot be used"  # the start of the Train page's message about a bad file


def _npy(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


@functools.lru_cache(maxsize=4)
def huge_file(mb: float) -> bytes:
    """One buffer larger than the server's upload limit, shared by every student (the client's memory)."""
    return bytes(int(mb * 2**20))


# bad files: (name, bytes, what the student must see: a fragment of the app's message, or 413 = refused by
# the server before the app sees it, with nothing changed on the page)
BAD_UPLOADS = (
    ("wrong-size.npy", lambda args: _npy(np.zeros((3, 65, 65), np.uint8)), "larger than 64x64"),
    ("ragged.npy", lambda args: _npy(np.zeros((5, 7), np.uint8))[:-9], "ragged.npy"),
    ("photo.jpg", lambda args: b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(4000), "unrecognised file format"),
    ("notes.txt", lambda args: "Hausaufgabe: MADE ☺\n".encode() * 50, "unrecognised file format"),
    ("empty.npy", lambda args: b"", "empty.npy"),
    ("huge.npy", lambda args: huge_file(args.huge_upload_mb), 413),
)
# junk links: (query, what the student should see: "default", "own" or None = anything but an exception)
JUNK_URLS = (
    ("utm_source=lms", "default"),
    ("utm_source=lms&utm_medium=email&fbclid=x1", "default"),
    ("d=abc", "default"),
    ("hidden=-1", "default"),
    ("hidden=abc", "default"),
    ("shape=7x7", "default"),
    ("masking=evil", "default"),
    ("num_masks=1e3", "default"),
    ("d=64&d=12", None),
    ("hidden={own}&utm_source=lms", "own"),
    ("page=../../etc/passwd&hidden={own}", "own"),
)


def caption_hidden(caption: str) -> tuple[int, ...]:
    return tuple(int(x) for x in SIZE_IN_CAPTION.findall(caption))


def looks_valid(hidden_text: str) -> bool:
    """A Hidden layers text the app would take (so a box showing it must match the caption)."""
    parts = [p.strip() for p in hidden_text.split(",")]
    return 1 <= len(parts) <= 8 and all(p.isdigit() and 1 <= int(p) <= 4096 for p in parts)


def sizes_in(text: str) -> set[int]:
    out = {int(x) for x in SIZE_IN_CAPTION.findall(text)}
    for m in SIZE_IN_TEXT.finditer(text):
        out |= {int(x) for x in re.findall(r"\d+", m.group(1).replace("%2C", ","))}
    return out


class SoakStudent:
    """A student with its own hidden sizes (200+i, 300+i: nobody else's), a random number generator and
    what it expects the sidebar to show: the architecture it last chose (or its link gave it)."""

    def __init__(self, index: int, everyone: dict[int, set[int]], rng: random.Random, args):
        self.index, self.rng, self.args = index, rng, args
        self.own = everyone[index]
        self.foreign = set().union(*(v for k, v in everyone.items() if k != index))
        self.tab: Tab | None = None
        self.backend: str | None = None
        self.cookie: str | None = None
        self.path = "architecture"
        self.default: tuple[int, ...] | None = None  # the default architecture (the first page's)
        self.default_hw: tuple[int, int] = (8, 8)
        self.hidden: tuple[int, ...] | None = None  # what the sidebar must show
        self.rejected_text: str | None = None  # the last Hidden layers text the app refused
        self.rejected_hw: tuple[int, int] | None = None  # the last Height x Width the app refused
        self.hw: tuple[int, int] = (8, 8)
        self.where = "start"
        self.actions = self.bad_actions = 0
        self.latencies: dict[str, list[float]] = {}
        self.exceptions: list[str] = []
        self.lost: list[str] = []
        self.leaks: list[str] = []
        self.errors: list[str] = []
        self.notes: set[str] = set()
        self.killed_at: float | None = None
        self.backend_at_kill: str | None = None
        self.disconnected = False
        self.restored_after_kill: bool | None = None
        self.reload_error: str | None = None
        self.reload_s: float | None = None
        self.after_kill_trouble: list[str] = []

    @property
    def label(self) -> str:
        return f"student {self.index}"

    # --- the session ------------------------------------------------------------------------------
    async def live(self, url: str, deadline: float, stagger: float = 0.0) -> None:
        self.url = url
        await asyncio.sleep(stagger)
        try:
            await self.open_tab("architecture", "")
        except Exception as e:  # noqa: BLE001 - a student that cannot even connect is reported, not raised
            self.errors.append(f"first visit: {type(e).__name__}: {e}")
            return
        while time.monotonic() < deadline:
            await asyncio.sleep(self.rng.expovariate(1 / self.args.think))
            if time.monotonic() >= deadline:
                break
            await self.one_action()
        if self.tab is not None:
            await self.tab.close()

    async def open_tab(self, path: str, query: str) -> float:
        """A browser tab on /path?query: GET / for nginx's cookie (kept, as a browser keeps it), the
        websocket, the first run. Returns the seconds until that run finished."""
        if self.tab is not None:
            await self.tab.close()
        t0 = time.perf_counter()
        # the page itself, as a browser loads it on every (re)load: its cookies come back updated (after a
        # process died, nginx's madeviz_host names the process that now holds the new session)
        self.cookie, self.backend = await asyncio.to_thread(get_root, self.url, self.args.timeout, self.cookie)
        tab = self.tab = Tab(self.url, self.args.timeout, self.on_text, self.cookie)
        await tab.connect()
        self.backend = tab.backend_ws or self.backend
        run = await tab.open(path, query)
        self.waited = getattr(self, "waited", 0.0) + run.latency
        self.path = path
        if self.default is None:
            self.default = caption_hidden(tab.caption())
            self.default_hw = (tab.value("Height"), tab.value("Width"))
            self.hidden = self.default
        return time.perf_counter() - t0

    def on_text(self, where: str, text: str) -> None:
        bad = sizes_in(text) & self.foreign if text else set()
        if bad and len(self.leaks) < 20:
            self.leaks.append(
                f"{self.where}: {where} shows another student's hidden size {sorted(bad)}: {text[:160]!r}"
            )

    # --- one action ---------------------------------------------------------------------------------
    async def one_action(self) -> None:
        bad = self.rng.random() < self.args.bad
        kinds = (
            ("bad_hidden", "tiny_image", "junk_url", "stop_start_burst", "huge_layers", "bad_upload", "paste")
            if bad
            else ("hidden", "hidden", "odd_hidden", "size", "page", "page", "train", "sample", "reload", "upload")
        )
        kind = self.rng.choice(kinds)
        self.where = kind
        self.actions += 1
        self.bad_actions += bad
        killed_before = self.killed_at is not None and self.backend_at_kill is not None
        if self.killed_at is not None and self.backend_at_kill is None:
            self.backend_at_kill = self.backend or "?"
        self.waited = 0.0
        try:
            if self.tab is None or self.tab.closed:
                await self.recover()
            await getattr(self, "do_" + kind)()
            self.latencies.setdefault(kind, []).append(self.waited)
            self.check(kind)
        except PermissionError as e:  # a disabled widget: the browser would not let the student type either
            self.notes.add(f"{kind}: skipped, {str(e).split(' on the ')[0]} (e.g. while training)")
            self.check(kind)
        except Exception as e:  # noqa: BLE001 - recorded; the student goes on (reloads if the tab died)
            msg = f"{kind}: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
            self.errors.append(msg)
            if killed_before or self.killed_at is not None:
                self.after_kill_trouble.append(msg)
        finally:
            self.collect_tab_errors()

    def collect_tab_errors(self) -> None:
        tab = self.tab
        if tab is None:
            return
        for e in tab.errors:
            (self.exceptions if e.startswith(("exception on the page", "script compilation")) else self.errors).append(
                f"{self.where}: {e}"
            )
            if self.killed_at is not None:
                self.after_kill_trouble.append(f"{self.where}: {e}")
            if "websocket closed" in e:
                self.disconnected = True
        tab.errors = []

    async def recover(self) -> None:
        """The tab lost its server (a killed process): the student reloads it, URL and all."""
        self.disconnected = True
        query = self.tab.query if self.tab is not None else ""
        t0 = time.perf_counter()
        try:
            await self.open_tab(self.path, query)
        except Exception as e:  # noqa: BLE001
            self.reload_error = f"{type(e).__name__}: {e}"
            self.tab = None
            raise
        self.reload_s = time.perf_counter() - t0
        shown = caption_hidden(self.tab.caption())
        self.restored_after_kill = shown == self.hidden
        if shown != self.hidden:
            self.lost.append(f"reload after the connection closed: sidebar shows {shown}, the URL had {self.hidden}")
            self.hidden = shown

    async def run(self, sent_and_node) -> None:
        """Wait for the run a widget change or a click caused; its time counts as the action's latency."""
        sent, node = sent_and_node
        run = await self.tab.wait_done(sent, node.fragment_id, f"the run after {self.where}")
        self.waited += run.finished - sent

    async def goto(self, title: str) -> None:
        run = await self.tab.goto(title)
        self.waited += run.latency
        self.path = "" if title == "Home" else title.lower()

    # --- good actions -----------------------------------------------------------------------------
    async def do_hidden(self) -> None:
        want = tuple(self.rng.choice(sorted(self.own)) for _ in range(self.rng.randint(1, 3)))
        await self.run(await self.tab.set_value("Hidden layers", ", ".join(map(str, want))))
        self.hidden, self.rejected_text = want, None

    async def do_size(self) -> None:
        h, w = self.rng.choice(SIZES)
        self.tab.put("Height", h)
        await self.run(await self.tab.set_value("Width", w))
        self.hw, self.rejected_hw = (h, w), None

    async def do_page(self) -> None:
        title = self.rng.choice([p for p in PAGES if p.lower() != self.path])
        await self.goto(title)

    async def to_train(self) -> None:
        if self.path != "train":
            await self.goto("Train")

    async def click(self, label: str) -> bool:
        if self.tab.widget(label, kinds=tuple(TRIGGERS)) is None:
            return False
        await self.run(await self.tab.click(label))
        return True

    async def do_train(self) -> None:
        await self.to_train()
        await self.ready_to_start()
        if not await self.click("Start"):
            self.notes.add("train: no Start button after Reset")
            return
        await asyncio.sleep(self.rng.uniform(1, 4))
        t0 = time.perf_counter()
        if not await self.click("Stop"):
            return  # the run had finished already
        said = lambda: any(w in self.tab.progress_text for w in ("stopped", "**done**"))  # noqa: E731
        try:
            # the page says "stopping" until the training worker has sent its final count (a worker busy with
            # another student's "+20 steps" of a large network answers late): that is no lost state, but a
            # page that never says "stopped" is
            await self.tab.wait_until(said, "the page saying stopped", 5)
        except TimeoutError:
            if "**stopping**" not in self.tab.progress_text:
                self.lost.append(f"train: 5 s after Stop the page says {self.tab.progress_text[:80]!r}")
                return
            self.notes.add("train: a Stop said 'stopping' for over 5 s (its worker answered late)")
            try:
                await self.tab.wait_until(said, "the page saying stopped", 25)
            except TimeoutError:
                self.lost.append(f"train: 30 s after Stop the page says {self.tab.progress_text[:80]!r}")
                return
        if "**done**" in self.tab.progress_text:  # the run ended on its own as Stop was sent: nothing to stop
            self.notes.add("train: the run was done before its Stop arrived")
        self.latencies.setdefault("stop_to_says_stopped", []).append(time.perf_counter() - t0)
        steps = self.steps()
        await asyncio.sleep(2)
        if self.steps() != steps:
            self.lost.append(f"train: the step count rose after Stop ({steps} -> {self.steps()})")

    def steps(self) -> int | None:
        m = STATUS.search(self.tab.progress_text.replace(",", ""))
        return int(m[2]) if m else None

    async def do_sample(self) -> None:
        if self.path != "sample":
            await self.goto("Sample")
        for label in ("New seed", "New"):
            if await self.click(label):
                return

    async def do_reload(self) -> None:
        await self.open_tab(self.path, self.tab.query)

    async def do_odd_hidden(self) -> None:
        """An odd but valid text (empty, a trailing comma, other digits): the app takes what it means."""
        text, means = self.rng.choice(ODD_HIDDEN)
        n = self.rng.choice(sorted(self.own))
        await self.run(await self.tab.set_value("Hidden layers", text(n)))
        self.hidden, self.rejected_text = means(n), None

    async def use_source(self, source: str) -> None:
        """The Train page's data source radio (Built-in or Upload)."""
        await self.to_train()
        if self.tab.value("Source") != source:
            await self.run(await self.tab.set_value("Source", source))

    async def do_upload(self) -> None:
        """A good file: 8x8 images of this student's own (its name carries the student's own size, so a
        student who sees another's upload is caught by the leak check). No message; back to Built-in."""
        await self.use_source("Upload")
        rng = np.random.default_rng(self.index)
        data = _npy(rng.integers(0, 256, (40, 8, 8), dtype=np.uint8))
        name = f"hidden {min(self.own)}.npy"
        up = await self.tab.upload(UPLOAD, name, data)
        if up.status != 204:
            self.lost.append(f"upload: a good {len(data)}-byte file got HTTP {up.status}")
            return
        await self.run((up.sent, up.node))
        # only a message about the file counts: an earlier sidebar refusal is still said at the top of the page
        if errors := [e for e in self.tab.shown_errors() if "was not taken" not in e and "architecture" not in e]:
            self.lost.append(f"upload: a good file was refused: {errors[-1][:160]!r}")
        await self.use_source("Built-in")

    async def do_bad_upload(self) -> None:
        """A bad file: the app names it and says why (or the server refuses it for its size, and the page
        does not change); the architecture stays; back on Built-in no message is left."""
        await self.use_source("Upload")
        name, make, expect = self.rng.choice(BAD_UPLOADS)
        up = await self.tab.upload(UPLOAD, name, make(self.args))
        if expect == 413:
            if up.status not in (413, 0) or up.sent is not None:
                self.lost.append(f"bad upload {name}: a file over the limit got HTTP {up.status}")
            self.notes.add(f"a {self.args.huge_upload_mb:g} MB upload: HTTP {up.status}, the page unchanged")
        else:
            if up.status != 204:
                self.lost.append(f"bad upload {name}: HTTP {up.status} (the app never saw it)")
                return
            await self.run((up.sent, up.node))
            errors = self.tab.shown_errors()
            if not any(REFUSED in e and (expect in e or name in e) for e in errors):
                self.lost.append(f"bad upload {name}: no message naming it ({[e[:100] for e in errors]})")
        await self.use_source("Built-in")
        if left := [e for e in self.tab.shown_errors() if REFUSED in e]:
            self.lost.append(f"bad upload {name}: back on Built-in the page still says {left[-1][:100]!r}")

    # --- bad actions ------------------------------------------------------------------------------
    async def do_bad_hidden(self) -> None:
        self.rejected_text = self.rng.choice(BAD_HIDDEN)
        await self.run(await self.tab.set_value("Hidden layers", self.rejected_text))

    async def do_paste(self) -> None:
        """A whole document pasted into Hidden layers (--paste-mb MB): refused like any bad text; the reply
        must not echo the megabytes back (noted with the size of the message)."""
        unit = self.rng.choice(PASTES)
        text = unit * int(self.args.paste_mb * 2**20 / len(unit))
        before = list(self.tab.states.values())
        try:
            await self.run(await self.tab.set_value("Hidden layers", text))
        except ConnectionError:
            if self.tab.close_code != 1009:
                raise
            # over server.maxWidgetStateSize: the server closed the socket unread; the browser reconnects to
            # the same session (its box could never hold the text), which must still show its network
            self.tab.errors = [e for e in self.tab.errors if "1009" not in e]
            run = await self.tab.reconnect(before)
            self.waited += run.latency
            self.notes.add(
                f"a {self.args.paste_mb:g} MB paste: the server closed the socket (1009), the tab reconnected"
            )
            return
        self.rejected_text = text
        longest = max((len(e) for e in self.tab.shown_errors()), default=0)
        self.notes.add(f"a {self.args.paste_mb:g} MB paste of {unit!r}: the longest message has {longest:,} characters")

    async def do_tiny_image(self) -> None:
        """Height 1 and Width 1 in one message: D = 1 is refused, the architecture stays."""
        self.tab.put("Height", 1)
        self.rejected_hw = (1, 1)
        await self.run(await self.tab.set_value("Width", 1))

    async def do_junk_url(self) -> None:
        # a link carrying the student's own layers needs some: with none (a network of direct connections
        # only) "hidden=" would be a different link, so such a student gets one of the others
        query, expect = self.rng.choice([j for j in JUNK_URLS if j[1] != "own" or self.hidden])
        own = ",".join(map(str, self.hidden))
        query = query.format(own=urllib.parse.quote(own))
        await self.open_tab("architecture", query)
        shown = caption_hidden(self.tab.caption())
        want = {"default": self.default, "own": self.hidden, None: shown}[expect]
        if shown != want:
            self.lost.append(f"junk link ?{query}: the sidebar shows {shown}, expected {want}")
        hw = (self.tab.value("Height"), self.tab.value("Width"))
        if expect == "default" and hw != self.default_hw:
            self.lost.append(f"junk link ?{query}: Height x Width shows {hw}, expected the default {self.default_hw}")
        self.hidden, self.hw = shown, hw
        keys = [k for k, _ in urllib.parse.parse_qsl(self.tab.query)]
        if len(keys) != len(set(keys)):
            self.lost.append(f"junk link ?{query}: the rewritten URL repeats a key: {self.tab.query!r}")

    async def ready_to_start(self) -> None:
        """After a Stop or a finished run the Train page offers a reset first; Start comes after it."""
        for label in ("Stop", "New run", "Reset", "Reset: train the new one"):
            if self.tab.widget("Start", kinds=tuple(TRIGGERS)) is not None:
                return
            await self.click(label)

    async def do_stop_start_burst(self) -> None:
        """Start, Stop, Start, Stop, ... as fast as the buttons come back (a student hammering them)."""
        await self.to_train()
        for _ in range(self.rng.randint(2, 4)):
            await self.ready_to_start()
            if not await self.click("Start"):
                self.notes.add("burst: no Start button")
                return
            if not await self.click(self.rng.choice(("Stop", "Pause"))):
                return

    async def do_huge_layers(self) -> None:
        """8 layers of 4096 (or --huge-layers): refused with a message once the memory budget exists;
        today accepted. Either is checked for consistency; the student then goes back to its own size."""
        text = self.args.huge_layers
        await self.run(await self.tab.set_value("Hidden layers", text))
        shown = caption_hidden(self.tab.caption())
        huge = tuple(int(x) for x in text.split(","))
        if shown not in (huge, self.hidden):
            self.lost.append(f"huge layers: the sidebar shows {shown}")
        self.notes.add(f"huge layers {text}: " + ("accepted" if shown == huge else "refused"))
        self.rejected_text = None if shown == huge else text
        self.hidden = shown
        self.check("huge_layers")
        await self.do_hidden()

    # --- what the student sees --------------------------------------------------------------------
    def check(self, kind: str) -> None:
        tab = self.tab
        cap = tab.caption()
        if not cap.startswith(CAPTION_PREFIX):
            self.lost.append(f"after {kind}: no sidebar caption on the {tab.page_title()} page")
            return
        shown = caption_hidden(cap)
        if self.hidden is None:
            self.hidden = shown
        if shown != self.hidden:
            said = f" (the page says: {tab.error_alerts[-1][:120]!r})" if tab.error_alerts else ""
            self.lost.append(f"after {kind}: the sidebar caption shows {shown}, expected {self.hidden}{said}")
            self.hidden = shown
        box = tab.value("Hidden layers")
        if box is not None and tuple(int(x) for x in re.findall(r"\d+", str(box))) != self.hidden:
            if str(box) != self.rejected_text and looks_valid(str(box)):
                self.lost.append(f"after {kind}: the Hidden layers box holds {box!r}, the caption {shown}")
            else:
                self.notes.add("a rejected Hidden layers text stays in its box (the caption keeps the old one)")
        hw = (tab.value("Height"), tab.value("Width"))
        if None not in hw and hw != self.hw:
            if hw == self.rejected_hw:
                self.notes.add("a refused Height x Width stays in its boxes (the caption keeps the old one)")
            else:
                self.lost.append(f"after {kind}: Height x Width shows {hw}, expected {self.hw}")
                self.hw = hw
