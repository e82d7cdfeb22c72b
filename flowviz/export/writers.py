"""Stream RGB frames into MP4, WebM, GIF or a folder of PNGs: all or nothing.

Frames go through a pipe to an ffmpeg child process (the one imageio-ffmpeg bundles), so
encoding runs on the other core while the caller renders the next frame, and memory stays
flat however many frames there are. Output goes to a hidden temporary name in the target's
folder and is renamed over the requested name only once complete: Cancel, Ctrl+C, an
encoder failure or a crash never leave a truncated file there, and never destroy an
existing file of that name early.

    target = plan("moons.mp4", width=1280, height=720, fps=30, frames=120)
    with open_writer(target) as w:
        for frame in frames:  # (target.height, target.width, 3) uint8
            w.write(frame)
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from flowviz.export.interrupts import deferred

FORMATS = {".mp4": "mp4", ".gif": "gif", ".webm": "webm"}
MIN_SIDE = 16
MAX_SIDE = 8192
MAX_PIXELS = 7680 * 4320  # 8K UHD: beyond it x264 and libvpx levels run out
MAX_FPS = 120
GIF_MAX_FPS = 50  # delays are in 1/100 s, and browsers play delays under 2/100 s at 10/100 s
FRAME_FILE = re.compile(r"frame_\d+\.png\Z")

# x264 `superfast` costs ~19 ms of CPU a 720p plot frame here, `veryfast` ~28 ms for files
# ~30 % smaller, `faster` ~45 ms, `ultrafast` ~11 ms for files ~40 % bigger: at 40 frames/s
# on 2 cores superfast leaves more than half of them for computing and rendering.
MP4_PRESET = "superfast"
MP4_CRF = 20  # PSNR within 0.6 dB of crf 18 (yuv420p's chroma dominates), files ~12 % smaller
# VP9 `realtime` at cpu-used 8: the `good` deadline is ~7x slower for ~20 % smaller files.
WEBM_CRF = 32
# One palette per frame (stats_mode=single, new=1) keeps the stream flowing: a global
# palette makes ffmpeg buffer every frame before writing the first. Ordered (bayer) dither
# does not shimmer between frames as error diffusion does, and compresses better.
GIF_FILTER = (
    "split[a][b];[a]palettegen=stats_mode=single[p];"
    "[b][p]paletteuse=new=1:dither=bayer:bayer_scale=5"
)
# With one palette for the whole animation (Target.palette: made from sample frames before
# the first, so the stream still flows) unchanged pixels stay unchanged: each frame stores
# only the rectangle that changed, with its unchanged pixels transparent (3-4x smaller
# files than a palette per frame). Bayer dither at scale 3 keeps the heat gradients free
# of bands without the shimmer of error diffusion.
GIF_PALETTE_GEN = "palettegen=max_colors=256:stats_mode=full:reserve_transparent=1"
GIF_PALETTE_USE = "[0:v][1:v]paletteuse=dither=none:diff_mode=rectangle"
PNG_LEVEL = 3  # zlib level: ~2x faster than the default 6 for ~25 % bigger plot frames
# Players assume BT.709 for HD video; convert with it and say so in the stream.
BT709 = ["-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p"]
BT709_TAGS = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]
BT709_TAGS += ["-color_range", "tv"]
STDERR_LINES = 6
# A temporary untouched this long is debris of a killed export (SIGKILL, SIGTERM, power
# loss), not a live one: a live export touches it with every frame or packet.
STALE_AFTER_S = 600.0
#: Seconds the encoder may make no progress (take no frame data, write no output) before
#: the watchdog stops it: a hung ffmpeg never hangs an export forever.
STALL_S = 60.0
FFMPEG_CHATTER = re.compile(
    "Task finished|Terminating thread|Error sending frames|Nothing was written|before EOF"
)


class ExportError(ValueError):
    """An export cannot start or did not finish; one sentence naming the user's path."""


@dataclass(frozen=True)
class Target:
    """A validated export: frames must be (height, width, 3) uint8, exactly `frames` of them."""

    path: Path
    format: str  # "mp4" | "gif" | "webm" | "png" (a folder of numbered frames)
    width: int
    height: int
    fps: float
    frames: int
    notes: tuple[str, ...] = ()  # what plan changed or wants said (e.g. a size rounded)
    palette: str | None = None  # GIF: a palette image (GIF_PALETTE_GEN) for every frame

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, 3)


# --------------------------------------------------------------------------- planning


def plan(path: str | os.PathLike, *, width: int, height: int, fps: float, frames: int) -> Target:
    """Check everything an export needs before any frame is computed.

    The extension chooses the format: .mp4, .gif, .webm; an existing folder or a name
    without extension is a folder of PNG frames frame_0000.png, frame_0001.png, ...
    """
    path = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    if path.is_symlink() and path.resolve().is_file():
        path = path.resolve()  # write through the link, as an ordinary overwrite would
    fmt = _format_of(path)
    count = _whole(frames, "frames", path)
    if count < 1:
        raise ExportError(f"cannot export to {path}: frames must be at least 1, got {count}")
    rate = _fps(fps, fmt, path)
    width, height = _whole(width, "width", path), _whole(height, "height", path)
    notes = []
    if fmt == "mp4" and (width % 2 or height % 2):
        even = (width - width % 2, height - height % 2)
        notes.append(
            f"size {width}x{height} rounded to {even[0]}x{even[1]}: H.264 needs even sizes "
            "(multiples of 16 encode best)"
        )
        width, height = even
    _check_size(width, height, path)
    if fmt == "gif" and (100 / rate) % 1:
        notes.append(
            f"GIF delays are in 1/100 s: {rate:g} frames/s plays as alternating delays of "
            f"{math.floor(100 / rate)} and {math.ceil(100 / rate)} hundredths"
        )
    _check_folder(path, fmt)
    _ffmpeg(path)
    return Target(path, fmt, width, height, rate, count, tuple(notes))


def _format_of(path: Path) -> str:
    if path.is_dir():
        return "png"
    suffix = path.suffix.lower()
    if not suffix:
        return "png"
    if suffix in FORMATS:
        return FORMATS[suffix]
    if suffix == ".png":
        raise ExportError(
            f"cannot export to {path}: a .png name is one picture; for numbered PNG frames "
            f"give a folder name without an extension (e.g. {path.with_suffix('')})"
        )
    raise ExportError(
        f"cannot export to {path}: unknown extension '{path.suffix}' "
        "(use .mp4, .gif, .webm, or a folder name for PNG frames)"
    )


def _whole(value, name: str, path: Path) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if isinstance(value, float) and value.is_integer():
        ok, value = True, int(value)
    if not ok:
        raise ExportError(f"cannot export to {path}: {name} must be a whole number, got {value!r}")
    return int(value)


def _fps(fps, fmt: str, path: Path) -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)):
        raise ExportError(f"cannot export to {path}: fps must be a number, got {fps!r}")
    top = GIF_MAX_FPS if fmt == "gif" else MAX_FPS
    if not 1 <= fps <= top:
        why = " (GIF delays shorter than 2/100 s play slowly in browsers)" if fmt == "gif" else ""
        raise ExportError(f"cannot export to {path}: fps must be from 1 to {top}{why}, got {fps}")
    return int(fps) if float(fps).is_integer() else float(fps)


def _check_size(width: int, height: int, path: Path) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ExportError(
            f"cannot export to {path}: size {width}x{height} is too small "
            f"(at least {MIN_SIDE}x{MIN_SIDE})"
        )
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ExportError(
            f"cannot export to {path}: size {width}x{height} is too large (at most "
            f"{MAX_SIDE} a side and {MAX_PIXELS:,} pixels, e.g. 7680x4320)"
        )


def _check_folder(path: Path, fmt: str) -> None:
    folder = path.parent
    if not folder.exists():
        raise ExportError(f"cannot export to {path}: folder {folder} does not exist")
    if not folder.is_dir():
        raise ExportError(f"cannot export to {path}: {folder} is not a folder")
    if fmt == "png":
        if path.exists() and not path.is_dir():
            raise ExportError(f"cannot export to {path}: it is a file, not a folder for frames")
        others = _non_frames(path)
        if others:
            raise ExportError(
                f"cannot export to {path}: the folder holds files that are not frames "
                f"({others[0]!r}); choose a new or empty folder"
            )
    elif path.is_dir():
        raise ExportError(f"cannot export to {path}: it is a folder")
    # os.access says yes to root even on a read-only mount: try for real, then tidy up.
    try:
        probe = _reserve(folder, path.name, ".probe")
    except OSError as e:
        raise ExportError(
            f"cannot export to {path}: folder {folder} is not writable ({e.strerror})"
        ) from None
    probe.unlink()


def _non_frames(folder: Path) -> list[str]:
    """Names in an existing frame folder that a swap would throw away."""
    if not folder.is_dir():
        return []
    return sorted(n for n in os.listdir(folder) if not FRAME_FILE.match(n))


def _ffmpeg(path: Path | None = None) -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as e:
        where = f"cannot export to {path}: " if path else ""
        raise ExportError(f"{where}no ffmpeg found ({e})") from None


def _sweep(path: Path) -> None:
    """Remove debris of killed exports to this same name (only theirs, only when stale)."""
    folder = re.escape(f".{path.name[:100]}.") + r"[0-9a-f]{8}\.(part|old)"
    file = re.escape(f".{path.stem[:100]}.") + "[0-9a-f]{8}" + re.escape(f".part{path.suffix}")
    debris = re.compile(f"({folder}|{file})\\Z")
    try:
        names = [n for n in os.listdir(path.parent) if debris.match(n)]
    except OSError:
        return
    now = time.time()
    for n in names:
        with contextlib.suppress(OSError):
            if now - os.lstat(path.parent / n).st_mtime > STALE_AFTER_S:
                _remove(path.parent / n)


def _reserve(folder: Path, name: str, suffix: str, *, directory: bool = False) -> Path:
    """A new hidden name in folder, created empty so no one else takes it."""
    name = name[:100]  # room for the rest within the usual 255-byte name limit
    for _ in range(100):
        candidate = folder / f".{name}.{secrets.token_hex(4)}{suffix}"
        try:
            if directory:
                os.mkdir(candidate, 0o777)  # umask applies, unlike mkdtemp's 0700
            else:
                os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free temporary name in {folder}")


# ---------------------------------------------------------------------------- writing


_LIVE: weakref.WeakSet = weakref.WeakSet()  # open writers, for abort_all


def abort_all() -> None:
    """Abort every open Writer (a signal stops the process: nothing partial is left)."""
    for writer in list(_LIVE):
        writer.abort()


def open_writer(target: Target, *, cancelled=None) -> Writer:
    """Start the encoder on a temporary name; use as a context manager (or close/abort).
    cancelled(): asked once more before the result replaces anything (True: abort)."""
    return Writer(target, cancelled=cancelled)


def _output_of(target: Target, temp: Path) -> Path:
    if target.format != "png":
        return temp
    return temp / f"frame_%0{max(4, len(str(target.frames - 1)))}d.png"


def _codec_args(target: Target) -> list[str]:
    if target.format == "mp4":
        return [
            *BT709,
            *["-c:v", "libx264", "-preset", MP4_PRESET, "-crf", str(MP4_CRF)],
            *["-pix_fmt", "yuv420p", *BT709_TAGS, "-movflags", "+faststart"],
        ]
    if target.format == "webm":
        return [
            *BT709,
            *["-c:v", "libvpx-vp9", "-crf", str(WEBM_CRF), "-b:v", "0"],
            *["-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-tile-columns", "1"],
            *["-threads", str(max(2, os.cpu_count() or 2))],
            *["-pix_fmt", "yuv420p", *BT709_TAGS],
        ]
    if target.format == "gif":
        if target.palette:
            return ["-i", target.palette, "-lavfi", GIF_PALETTE_USE, "-loop", "0"]
        return ["-vf", GIF_FILTER, "-loop", "0"]
    return [
        *["-c:v", "png", "-compression_level", str(PNG_LEVEL)],
        *["-f", "image2", "-start_number", "0"],
    ]


class Writer:
    """Feeds frames to ffmpeg; publishes the result on close, removes every trace on abort."""

    def __init__(self, target: Target, *, cancelled=None):
        with deferred():  # a signal meanwhile is noted: the temporary is then known to abort
            self._start(target, cancelled)

    def _start(self, target: Target, cancelled) -> None:
        self.target = target
        self.count = 0  # frames written so far
        self._state = "open"
        self._cancelled = cancelled
        path = target.path
        folder = path.parent
        exe = _ffmpeg(path)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the writer)
        _sweep(path)
        try:
            if target.format == "png":
                self._temp = _reserve(folder, path.name, ".part", directory=True)
            else:
                self._temp = _reserve(folder, path.stem, ".part" + path.suffix)
        except OSError as e:
            self._log.close()
            raise ExportError(f"cannot export to {path}: {e.strerror or e}") from None
        rate = Fraction(target.fps).limit_denominator(1001)
        cmd = [
            *[exe, "-hide_banner", "-loglevel", "error", "-nostats", "-f", "rawvideo"],
            *["-pix_fmt", "rgb24", "-video_size", f"{target.width}x{target.height}"],
            *["-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0"],
            *_codec_args(target),
            *["-y", str(_output_of(target, self._temp))],
        ]
        try:
            # Its own session: the terminal's Ctrl+C reaches us, and we decide ffmpeg's fate.
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._log,
                start_new_session=True,
            )
        except OSError as e:
            self._log.close()
            _remove(self._temp)
            raise ExportError(f"cannot export to {path}: ffmpeg did not start ({e})") from None
        _widen_pipe(self._proc.stdin)
        self._watchdog = Watchdog(self._proc, self._temp)
        self._finalizer = weakref.finalize(
            self, _cleanup, self._proc, self._temp, self._log, self._watchdog
        )
        _LIVE.add(self)

    # ---------------------------------------------------------------- the public part

    def write(self, frame: np.ndarray) -> None:
        """Send one (height, width, 3) uint8 RGB frame (any strides: copied if needed)."""
        if self._state != "open":
            raise ExportError(f"export to {self.target.path} is {self._state}: no more frames")
        arr = np.asarray(frame)
        if arr.shape != self.target.frame_shape or arr.dtype != np.uint8:
            self.abort()
            raise ExportError(
                f"export to {self.target.path}: frame {self.count} is {arr.dtype} "
                f"{arr.shape}, expected uint8 {self.target.frame_shape} (height, width, RGB)"
            )
        if self.count >= self.target.frames:
            self.abort()
            raise ExportError(
                f"export to {self.target.path}: more than the {self.target.frames} "
                "planned frames were written"
            )
        try:
            with self._watchdog.busy():
                self._proc.stdin.write(memoryview(np.ascontiguousarray(arr)).cast("B"))
        except OSError:  # a broken pipe: ffmpeg stopped; its own words say why
            self._fail()
        self.count += 1

    def close(self) -> Path:
        """Finish encoding and put the result under the requested name; returns that path."""
        if self._state != "open":
            raise ExportError(f"export to {self.target.path} is {self._state}")
        try:
            if self.count != self.target.frames:
                raise ExportError(
                    f"export to {self.target.path}: {self.count} of "
                    f"{self.target.frames} planned frames were written"
                )
            try:
                with self._watchdog.busy():
                    self._proc.stdin.close()
            except OSError:
                self._fail()
            with self._watchdog.busy():
                code = self._proc.wait()
            if code != 0:
                self._fail()
            if self._cancelled is not None and self._cancelled():
                raise Cancelled  # an interrupt never ends in a replaced file
            self._publish()
        except OSError as e:  # fsync or rename: say it in the user's terms
            self.abort()
            raise ExportError(f"export to {self.target.path} failed: {e.strerror or e}") from None
        except BaseException:
            self.abort()
            raise
        self._state = "closed"
        self._watchdog.stop()
        self._finalizer()  # the temp name is gone already; this only closes the log
        return self.target.path

    def abort(self) -> None:
        """Stop ffmpeg and remove the temporary output; safe to call more than once."""
        if self._state == "open":
            self._state = "aborted"
        self._watchdog.stop()
        self._finalizer()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # ---------------------------------------------------------------- the rest

    def _fail(self):
        """ffmpeg stopped early: raise with the last lines it wrote, after cleaning up."""
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        self._proc.wait()
        self._log.seek(0)
        said = _last_words(self._log.read().decode(errors="replace"))
        stalled = self._watchdog.stalled
        self.abort()
        raise ExportError(
            f"export to {self.target.path} failed: {_why(self._proc.returncode, said, stalled)}"
        )

    def _publish(self) -> None:
        path, temp = self.target.path, self._temp
        if self.target.format != "png":
            _keep_mode(path, temp)
            with open(temp, "rb") as f:  # on disk before the rename, or a crash may empty it
                os.fsync(f.fileno())
            os.replace(temp, path)
            _fsync_dir(path.parent)
            return
        if not path.exists():
            os.rename(temp, path)  # also fine over an empty folder made meanwhile
            return
        others = _non_frames(path)
        if others:
            raise ExportError(
                f"export to {path}: the folder now holds files that are not frames "
                f"({others[0]!r}); the new frames were not kept"
            )
        _keep_mode(path, temp)
        if _exchange(temp, path):  # one atomic step: temp now holds the old frames
            shutil.rmtree(temp, ignore_errors=True)
            return
        old = _reserve(path.parent, path.name, ".old", directory=True)
        os.rename(path, old)  # over the empty folder just made
        try:
            os.rename(temp, path)
        except OSError:
            os.rename(old, path)
            raise
        shutil.rmtree(old, ignore_errors=True)


class Cancelled(Exception):
    """The export was cancelled (or interrupted) before its result was published."""


def _why(code: int, said: str, stalled: bool) -> str:
    """What stopped ffmpeg, in the user's terms."""
    if stalled:
        return (
            f"the encoder (ffmpeg) made no progress for {STALL_S:g} s and was stopped; "
            "nothing was written"
        )
    if code == -getattr(signal, "SIGXFSZ", 25) or "File too large" in said:
        return "the file could not grow: a file-size limit (ulimit -f) was reached"
    if "No space left" in said:
        return "the disk is full"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"ffmpeg was killed by {name}: {said}"
    return f"ffmpeg exited with status {code}: {said}"


class Watchdog:
    """Stops ffmpeg when a blocking step (a frame into the pipe, the final flush) makes no
    progress for STALL_S seconds: no bytes taken and no output written meanwhile. The
    blocked call then fails (a broken pipe, a killed process) and says why."""

    def __init__(self, proc: subprocess.Popen, output: Path):
        self._proc, self._output = proc, output
        self._since: float | None = None
        self._seen = self._size()
        self.stalled = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="flowviz-watchdog", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def busy(self):
        self._since = time.monotonic()
        try:
            yield
        finally:
            self._since = None

    def stop(self) -> None:
        self._done.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _size(self) -> int:
        """Bytes of output so far (a file, or a folder's frames)."""
        try:
            if self._output.is_dir():
                return sum(e.stat().st_size for e in os.scandir(self._output))
            return self._output.stat().st_size
        except OSError:
            return -1

    def _watch(self) -> None:
        step = min(1.0, STALL_S / 4)
        while not self._done.wait(step):
            since = self._since
            if since is None:
                continue
            size = self._size()
            if size != self._seen:  # the encoder writes: still alive
                self._seen = size
                self._since = time.monotonic()
            elif time.monotonic() - since > STALL_S and self._proc.poll() is None:
                self.stalled = True
                with contextlib.suppress(OSError):
                    self._proc.kill()
                return


def _last_words(log: str) -> str:
    """ffmpeg's last few lines that say what went wrong, without its shutdown chatter."""
    lines = [re.sub(r" @ 0x[0-9a-f]+", "", line).strip() for line in log.splitlines()]
    lines = [line for line in lines if line]
    useful = [line for line in lines if not FFMPEG_CHATTER.search(line)] or lines
    return " | ".join(useful[-STDERR_LINES:]) or "no message"


def _cleanup(proc: subprocess.Popen, temp: Path, log, watchdog: Watchdog) -> None:
    """Stop ffmpeg and remove temp; also runs at garbage collection and interpreter exit."""
    watchdog.stop()
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(OSError):
        proc.stdin.close()
    proc.wait()
    log.close()
    _remove(temp)


def _remove(temp: Path) -> None:
    if temp.is_dir() and not temp.is_symlink():
        shutil.rmtree(temp, ignore_errors=True)
    else:
        temp.unlink(missing_ok=True)


def _keep_mode(old: Path, new: Path) -> None:
    """A replaced file or folder keeps its permissions, as with an ordinary overwrite."""
    with contextlib.suppress(OSError):
        os.chmod(new, stat.S_IMODE(os.stat(old).st_mode))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _widen_pipe(stream) -> None:
    """A 1 MiB pipe (Linux) moves a frame in a few wake-ups instead of dozens."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where that is not available."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
