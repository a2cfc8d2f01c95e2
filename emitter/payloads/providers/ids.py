"""VOD ids, URLs and times: fileIds, task ids, the per-file folders (docs and wire shapes)."""

from __future__ import annotations

import _random
import datetime as dt
import functools
import hashlib
import random
import re
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from emitter.clock import utc_stamp
from emitter.payloads.providers.words import words

_HEX = "0123456789abcdef"

# CPython's own md5 and sha256: on a short text half (md5) and three quarters (sha256) of the
# time of OpenSSL's, which sets up an EVP context per hash; the same digests.
try:
    from _md5 import md5 as _md5  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # a Python built without it
    _md5 = hashlib.md5
try:
    from _sha256 import sha256 as sha256  # type: ignore[import-not-found,unused-ignore]  # Python 3.10, 3.11
except ImportError:
    try:
        from _sha2 import sha256 as sha256  # type: ignore[import-not-found,no-redef,unused-ignore]  # 3.12+
    except ImportError:  # a Python built without them
        sha256 = hashlib.sha256


def _md5_prefix(text: str) -> str:
    """The 8 hex digits VOD prefixes bucket and folder names with (not cached: the folders are, and
    an app or file is new in nearly every run, so a cache here would mostly cost its misses)."""
    digest: str = _md5(text.encode()).hexdigest()
    return digest[:8]


@functools.lru_cache(maxsize=1024)
def _file_dir(app: str, file_id: str) -> str:
    """VOD keeps all of a file's outputs under one bucket/folder pair derived from app and file."""
    return f"http://{app}.vod2.myqcloud.com/{_md5_prefix(app)}vodcq{app}/{_md5_prefix(file_id)}{file_id}"


@functools.lru_cache(maxsize=1024)
def _trans_dir(app: str, file_id: str, region: str) -> str:
    """Where production keeps a file's derived outputs: `<8 hex>vodtrans<region><appid>/<8 hex><fileId>`."""
    bucket = _md5_prefix(f"{app}:vodtrans")
    return f"http://{app}.vod2.myqcloud.com/{bucket}vodtrans{region}{app}/{_md5_prefix(file_id)}{file_id}"


def derived_hex(text: str, length: int = 32) -> str:
    """Lower-case hex that follows from `text` (wire-only values must not draw: docs keep their bytes)."""
    digest: str = sha256(text.encode("utf-8")).hexdigest()
    return digest[:length]


@functools.lru_cache(maxsize=1024)
def source_name(file_id: str) -> str:
    """The random 12-letter name production gives an uploaded source file (CFJFijgLOlIA), derived."""
    # the number of derived_hex(f"source:{file_id}", 24): the digest's first 12 bytes
    number = int.from_bytes(sha256(f"source:{file_id}".encode()).digest()[:12], "big")
    # its 12 lowest base-52 digits, lowest first, two at a time: split in halves of six first,
    # since numbers of a machine word or two divide faster than the digest's 96 bits
    high, low = divmod(number % _NAME_BASE, _HALF_NAME_BASE)
    low, first = divmod(low, _PAIR_BASE)
    third, second = divmod(low, _PAIR_BASE)
    high, fourth = divmod(high, _PAIR_BASE)
    sixth, fifth = divmod(high, _PAIR_BASE)
    pairs = _LETTER_PAIRS
    return pairs[first] + pairs[second] + pairs[third] + pairs[fourth] + pairs[fifth] + pairs[sixth]


def below(getrandbits: Callable[[int], int], n: int) -> int:
    """What `random.Random._randbelow(n)` draws (n >= 1): getrandbits(n.bit_length()) until below n.

    `seq[below(bits, len(seq))]` is random.Random's `choice(seq)`, `low + below(bits, high - low)`
    its `randrange(low, high)`: the same draws without two Python calls and their checks.
    """
    width = n.bit_length()
    number = getrandbits(width)
    while number >= n:
        number = getrandbits(width)
    return number


def hex_digits(getrandbits: Callable[[int], int], length: int) -> str:
    """`length` lower-case hex digits of one getrandbits(4 * length) draw."""
    return "%0*x" % (length, getrandbits(4 * length))  # noqa: UP031 (format(bits, f"0{length}x"), 2.5x faster)


# a transcoded rendition's name (f100020.mp4), which production prefixes with "v."
_RENDITION = re.compile(r"f\d+\.")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PAIR_BASE = len(_LETTERS) ** 2
_LETTER_PAIRS = tuple(_LETTERS[k % len(_LETTERS)] + _LETTERS[k // len(_LETTERS)] for k in range(_PAIR_BASE))
_HALF_NAME_BASE = _PAIR_BASE**3  # six letters
_NAME_BASE = _HALF_NAME_BASE**2  # twelve
# storage region of the docs' and captures' buckets (vodcq: ap-chongqing)
_REGION = "cq"


_P = TypeVar("_P", bound="IdsProvider")
# the flow names of a legacy task-flow vodTaskId (1256768367-mango-<32 hex>)
_LEGACY_FLOWS = ("mango", "pear", "kiwi")


# A file's URLs in each profile, by app and file (the provider's methods pick the profile's).
def docs_media_url(app: str, file_id: str, name: str) -> str:
    """A file's media as the docs place it: the source (`f0.<ext>`) and its outputs side by side."""
    return f"{_file_dir(app, file_id)}/{name}"


def wire_media_url(app: str, file_id: str, name: str) -> str:
    """A file's media as production places it: the source under its random name, outputs in vodtrans."""
    if name.startswith("f0."):
        return f"{_file_dir(app, file_id)}/{source_name(file_id)}.{name[3:]}"
    return f"{_trans_dir(app, file_id, _REGION)}/{'v.' if _RENDITION.match(name) else ''}{name}"


def docs_image_url(app: str, file_id: str, kind: str, index: int, ext: str = "jpg") -> str:
    return f"{_file_dir(app, file_id)}/{kind}/{kind}_{index}.{ext}"


def wire_image_url(
    app: str, file_id: str, kind: str, index: int, ext: str = "jpg", definition: int = 10
) -> str:
    return f"{_trans_dir(app, file_id, _REGION)}/{kind}/{kind}_{definition}_{index}.{ext}"


# random.Random.seed of an int, in C: what the Python method does after its type checks
_seed_int = _random.Random.seed


class SeededRandom(random.Random):
    """random.Random with the same draws, its hot two without their argument checks.

    choice and randrange draw exactly as random.Random's do (one `_randbelow(n)`: getrandbits of
    n's bit length until below n); anything unusual (an empty sequence, a step, a non-int) goes
    to random.Random's own method.
    """

    def __init__(self, x: Any = None) -> None:
        # random.Random.__init__ seeds and then clears gauss_next, which seed() clears already
        if type(x) is int:
            _seed_int(self, x)
            self.gauss_next = None
        else:
            self.seed(x)

    def seed(self, a: Any = None, version: int = 2) -> None:
        if type(a) is int:
            _seed_int(self, a)
            self.gauss_next = None
            return
        super().seed(a, version)

    def choice(self, seq: Any) -> Any:
        n = len(seq)
        if not n:
            return super().choice(seq)
        return seq[below(self.getrandbits, n)]

    def randrange(self, start: Any, stop: Any = None, step: Any = 1) -> int:
        if stop is None or step != 1 or type(start) is not int or type(stop) is not int or stop <= start:
            return super().randrange(start, stop, step)
        return start + below(self.getrandbits, stop - start)


class Draws:
    """What a provider needs of faker's Generator: its `random`, seeded as `seed_instance(seed)` seeds it.

    faker itself is imported only for a `locale` option (its import scans every locale).
    """

    __slots__ = ("random",)

    def __init__(self, seed: Any = None) -> None:
        self.random = SeededRandom(seed)


class IdsProvider:
    """Ids and URLs drawn only from `self.generator.random`, so one seed replays a run exactly."""

    def __init__(self, generator: Any) -> None:
        self.generator = generator
        # the draw of nearly every value, bound once (generator.random is never replaced)
        self._bits: Callable[[int], int] = generator.random.getrandbits

    @classmethod
    def seeded(cls: type[_P], seed: Any, /, **kwargs: Any) -> _P:
        """A provider drawing from `random.Random(seed)`."""
        return cls(Draws(seed), **kwargs)

    # --- faker's BaseProvider draws the templates use, drawing exactly as faker draws ----------
    def random_int(self, min: int = 0, max: int = 9999, step: int = 1) -> int:
        rng: random.Random = self.generator.random
        return rng.randrange(min, max + 1, step)

    def random_element(self, elements: Sequence[Any] = ("a", "b", "c")) -> Any:
        rng: random.Random = self.generator.random
        if isinstance(elements, dict):
            # a provider's draws are unweighted (faker's __use_weighting__ is False): the keys, uniformly
            if not isinstance(elements, OrderedDict):
                raise ValueError("Use OrderedDict only to avoid dependency on PYTHONHASHSEED (See #363).")
            return rng.choice(tuple(elements))
        choices = elements if isinstance(elements, (tuple, list, str)) else tuple(elements)
        return rng.choice(choices)

    # the payload profile the values are shaped for (the render session sets it per step)
    profile = "docs"

    app_id_value = "1256768367"

    # --- primitives -------------------------------------------------------------------------
    def _hex(self, length: int) -> str:
        return hex_digits(self._bits, length)

    def md5(self, raw_output: bool = False) -> str:
        return "%032x" % self._bits(128)  # noqa: UP031 (hex_digits(bits, 32), without its call)

    def app_id(self) -> str:
        return str(1_250_000_000 + below(self._bits, 10_000_000))

    def file_id(self) -> str:
        """A 19-digit VOD fileId, as VOD has issued since 2018 (5285890784273533167)."""
        return str(5_280_000_000_000_000_000 + below(self._bits, 10_000_000_000_000_000))

    def task_id(self, prefix: str) -> str:
        """A vodTaskId in the shape the docs print for that kind of task."""
        bits = self._bits
        if prefix == "Procedure":
            return f"{self.app_id_value}-Procedure-{hex_digits(bits, 20)}t{below(bits, 10)}"
        if prefix == "procedure-legacy":
            return f"{self.app_id_value}-{_LEGACY_FLOWS[below(bits, 3)]}-{hex_digits(bits, 32)}"
        if prefix == "clipVideo":
            return f"clipVideo-{hex_digits(bits, 19)}"
        if prefix == "Pull":
            return f"Pull-{hex_digits(bits, 31)}"
        return f"{prefix}-{hex_digits(bits, 32)}"

    # --- urls -------------------------------------------------------------------------------
    def _file_dir(self, file_id: str) -> str:
        return _file_dir(self.app_id_value, file_id)

    def output_dir(self, file_id: str) -> str:
        """The folder of a file's derived outputs: beside the source (docs), or vodtrans (wire)."""
        if self.profile == "wire":
            return _trans_dir(self.app_id_value, file_id, _REGION)
        return _file_dir(self.app_id_value, file_id)

    def media_url(self, file_id: str, name: str) -> str:
        """A file's media: `f0.<ext>` is the source itself, other names are derived outputs."""
        if self.profile == "wire":
            return wire_media_url(self.app_id_value, file_id, name)
        return docs_media_url(self.app_id_value, file_id, name)

    def image_url(self, file_id: str, kind: str, index: int, ext: str = "jpg", definition: int = 10) -> str:
        if self.profile == "wire":
            return wire_image_url(self.app_id_value, file_id, kind, index, ext, definition)
        return docs_image_url(self.app_id_value, file_id, kind, index, ext)

    def image_urls(self, file_id: str, kind: str, count: int, ext: str = "jpg") -> list[str]:
        """`image_url` of the indexes 0 to count - 1. Each URL ends in `<index>.<ext>`, so the folder
        is looked up once, for the first, and the others are its prefix with their own index."""
        if count <= 0:
            return []
        first = self.image_url(file_id, kind, 0, ext)
        prefix = first[: -len(f"0.{ext}")]
        return [first, *[f"{prefix}{index}.{ext}" for index in range(1, count)]]

    def wire_task_id(self, task_id: str) -> str:
        """A task-flow TaskId as production prints it (`<appid>-procedurev2-<32 hex>tt0`), derived."""
        digest = derived_hex(f"procedure:{task_id}", 33)
        return f"{self.app_id_value}-procedurev2-{digest[:32]}{'tt0' if digest[32] < '8' else 't0'}"

    def source_url(self, name: str) -> str:
        site = self.generator.random.choice(words().source_sites)
        return f"{site}/uploads/{self._hex(6)}/{name}"

    def key_url(self) -> str:
        return f"https://{self.app_id_value}.vod-drm.myqcloud.com/getkey?k={self._hex(16)}"

    def stream_id(self) -> str:
        bits = self._bits
        return f"{1000 + below(bits, 98_999)}_{hex_digits(bits, 8)}"

    def edk(self) -> str:
        return self._hex(self.generator.random.choice((8, 16, 32)))

    # --- v3, PULL envelope and CDNetworks values ------------------------------------------
    # Draw-free helpers come first: v3 templates make exactly the v2 draws, in the v2 order,
    # so one seed gives both formats the same facts; v3-only values are derived, not drawn.
    def iso_before(self, moment: dt.datetime, seconds: float = 0) -> str:
        """ISO 8601 UTC time `seconds` before `moment`, as v3 prints times (no draw)."""
        earlier = moment - dt.timedelta(seconds=seconds)
        return utc_stamp(earlier)

    def iso_at(self, timestamp: int) -> str:
        """ISO 8601 UTC time of a Unix timestamp (no draw)."""
        return utc_stamp(dt.datetime.fromtimestamp(timestamp, dt.timezone.utc))

    def stable_hex(self, text: str, length: int = 32) -> str:
        """Upper-case hex derived from `text`, for IDs that must follow another value (no draw)."""
        digest: str = _md5(text.encode("utf-8")).hexdigest()
        return digest[:length].upper()

    def app_task_id(self, kind: str) -> str:
        """A v3 task ID prefixed with the app ID (1256768367-EditMedia-...)."""
        return f"{self.app_id_value}-{kind}-{self._hex(32)}"

    def wechat_vid(self) -> str:
        """A WeChat video ID as WeChat issues them (wxv_ and 19 digits)."""
        return f"wxv_{self.generator.random.randrange(10**18, 10**19)}"

    def event_handle(self) -> str:
        """An opaque reliable-callback EventHandle."""
        return self._hex(32)

    def request_id(self) -> str:
        """A Tencent Cloud API RequestId (a version-4 UUID)."""
        return str(uuid.UUID(int=self.generator.random.getrandbits(128), version=4))
