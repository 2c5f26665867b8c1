"""Shared pieces of the Dalil benchmarks: a cached corpus of realistic camera JPEGs, page-cache
warming, process-tree memory sampling, timing of native baselines and of the ``dalil`` CLI.

Not a package module: ``bench/ingest.py`` and ``bench/verify.py`` import it as ``common``
because Python puts the script's own folder first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw
from PIL.ExifTags import IFD
from PIL.TiffImagePlugin import IFDRational

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "dalil-bench"

# Bump when the generator changes, so stale cached photos are not mixed with new ones.
GENERATOR_VERSION = 1
WIDTH, HEIGHT = 4000, 3000  # 12 MP, stored landscape like every camera sensor
JPEG_QUALITY = 90
PAD = 256  # the noise banks are this much larger than the frame; each photo uses a shifted view


@dataclass(frozen=True, slots=True)
class Camera:
    make: str
    model: str
    folder_suffix: str  # DCF folder names: 100CANON, 101CANON ...
    file_prefix: str  # DCF file names: IMG_0001.JPG ...
    number_width: int
    serial_base: int
    lens: str
    has_gps: bool


CAMERAS: tuple[Camera, ...] = (
    Camera(
        "Canon",
        "Canon EOS 5D Mark IV",
        "CANON",
        "IMG_",
        4,
        31_2040_0001,
        "EF24-105mm f/4L IS II USM",
        False,
    ),
    Camera(
        "NIKON CORPORATION",
        "NIKON D750",
        "NIKON",
        "DSC_",
        4,
        60_31_337,
        "24.0-120.0 mm f/4.0",
        False,
    ),
    Camera("SONY", "ILCE-7M3", "MSDCF", "DSC", 5, 38_11_204, "FE 28-70mm F3.5-5.6 OSS", True),
    Camera("Apple", "iPhone 8", "APPLE", "IMG_", 4, 0, "iPhone 8 back camera 3.99mm f/1.8", True),
)
FILES_PER_FOLDER = 200
EPOCH = dt.datetime(2013, 5, 3, 8, 0, 0)


def add_run_options(parser: argparse.ArgumentParser, *, workdir_help: str, jobs_help: str) -> None:
    """The options every timing benchmark shares: --n, --workdir, --jobs, --repeat, --json."""
    parser.add_argument("--n", type=int, default=2000, help="number of 12 MP photos")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"{workdir_help} (default: %(default)s)",
    )
    parser.add_argument("--jobs", type=int, default=2, help=jobs_help)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="alternate floor and Dalil this many times; report the best of each",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")


def check_run_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.n < 1 or args.jobs < 1 or args.repeat < 1:
        parser.error("--n, --jobs and --repeat must be at least 1")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the corpus ----------------------------------------------------------------------------


def photo_relpath(index: int) -> Path:
    """Where photo ``index`` lives: one memory card per camera, DCF folders of 200 files."""
    camera = CAMERAS[index % len(CAMERAS)]
    shot = index // len(CAMERAS)
    folder = f"{100 + shot // FILES_PER_FOLDER}{camera.folder_suffix}"
    number = f"{shot % (10**camera.number_width - 1) + 1:0{camera.number_width}d}"
    card = f"card{index % len(CAMERAS) + 1}-{camera.make.split()[0].lower()}"
    return Path(card) / "DCIM" / folder / f"{camera.file_prefix}{number}.JPG"


def _rational(value: float, denominator: int = 10_000) -> IFDRational:
    return IFDRational(round(value * denominator), denominator)


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return IFDRational(degrees, 1), IFDRational(minutes, 1), _rational(seconds, 1000)


def make_exif(index: int, rng: np.random.Generator) -> tuple[Image.Exif, float]:
    """EXIF as a camera writes it; returns it with the capture time as a POSIX timestamp."""
    camera = CAMERAS[index % len(CAMERAS)]
    shot = index // len(CAMERAS)
    taken = EPOCH + dt.timedelta(days=shot // 150, seconds=37 * shot + 11 * (index % 4))
    stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
    exif = Image.Exif()
    exif[0x010F] = camera.make
    exif[0x0110] = camera.model
    exif[0x0131] = "Firmware 1.0.2"
    exif[0x0132] = stamp
    # about one shot in eight was held upright: the sensor still stores it landscape
    exif[0x0112] = 6 if rng.random() < 0.125 else 1
    sub = exif.get_ifd(IFD.Exif)
    sub[0x9000] = b"0231"
    sub[0x9003] = stamp  # DateTimeOriginal
    sub[0x9004] = stamp  # DateTimeDigitized
    sub[0x9011] = "+03:00"  # OffsetTimeOriginal
    sub[0x829A] = IFDRational(1, int(rng.choice([60, 125, 250, 500])))  # ExposureTime
    sub[0x829D] = _rational(float(rng.choice([2.8, 4.0, 5.6, 8.0])), 10)  # FNumber
    sub[0x8827] = int(rng.choice([100, 200, 400, 800, 1600]))  # ISOSpeedRatings
    sub[0x920A] = _rational(float(rng.uniform(24, 105)), 10)  # FocalLength
    sub[0xA434] = camera.lens  # LensModel
    if camera.serial_base:
        sub[0xA431] = str(camera.serial_base)  # BodySerialNumber
    if camera.has_gps and rng.random() < 0.7:
        lat = 33.5138 + float(rng.normal(0, 0.05))
        lon = 36.2765 + float(rng.normal(0, 0.05))
        gps = exif.get_ifd(IFD.GPSInfo)
        gps[0x0000] = b"\x02\x03\x00\x00"  # GPSVersionID
        gps[0x0001] = "N" if lat >= 0 else "S"
        gps[0x0002] = _dms(lat)
        gps[0x0003] = "E" if lon >= 0 else "W"
        gps[0x0004] = _dms(lon)
        gps[0x0005] = b"\x00"  # above sea level
        gps[0x0006] = _rational(float(rng.uniform(600, 750)), 10)
    return exif, taken.timestamp()


_BANKS: tuple[npt.NDArray[np.int8], npt.NDArray[np.int8]] | None = None


def _init_generator() -> None:
    """Per process: a bank of colour sensor noise and one of luminance grain (texture)."""
    global _BANKS
    rng = np.random.default_rng(0xDA1)
    noise = rng.standard_normal((HEIGHT + PAD, WIDTH + PAD, 3), dtype=np.float32)
    noise *= 5.0  # sensor noise sigma, in 8-bit levels
    sensor = np.clip(noise, -127, 127).astype(np.int8)
    del noise
    low = rng.integers(0, 256, ((HEIGHT + PAD) // 4, (WIDTH + PAD) // 4), dtype=np.uint8)
    grain_img = Image.fromarray(low).resize((WIDTH + PAD, HEIGHT + PAD), Image.Resampling.BICUBIC)
    grain = (np.asarray(grain_img).astype(np.int16) - 128).astype(np.int8)
    _BANKS = (sensor, grain)


def render_photo(index: int) -> npt.NDArray[np.uint8]:
    """A photographic-looking 12 MP frame: smooth light, hard-edged shapes, grain, noise."""
    if _BANKS is None:
        _init_generator()
    assert _BANKS is not None
    sensor, grain = _BANKS
    rng = np.random.default_rng([GENERATOR_VERSION, index])
    grid = rng.integers(
        0, 256, (int(rng.integers(3, 7)), int(rng.integers(4, 9)), 3), dtype=np.uint8
    )
    frame = Image.fromarray(grid).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(frame)
    for _ in range(int(rng.integers(25, 70))):
        x0, y0 = int(rng.integers(-200, WIDTH)), int(rng.integers(-200, HEIGHT))
        w, h = int(rng.integers(40, 1400)), int(rng.integers(40, 1000))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 4))
        if kind == 0:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        elif kind == 1:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        elif kind == 2:
            points = [
                (x0 + int(rng.integers(-w, w)), y0 + int(rng.integers(-h, h)))
                for _ in range(int(rng.integers(3, 8)))
            ]
            draw.polygon(points, fill=colour)
        else:
            draw.line((x0, y0, x0 + w, y0 + h), fill=colour, width=int(rng.integers(2, 30)))
    pixels = np.asarray(frame).astype(np.int16)
    dy, dx = (int(v) for v in rng.integers(0, PAD, 2))
    texture = int(rng.integers(10, 25))  # grain strength in 1/128ths: varies the file size
    pixels += (grain[dy : dy + HEIGHT, dx : dx + WIDTH].astype(np.int16) * texture >> 7)[:, :, None]
    dy, dx = (int(v) for v in rng.integers(0, PAD, 2))
    pixels += sensor[dy : dy + HEIGHT, dx : dx + WIDTH]
    np.clip(pixels, 0, 255, out=pixels)
    return pixels.astype(np.uint8)


def _generate_one(job: tuple[int, str]) -> int:
    index, target = job
    path = Path(target)
    pixels = render_photo(index)
    exif, taken = make_exif(index, np.random.default_rng([GENERATOR_VERSION, index, 1]))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    Image.fromarray(pixels).save(
        tmp, "JPEG", quality=JPEG_QUALITY, subsampling=1, exif=exif.tobytes()
    )  # 4:2:2 chroma, as most cameras write
    os.utime(tmp, (taken, taken))
    os.replace(tmp, path)
    return path.stat().st_size


def pool_dir(workdir: Path) -> Path:
    return workdir / f"photos-v{GENERATOR_VERSION}"


def ensure_corpus(workdir: Path, n: int, procs: int | None = None) -> Path:
    """Generate (or reuse) photos 0..n-1 and return a folder holding exactly those n.

    Photos are cached in ``WORKDIR/photos-vX``; the returned ``WORKDIR/set-N`` holds hard links
    to the first n, so runs with different N share the generated files (and their page cache).
    """
    pool = pool_dir(workdir)
    missing = [i for i in range(n) if not (pool / photo_relpath(i)).is_file()]
    if missing:
        procs = procs or os.cpu_count() or 1
        log(
            f"generating {len(missing)} camera JPEGs ({n - len(missing)} cached) in {pool} "
            f"with {procs} processes ..."
        )
        started = time.perf_counter()
        done, total_bytes, step = 0, 0, max(1, len(missing) // 20)
        jobs = [(i, str(pool / photo_relpath(i))) for i in missing]
        with multiprocessing.get_context("fork").Pool(procs, _init_generator) as workers:
            for size in workers.imap_unordered(_generate_one, jobs):
                done += 1
                total_bytes += size
                if done % step == 0 or done == len(missing):
                    rate = done / (time.perf_counter() - started)
                    log(
                        f"  {done}/{len(missing)}  {total_bytes / done / 1e6:.2f} MB average  "
                        f"{rate:.1f} photos/s"
                    )
    subset = workdir / f"set-{n}"
    wanted = {photo_relpath(i) for i in range(n)}
    if subset.exists():
        present = {p.relative_to(subset) for p in subset.rglob("*") if p.is_file()}
        if present != wanted:
            shutil.rmtree(subset)
    if not subset.exists():
        staging = workdir / f".set-{n}.tmp"
        if staging.exists():
            shutil.rmtree(staging)
        for rel in sorted(wanted):
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            os.link(pool / rel, staging / rel)
        staging.rename(subset)
    return subset


def list_files(root: Path) -> list[Path]:
    """Regular files under ``root``, relative to it, sorted."""
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


# -- page cache ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Warm:
    files: int
    bytes: int
    seconds: float

    def describe(self) -> str:
        return (
            f"page cache warmed: read {self.files} files ({self.bytes / 1e6:.0f} MB) once "
            f"in {self.seconds:.2f} s (caches are never dropped)"
        )


def warm_cache(paths: Sequence[Path]) -> Warm:
    """Read every file once so that the timed run after it reads from the page cache."""
    started = time.perf_counter()
    buffer = bytearray(8 << 20)
    view = memoryview(buffer)
    total = 0
    for path in paths:
        with open(path, "rb", buffering=0) as fh:
            while n := fh.readinto(view):
                total += n
    return Warm(len(paths), total, time.perf_counter() - started)


def sync() -> float:
    """Flush dirty pages (not timed as part of any run) so one run's writeback cannot slow the
    next one. Returns how long it took."""
    started = time.perf_counter()
    os.sync()
    return time.perf_counter() - started


# -- process-tree memory -------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _tree(root: int) -> Iterator[int]:
    children = _children_map()
    stack = [root]
    while stack:
        pid = stack.pop()
        yield pid
        stack.extend(children.get(pid, ()))


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; PSS splits pages shared after fork fairly."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith(b"Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        return 0, 0
    return rss, pss


@dataclass(slots=True)
class TreeMemory:
    """Samples a process tree every ``interval`` seconds; keeps the peaks."""

    root: int
    interval: float = 0.2
    peak_rss_sum_kb: int = 0
    peak_pss_sum_kb: int = 0
    peak_single_rss_kb: int = 0
    peak_processes: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeMemory:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss_sum = pss_sum = count = 0
            for pid in _tree(self.root):
                rss, pss = _memory_kb(pid)
                rss_sum += rss
                pss_sum += pss
                count += 1
                self.peak_single_rss_kb = max(self.peak_single_rss_kb, rss)
            self.peak_rss_sum_kb = max(self.peak_rss_sum_kb, rss_sum)
            self.peak_pss_sum_kb = max(self.peak_pss_sum_kb, pss_sum)
            self.peak_processes = max(self.peak_processes, count)
            self.samples += 1
            self._stop.wait(self.interval)


# -- interference from other processes -----------------------------------------------------


def _machine_busy_s() -> float:
    """CPU seconds all processes have spent busy since boot (from /proc/stat)."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    """CPU seconds used by this process and its waited-for children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


@dataclass(slots=True)
class CpuWatch:
    """How much CPU *other* processes took while a timed run went on, as a share of the whole
    machine: 0.0 means the run had the machine to itself; 0.5 means half the CPUs were busy
    with someone else's work, and the timing is not to be trusted."""

    busy: float = 0.0
    own: float = 0.0
    started: float = 0.0

    def start(self) -> CpuWatch:
        self.busy, self.own, self.started = _machine_busy_s(), _own_cpu_s(), time.perf_counter()
        return self

    def other_share(self) -> float:
        wall = time.perf_counter() - self.started
        other = (_machine_busy_s() - self.busy) - (_own_cpu_s() - self.own)
        cpus = os.cpu_count() or 1
        return round(max(0.0, other) / max(wall, 1e-9) / cpus, 3)


# -- running commands ----------------------------------------------------------------------


BENCH_PASSWORD = "throwaway benchmark vault password"
"""The benchmarks' vaults are throwaway: their first account's password, given to ``dalil``
through ``$DALIL_PASSWORD`` when the caller has not set one (``dalil init`` asks otherwise)."""


def dalil_executable() -> str:
    """The ``dalil`` next to this interpreter (the project's venv), else the one on PATH; the
    benchmark vaults' password is set for it (:data:`BENCH_PASSWORD`)."""
    os.environ.setdefault("DALIL_PASSWORD", BENCH_PASSWORD)
    beside = Path(sys.executable).parent / "dalil"
    if beside.exists():
        return str(beside)
    found = shutil.which("dalil")
    if found is None:
        sys.exit("cannot find the dalil command: run with the project's .venv/bin/python")
    return found


@dataclass(slots=True)
class Measured:
    """One command run under measurement."""

    argv: list[str]
    returncode: int
    wall_s: float
    stdout: str
    stderr: str
    max_rss_single_kb: int  # largest single process of the tree (getrusage of the children)
    max_rss_source: str
    tree: TreeMemory
    other_cpu_share: float

    def json_out(self) -> dict[str, Any]:
        try:
            parsed = json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            raise SystemExit(
                f"{' '.join(self.argv)} exited {self.returncode} without JSON output "
                f"({exc});\nstdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-4000:]}"
            ) from None
        if not isinstance(parsed, dict):
            raise SystemExit(f"unexpected JSON from {self.argv}: {parsed!r}")
        return parsed

    def memory(self) -> dict[str, Any]:
        return {
            "peak_rss_largest_process_mb": round(self.max_rss_single_kb / 1024, 1),
            "peak_rss_largest_process_source": self.max_rss_source,
            "peak_rss_tree_sum_mb": round(self.tree.peak_rss_sum_kb / 1024, 1),
            "peak_pss_tree_sum_mb": round(self.tree.peak_pss_sum_kb / 1024, 1),
            "peak_processes": self.tree.peak_processes,
            "memory_samples": self.tree.samples,
            "other_cpu_share": self.other_cpu_share,
        }


_RUSAGE_WRAPPER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(rc)\n"
)


def measure(argv: list[str], cwd: Path | None = None) -> Measured:
    """Run ``argv``, timing its wall clock and sampling its process tree's memory.

    The largest single process's peak RSS comes from ``/usr/bin/time`` (GNU time, ``%M``) when
    installed, else from ``getrusage(RUSAGE_CHILDREN)`` in a fresh wrapper process (this
    script's own earlier children would otherwise count).
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss", delete=False) as note:
        note_path = note.name
    gnu_time = Path("/usr/bin/time")
    if gnu_time.exists():
        wrapped = [str(gnu_time), "-f", "%M", "-o", note_path, *argv]
        source = "/usr/bin/time %M"
    else:
        wrapped = [sys.executable, "-c", _RUSAGE_WRAPPER, note_path, *argv]
        source = "getrusage(RUSAGE_CHILDREN)"
    watch = CpuWatch().start()
    started = time.perf_counter()
    proc = subprocess.Popen(
        wrapped, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    tree = TreeMemory(proc.pid).start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    other = watch.other_share()
    tree.stop()
    try:
        text = Path(note_path).read_text().strip().splitlines()
        max_rss = int(text[-1]) if text and text[-1].isdigit() else 0
    finally:
        os.unlink(note_path)
    return Measured(argv, proc.returncode, wall, stdout, stderr, max_rss, source, tree, other)


@dataclass(frozen=True, slots=True)
class Pass:
    name: str
    command: str
    seconds: float
    other_cpu_share: float


def xargs_pass(
    name: str, files: Sequence[Path], cwd: Path, jobs: int, per_call: int, command: list[str]
) -> Pass:
    """Time ``xargs -0 -P jobs -n per_call COMMAND`` over ``files`` (paths relative to cwd)."""
    argv = ["xargs", "-0", "-P", str(jobs), "-n", str(per_call), *command]
    data = b"".join(os.fsencode(f) + b"\0" for f in files)
    watch = CpuWatch().start()
    started = time.perf_counter()
    done = subprocess.run(
        argv, cwd=cwd, input=data, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    seconds = time.perf_counter() - started
    other = watch.other_share()
    if done.returncode != 0:
        raise SystemExit(
            f"baseline pass {name!r} failed ({done.returncode}): "
            f"{done.stderr.decode(errors='replace')[-2000:]}"
        )
    return Pass(name, " ".join(argv), seconds, other)


def batch_size(n_files: int, jobs: int, cap: int = 64) -> int:
    """Files per native-tool invocation: few process starts, yet ~8 batches per job so the
    last batches still keep every job busy."""
    return max(1, min(cap, math.ceil(n_files / (jobs * 8))))


# -- reporting -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    uname = os.uname()
    return {
        "host": uname.nodename,
        "kernel": uname.release,
        "cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "python": sys.version.split()[0],
        "max_rss_self_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def write_results(kind: str, results: dict[str, Any]) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = OUT_DIR / f"{kind}-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def publish(kind: str, results: dict[str, Any], as_json: bool) -> None:
    """Write ``results`` (with their ``report`` text) to ``bench/out`` and print them: as JSON
    with ``as_json``, else the report and where the results went."""
    path = write_results(kind, results)
    if as_json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print(results["report"] + f"\n  results: {path}", flush=True)


NOISY_SHARE = 0.1


def noise_warning(shares: dict[str, float]) -> str | None:
    """A warning when other processes took a noticeable share of the CPUs during a timed run."""
    noisy = {k: v for k, v in shares.items() if v > NOISY_SHARE}
    if not noisy:
        return None
    listed = ", ".join(f"{k} {v:.0%}" for k, v in noisy.items())
    return (
        f"other processes took a share of the machine's CPUs during the reported runs "
        f"({listed}); the figures are noisy: rerun on a quiet machine, or with a larger "
        "--repeat (the best of each is reported)"
    )


def table(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def remove(path: Path) -> None:
    """Delete a tree, including read-only objects a vault stores."""
    if not path.exists():
        return
    for p in path.rglob("*"):
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    shutil.rmtree(path)
