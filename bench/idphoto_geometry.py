"""Benchmark: do the local engine's ID photos meet their spec's official geometry?

For a set of specs covering every placement rule (providers/data/idphoto_rules.yaml), official
ones and fallbacks, and several inputs, it makes each ID photo with the local engine and measures
the result with an independent landmark model (dlib's 68-point predictor; method in
tests/idphoto_measure.py): head height, eye line, top margin, chin to bottom and face width, each
against the rule's bands, and the roll of the eye line (target: within 1 degree). It also measures
clean edges: the share of the top half that is neither background nor person (target: < 0.5 %).

Inputs: scikit-image's astronaut as shipped (512x512); the same small inside a large frame
(3000x2250, the face about 5 % of the width) and off-centre in a wider canvas; the astronaut turned
5 and 12 degrees; and Obama's official portrait from the face_recognition source package (in front
of flags: a busy background).

    python bench/idphoto_geometry.py            # Markdown for docs/benchmarks.md

Not a test: it asserts nothing, it prints. Exits 1 if any result is out of band.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from providers.localengine.pipeline import render_id_photo
from providers.placement import assess, band_value
from providers.specs import Spec, load_catalog
from tests.idphoto_measure import measure, stray_share
from tests.sample_photos import photo

#: Every rule family, with the explicit fallbacks and the Chinese default on several sizes.
SPECS = (
    3110,
    3102,
    3116,
    3120,
    3301,
    3105,
    3108,
    3115,
    3109,
    3103,
    3202,
    2102,
    2203,
    2301,
    1101,
    1102,
    1105,
    4301,
    5201,
)
MAX_ROLL = 1.0
MAX_STRAY = 0.005
BACKGROUND = "FFFFFF"


def _jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=93)
    return out.getvalue()


def _astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


def _framed() -> bytes:
    frame = Image.new("RGB", (3000, 2250), "#6b5a48")
    frame.paste(_astronaut().resize((768, 768), Image.Resampling.LANCZOS), (1900, 700))
    return _jpeg(frame)


def _off_centre() -> bytes:
    canvas = Image.new("RGB", (1800, 1300), "#a0a8b0")
    canvas.paste(_astronaut().resize((1024, 1024), Image.Resampling.LANCZOS), (40, 276))
    return _jpeg(canvas)


def _turned(degrees: float) -> Callable[[], bytes]:
    return lambda: _jpeg(
        _astronaut()
        .resize((1024, 1024), Image.Resampling.LANCZOS)
        .rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=(120, 120, 120))
    )


INPUTS: dict[str, Callable[[], bytes]] = {
    "astronaut 512": lambda: _jpeg(_astronaut()),
    "small in 3000x2250": _framed,
    "off-centre": _off_centre,
    "turned 5°": _turned(5),
    "turned 12°": _turned(12),
    "obama.jpg": lambda: photo("obama.jpg"),
}


def _band_text(spec: Spec, name: str, value: float) -> str:
    band = spec.rule.bands[name]
    upper = "" if band.max >= 1 else f"–{band.max * 100:.1f}"
    mark = "" if band.holds(value) else " ✗"
    return f"{value * 100:.1f} ({band.min * 100:.1f}{upper}){mark}"


def main() -> int:
    catalog = load_catalog()
    inputs = {name: make() for name, make in INPUTS.items()}
    rows, summary, failures, seconds = [], [], 0, []
    for spec_id in SPECS:
        spec = catalog.get(spec_id)
        assert spec is not None
        passed = 0
        for name, image in inputs.items():
            start = time.perf_counter()
            result = render_id_photo(image, size=spec.px, dpi=spec.dpi, bg_color=BACKGROUND, rule=spec.rule.rule_id)
            seconds.append(time.perf_counter() - start)
            measured = measure(result.data, BACKGROUND)
            stray = stray_share(result.data, BACKGROUND)
            verdict = assess(spec.rule, measured.shares)
            ok = all(verdict.values()) and abs(measured.roll) <= MAX_ROLL and stray < MAX_STRAY
            passed += ok
            failures += not ok
            bands = {n: _band_text(spec, n, band_value(n, b, measured.shares)) for n, b in spec.rule.bands.items()}
            rows.append(
                f"| {spec_id} | {spec.rule.rule_id} | {name} | {bands.get('head', '–')} | "
                f"{bands.get('eyes', '–')} | {bands.get('top', '–')} | {bands.get('width', '–')} | "
                f"{measured.roll:+.2f}° | {stray * 100:.2f} % | {'✓' if ok else '✗'} |"
            )
        kind = "fallback" if spec.fallback or not spec.rule.official else "official"
        summary.append(
            f"| {spec_id} {spec.title} | {spec.px[0]}x{spec.px[1]} | {spec.rule.rule_id} ({kind}) | "
            f"{passed}/{len(inputs)} |"
        )
    total = len(SPECS) * len(inputs)
    print(
        f"{total - failures} of {total} photos in every band of their rule, roll within {MAX_ROLL}°, "
        f"stray pixels under {MAX_STRAY * 100:.1f} %; median {sorted(seconds)[len(seconds) // 2]:.2f} s a photo.\n"
    )
    print("| spec | pixels | rule | in band |")
    print("|---|---|---|---|")
    print("\n".join(summary))
    print(
        "\nPer photo, as % of the height (width: of the width), band in brackets; roll of the eye line; "
        "stray = non-background pixels outside the person in the top half.\n"
    )
    print("| spec | rule | input | head | eyes from bottom | top margin | face width | roll | stray | ok |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
