"""Cards: what the widget shows for one object, made in the kernel from local files or S3."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from gtwidgets import cards, storage
from gtwidgets.cards import ImageDataError, thumbnail


class _Job:
    """The three job methods a card needs, over a dict of manifest lines."""

    def __init__(self, lines: dict[str, dict], answers: dict[str, list[str]] | None = None):
        self.lines = lines
        self.answers = answers or {}

    def source(self, object_id):
        line = self.lines[object_id]
        return ("source-ref", line["source-ref"]) if "source-ref" in line else ("source", line["source"])

    def answer(self, object_id):
        return self.answers.get(object_id)

    def existing_label(self, object_id):
        name = self.lines[object_id].get("prior-metadata", {}).get("class-name")
        return [name] if name else None


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **kw)
    return out.getvalue()


def _decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def _left_red_right_blue(w: int, h: int) -> Image.Image:
    im = Image.new("RGB", (w, h), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, w // 2, h))
    return im


def test_large_jpeg_is_shrunk_to_fit_and_keeps_its_aspect():
    data = _encode(_left_red_right_blue(1024, 768), "JPEG", quality=90)
    out, mime, size = thumbnail(data, max_size=(400, 400))
    assert mime == "image/jpeg"
    assert size == (400, 300)
    assert _decode(out).size == (400, 300)
    assert len(out) < len(data)


def test_small_plain_jpeg_passes_through_unchanged():
    data = _encode(_left_red_right_blue(200, 100), "JPEG")
    out, mime, size = thumbnail(data, max_size=(768, 576))
    assert (out, mime, size) == (data, "image/jpeg", (200, 100))


def test_exif_orientation_is_applied():
    # Stored landscape (red left); orientation 6 = "rotate 90 clockwise to view": portrait, red on top.
    im = _left_red_right_blue(400, 200)
    exif = Image.Exif()
    exif[0x0112] = 6
    out, _, size = thumbnail(_encode(im, "JPEG", exif=exif), max_size=(768, 576))
    assert size == (200, 400)
    shown = _decode(out).convert("RGB")
    top, bottom = shown.getpixel((100, 20)), shown.getpixel((100, 380))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_transparent_png_keeps_alpha_and_opaque_png_becomes_jpeg():
    see_through = Image.new("RGBA", (300, 200), (255, 0, 0, 0))
    see_through.paste((0, 255, 0, 255), (0, 0, 150, 200))
    out, mime, _ = thumbnail(_encode(see_through, "PNG"), max_size=(150, 150))
    assert mime == "image/webp"
    shown = _decode(out)
    assert shown.mode == "RGBA" and shown.getpixel((140, 50))[3] < 10 and shown.getpixel((10, 50))[3] > 245

    opaque = Image.new("RGBA", (300, 200), (0, 0, 255, 255))
    _, mime, _ = thumbnail(_encode(opaque, "PNG"), max_size=(150, 150))
    assert mime == "image/jpeg"


@pytest.mark.parametrize("mode", ["CMYK", "L", "P", "1", "LA"])
def test_other_modes_become_displayable(mode):
    im = _left_red_right_blue(64, 48).convert(mode)
    fmt = "JPEG" if mode in ("CMYK", "L") else "PNG"
    out, mime, size = thumbnail(_encode(im, fmt), max_size=(32, 32))
    assert size == (32, 24)
    assert _decode(out).mode in ("RGB", "L", "RGBA")


@pytest.mark.parametrize("mode,fmt,orientation", [
    ("RGB", "JPEG", 1), ("RGB", "JPEG", 6), ("RGB", "JPEG", 3), ("L", "JPEG", 8), ("CMYK", "JPEG", 1),
    ("P", "PNG", 1), ("RGBA", "PNG", 1), ("LA", "PNG", 1), ("I;16", "PNG", 1), ("RGB", "PNG", 5)])
def test_the_card_gives_the_original_size_image_geometry_reads(mode, fmt, orientation):
    """A tool's original size comes with the card's bytes (one read): the same as image_size's."""
    from gtwidgets.image_geometry import image_size

    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    Image.new(mode, (900, 400)).save(out, fmt, exif=exif)
    for max_size in ((900, 900), (100, 100)):  # passed through, and shrunk
        assert cards.sized_thumbnail(out.getvalue(), max_size=max_size)[3] == image_size(out.getvalue())


def test_16_bit_grayscale_is_stretched_to_its_range():
    # A 12-bit sensor image: values 0..4095 in a 16-bit PNG would show nearly black unscaled.
    im = Image.new("I;16", (100, 10))
    im.putdata([(x * 4095) // 99 for _ in range(10) for x in range(100)])
    out, mime, size = thumbnail(_encode(im, "PNG"), max_size=(100, 100))
    shown = _decode(out).convert("L")
    assert mime == "image/jpeg" and size == (100, 10)
    assert shown.getpixel((0, 5)) < 10 and shown.getpixel((99, 5)) > 245


def test_broken_bytes_raise_a_clear_error():
    with pytest.raises(ImageDataError, match="cannot decode the image"):
        thumbnail(b"this is not an image")
    truncated = _encode(_left_red_right_blue(1024, 768), "PNG")[:2000]
    with pytest.raises(ImageDataError):
        thumbnail(truncated, max_size=(100, 100))


def test_image_card_from_s3_carries_bytes_name_and_labels(s3):
    uri = storage.join(s3, "images", "cat 01.jpg")
    storage.write_bytes(uri, _encode(_left_red_right_blue(1024, 768), "JPEG"))
    job = _Job({"7": {"source-ref": uri, "prior-metadata": {"class-name": "cat"}}}, answers={"7": ["dog"]})
    c = cards.card(job, "7", max_size=(256, 256))
    assert c.kind == "image"
    assert c.meta["name"] == "cat 01.jpg" and c.meta["source"] == uri
    assert c.meta["label"] == ["cat"] and c.meta["answer"] == ["dog"]
    assert (c.meta["width"], c.meta["height"]) == (256, 192) and c.meta["bytes"] == len(c.data)
    assert _decode(c.data).size == (256, 192)


def test_missing_and_broken_images_give_error_cards(tmp_path, s3):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    job = _Job({"a": {"source-ref": str(tmp_path / "gone.jpg")},
                "b": {"source-ref": str(broken)},
                "c": {"source-ref": storage.join(s3, "nope.png")}})
    for object_id, words in [("a", "not found"), ("b", "cannot decode"), ("c", "not found")]:
        c = cards.card(job, object_id)
        assert c.kind == "error" and c.data == b""
        assert words in c.meta["error"] and c.meta["id"] == object_id
        assert "skip it" in c.meta["error"]


def test_text_card_keeps_markup_as_plain_text():
    hostile = '<img src=x onerror="alert(1)"></script>'
    c = cards.card(_Job({"1": {"source": hostile}}), "1")
    assert c.kind == "text" and c.data == b""
    assert c.meta["text"] == hostile and c.meta["truncated"] is False


def test_long_text_is_cut_not_refused():
    c = cards.card(_Job({"1": {"source": "x" * (cards.MAX_TEXT_CHARS + 5)}}), "1")
    assert len(c.meta["text"]) == cards.MAX_TEXT_CHARS and c.meta["truncated"] is True



def test_a_failing_label_lookup_still_shows_the_card_and_logs_why(caplog):
    class BrokenLabels(_Job):
        def existing_label(self, object_id):
            raise KeyError("prior-metadata")

    with caplog.at_level("WARNING", logger="gtwidgets.cards"):
        c = cards.card(BrokenLabels({"1": {"source": "hello"}}, answers={"1": ["cat"]}), "1")
    assert c.kind == "text" and c.meta["label"] is None and c.meta["answer"] == ["cat"]
    [record] = caplog.records
    assert record.getMessage() == "card 1: existing_label failed; shown without it"
    assert record.exc_info[0] is KeyError  # the traceback is kept for whoever fixes it

# ---------------------------------------------------------------------------- hostile sources

# A card for each source-ref given, made in a child process with its address space capped, so a
# source read without limit fails there (MemoryError) instead of taking this machine's memory.
_CARDS_IN_A_CHILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
from PIL import Image
from gtwidgets import cards
Image.init()  # Pillow's plugins imported now, so their files do not count as read below

class Job:
    def source(self, object_id): return ("source-ref", object_id)
    def answer(self, object_id): return None
    def existing_label(self, object_id): return None

def rchar():
    return int(dict(l.split(":") for l in open("/proc/self/io").read().splitlines())["rchar"])

out = []
for uri in sys.argv[1:]:
    before = rchar()
    c = cards.card(Job(), uri)
    out.append({"kind": c.kind, "error": c.meta.get("error"), "read": rchar() - before})
print(json.dumps(out))
"""


def _cards_in_a_child(*uris: str) -> list[dict]:
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(cards.__file__).parents[1])}
    # The timeout only ends a child that hangs (a FIFO read on the old code); cards take well under 1 s.
    done = subprocess.run([sys.executable, "-c", _CARDS_IN_A_CHILD, *uris], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_fifo_or_a_device_as_source_gives_an_error_card_without_reading_it(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    on_fifo, on_zero = _cards_in_a_child(str(fifo), "/dev/zero")
    assert on_fifo["kind"] == "error" and "FIFO" in on_fifo["error"] and "not a regular file" in on_fifo["error"]
    assert on_zero["kind"] == "error" and "character device" in on_zero["error"]
    assert on_fifo["read"] < 1000 and on_zero["read"] < 1000  # reading /proc/self/io itself counts too


def test_a_file_that_is_no_image_is_refused_after_reading_only_its_start(tmp_path):
    secret = tmp_path / "etc" / "shadow"
    secret.parent.mkdir()
    secret.write_bytes(b"root:$6$not-an-image:19000:0:99999:7:::\n" * 250_000)  # 10 MB
    (tmp_path / "images").mkdir()
    [c] = _cards_in_a_child(str(tmp_path / "images" / ".." / "etc" / "shadow"))
    assert c["kind"] == "error" and "not a known image format" in c["error"]
    assert c["read"] < 100_000  # Pillow's IM reader alone used to read all 10 MB, looking for a header


def test_an_image_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, s3, monkeypatch):
    monkeypatch.setattr(cards, "MAX_IMAGE_BYTES", 1000)
    big = _encode(Image.effect_noise((200, 200), 64).convert("RGB"), "PNG")
    local = tmp_path / "big.png"
    local.write_bytes(big)
    remote = storage.join(s3, "big.png")
    storage.write_bytes(remote, big)
    for uri in (str(local), remote):
        c = cards.card(_Job({"1": {"source-ref": uri}}), "1")
        assert c.kind == "error", uri
        assert "over the limit of" in c.meta["error"] and "gtwidgets.cards.MAX_IMAGE_BYTES" in c.meta["error"]
    monkeypatch.setattr(cards, "MAX_IMAGE_BYTES", len(big))
    assert cards.card(_Job({"1": {"source-ref": str(local)}}), "1").kind == "image"


def test_an_image_over_the_pixel_limit_says_which_limit(monkeypatch):
    monkeypatch.setattr(cards, "MAX_IMAGE_PIXELS", 100 * 100)
    with pytest.raises(ImageDataError, match=r"101 x 100 pixels.*gtwidgets\.cards\.MAX_IMAGE_PIXELS"):
        thumbnail(_encode(Image.new("RGB", (101, 100)), "PNG"))


# Four cards of huge images made at once in threads, as the widget makes them; prints how much the
# child's peak resident memory (VmHWM) grew. The images are given as source-refs.
_PEAK_OF_FOUR_AT_ONCE = r"""
import sys, threading
from gtwidgets import cards

class Job:
    def source(self, object_id): return ("source-ref", object_id)
    def answer(self, object_id): return None
    def existing_label(self, object_id): return None

def peak():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) * 1024

cards.card(Job(), sys.argv[1].replace("big", "small"))  # codecs loaded before measuring
start = threading.Barrier(len(sys.argv) - 1)
kinds = []
def make(uri):
    start.wait()
    kinds.append(cards.card(Job(), uri).kind)
before = peak()
threads = [threading.Thread(target=make, args=(uri,)) for uri in sys.argv[1:]]
for t in threads: t.start()
for t in threads: t.join()
print(",".join(sorted(kinds)), peak() - before)
"""


def test_four_huge_images_decoded_at_once_stay_within_a_few_hundred_mb(tmp_path):
    import subprocess
    import sys

    # 42 megapixels each: Pillow holds RGB at 4 bytes a pixel, 168 MB an image decoded.
    huge = Image.linear_gradient("L").resize((7000, 6000)).convert("RGB")
    huge.save(tmp_path / "big0.png", compress_level=1)
    for i in (1, 2):
        (tmp_path / f"big{i}.png").write_bytes((tmp_path / "big0.png").read_bytes())
    huge.save(tmp_path / "big3.jpg", quality=80)
    huge.save(tmp_path / "big3.tif", compression="tiff_adobe_deflate")  # no draft for TIFF either
    del huge
    Image.new("RGB", (900, 700)).save(tmp_path / "small0.png")
    uris = [str(tmp_path / n) for n in ("big0.png", "big1.png", "big2.png", "big3.jpg", "big3.tif")]
    env = {**os.environ, "PYTHONPATH": str(Path(cards.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", _PEAK_OF_FOUR_AT_ONCE, *uris], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    kinds, growth = done.stdout.split()
    assert kinds == ",".join(["image"] * 5)
    assert int(growth) < 400 * 2**20, f"peak memory grew {int(growth) / 2**20:.0f} MB"
