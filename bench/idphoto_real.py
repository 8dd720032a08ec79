"""Benchmark: the local engine on real portraits, with busy backgrounds, as people send them.

For every photo of ``bench/real_photos.py`` (real press, studio and phone portraits of many people,
fetched from public sources and cached, never committed) it does what the bot does with a photo:
the bot's reading of the file, the face check and the spec's verdict before any charge, then the
engine's ID photo, for each spec asked: by default 3110 (35x45 mm, ICAO) on blue and 3108 (the USA
visa, 51x51 mm) on white, whose square frame reaches past the sides of most portrait photos at the
shoulders. Per spec and photo it reports made, warned or refused (and why), and measures what the
engine delivered with models it does not cut out with (tests/idphoto_measure.py):

- leftovers of the old background (MediaPipe's selfie segmentation: non-background colour outside
  the person), and parts of the person lost to the new background;
- a halo at the hair's edge (a fringe in colours that are neither hair nor background nor a mix);
- the geometry bands of the spec's rule (dlib's 68 landmarks);
- the time of the check and of the photo.

A clean cut-out leaves under 0.1 % of the photo from the old background and a halo on under 5 %
of the hair's edge. Per spec two contact sheets (PNG) are written for a person to look at: every
photo beside what the engine made of it, and the same with leftovers marked red, lost parts green
and halo yellow.

    python -m bench.real_photos --clone owner/name=DIR ...   # fetch the photos once
    python bench/idphoto_real.py [--spec 3110:blue 3108:white] [--bg blue] [--out .bench]
    python bench/idphoto_real.py --photos held-out   # the photos the engine was never tuned on
    python bench/idphoto_real.py --photos fresh      # a third set, never looked at by the tuning

Not a test: it prints Markdown for docs/benchmarks.md and exits 0.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image, ImageDraw

from bench.real_photos import FRESH, HELD_OUT, PHOTOS, RealPhoto, path
from bot.ops.images import MAX_STORED_BYTES, MAX_STORED_SIDE, normalise
from bot.services.idphoto.fit import judge
from providers.localengine import checklist
from providers.localengine.faces import FaceCheckError, inspect_face
from providers.localengine.findings import CutOut, FaceFindings
from providers.localengine.pipeline import render_id_photo
from providers.placement import assess
from providers.specs import Spec, load_catalog
from tests.idphoto_measure import cutout, measure

#: Thresholds of a clean cut-out (issue 23): leftovers under 0.1 % of the photo, halo on under 5 %
#: of the hair's edge.
CLEAN_LEFTOVER = 0.001
CLEAN_HALO = 0.05
#: A part of the person lost to the new background, as a share of the photo.
LOST = 0.005
THUMB = 220


@dataclass
class Outcome:
    photo: RealPhoto
    #: "made", "warned" (made, with advice shown before paying) or "refused".
    verdict: str
    reason: str = ""
    leftover: float = 0.0
    missing: float = 0.0
    halo: float = 0.0
    cut_out: CutOut = field(default_factory=CutOut)
    bands_ok: bool = True
    bands: dict[str, bool] = field(default_factory=dict)
    seconds: float = 0.0
    #: A hand at the face, in the photo it was made of (pipeline.hands_of): ❌ on its checklist.
    hand_at_face: bool = False
    #: Refused as ending at the neck as the spec was picked (fit.judge), yet the engine makes it.
    refused_early_but_made: bool = False
    findings: FaceFindings | None = None
    original: Image.Image | None = None
    result: Image.Image | None = None
    marked: Image.Image | None = None

    @property
    def delivered(self) -> bool:
        return self.verdict in ("made", "warned")

    @property
    def clean_leftover(self) -> bool:
        return self.leftover < CLEAN_LEFTOVER

    @property
    def clean(self) -> bool:
        return self.clean_leftover and self.halo < CLEAN_HALO

    @property
    def doubtful(self) -> bool:
        return self.cut_out.doubtful


def _colour(name: str) -> str:
    return load_catalog().palette.get(name, name).lstrip("#").upper()


def _engine_makes(data: bytes, spec: Spec, bg: str) -> bool:
    try:
        render_id_photo(data, size=spec.px, dpi=spec.dpi, bg_color=bg, rule=spec.rule.rule_id)
    except FaceCheckError:
        return False
    return True


def run_one(photo: RealPhoto, spec: Spec, bg: str) -> Outcome:
    data = normalise(path(photo).read_bytes(), max_side=MAX_STORED_SIDE, max_bytes=MAX_STORED_BYTES).data
    original = Image.open(io.BytesIO(data)).convert("RGB")
    start = time.perf_counter()
    findings = inspect_face(data)
    problem = findings.problem or findings.id_problem
    if problem:
        return Outcome(photo, "refused", problem, findings=findings, original=original)
    verdict = judge(spec, findings, frames_from_the_photo=True)
    if verdict.refusal:
        reason = verdict.refusal.removeprefix("face.")
        # The spec's guess of what the engine refuses once made, checked against the engine.
        early = reason == "shoulders_cut_off" and _engine_makes(data, spec, bg)
        return Outcome(photo, "refused", reason, findings=findings, original=original, refused_early_but_made=early)
    try:
        made = render_id_photo(data, size=spec.px, dpi=spec.dpi, bg_color=bg, rule=spec.rule.rule_id)
    except FaceCheckError as err:
        return Outcome(photo, "refused", err.code, findings=findings, original=original)
    seconds = time.perf_counter() - start
    # What the preview's checklist fails for (pipeline.hands_of, measured as the photo was made).
    hand = made.hands.at_face
    quality = cutout(made.data, bg)
    bands = assess(spec.rule, measure(made.data, bg).shares)
    result = Image.open(io.BytesIO(made.data)).convert("RGB")
    marked = np.asarray(result).copy()
    leftover, missing, halo = quality.marks
    marked[halo] = (255, 230, 0)
    marked[missing] = (0, 220, 0)
    marked[leftover] = (255, 0, 0)
    # As with the bot's free preview: a doubtful cut-out is a warning on the checklist before paying.
    warnings = (
        [key.removeprefix("face.") for key in verdict.advice]
        + ([f"background_{checklist.background_check(made.cut_out).variant}"] if made.doubtful else [])
        + (["hand_at_face"] if hand else [])
    )
    advice = ", ".join(warnings)
    return Outcome(
        photo,
        "warned" if advice else "made",
        advice,
        leftover=quality.leftover,
        missing=quality.missing,
        halo=quality.halo,
        cut_out=made.cut_out,
        bands_ok=all(bands.values()),
        bands=bands,
        seconds=seconds,
        hand_at_face=hand,
        findings=findings,
        original=original,
        result=result,
        marked=Image.fromarray(marked),
    )


def _sheet(outcomes: list[Outcome], marked: bool) -> Image.Image:
    columns = 6
    cell_w, cell_h = 2 * THUMB, THUMB + 28
    rows = (len(outcomes) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for index, outcome in enumerate(outcomes):
        x, y = (index % columns) * cell_w, (index // columns) * cell_h
        for offset, image in ((0, outcome.original), (THUMB, outcome.marked if marked else outcome.result)):
            if image is None:
                draw.rectangle((x + offset, y, x + offset + THUMB - 2, y + THUMB - 2), fill=(235, 235, 235))
                draw.text((x + offset + 8, y + THUMB // 2), outcome.reason, fill="black")
                continue
            thumb = image.copy()
            thumb.thumbnail((THUMB - 2, THUMB - 2))
            sheet.paste(thumb, (x + offset, y))
        figures = f" lo {outcome.leftover * 100:.2f}% h {outcome.halo * 100:.1f}%" if outcome.result else ""
        draw.text((x + 2, y + THUMB + 1), f"{outcome.photo.name} · {outcome.photo.person}", fill="black")
        colour = (0, 110, 0) if outcome.delivered and outcome.clean else (200, 0, 0) if outcome.delivered else "black"
        draw.text((x + 2, y + THUMB + 13), f"{outcome.verdict} {outcome.reason}{figures}", fill=colour)
    return sheet


def _percent(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "0/0"


def _agreement(delivered: list[Outcome], unclean: Callable[[Outcome], bool]) -> str:
    """How well the engine's doubt (old background or strands left, or kept as the body; not the top
    of the head lost) finds the delivered photos the independent measure calls ``unclean``:
    precision (of the photos it warns about) and recall (of the unclean ones)."""
    warned = [o for o in delivered if o.cut_out.left or o.cut_out.pocketed]
    bad = [o for o in delivered if unclean(o)]
    both = sum(unclean(o) for o in warned)
    return f"{_percent(both, len(warned))}, {_percent(both, len(bad))}"


#: Each check of the face, what it flags, and the label (a trait) a person gave the photos that
#: should trip it.
CHECKS: dict[str, tuple[str, Callable[[FaceFindings], bool]]] = {
    "glasses": ("glasses", lambda f: f.glasses),
    "one side of the face in shadow": ("side_shadow", lambda f: f.uneven_light),
    "overexposed": ("overexposed", lambda f: f.overexposed),
    "underexposed": ("underexposed", lambda f: f.underexposed),
    "mouth open (speech, a laugh), not a smile": ("open_mouth", lambda f: f.mouth == "open"),
    "hair over the eyebrows": ("hair_over_brows", lambda f: f.hair_over_brows),
    "hair over the eyes": ("hair_over_eyes", lambda f: f.hair_over_eyes),
    "head covering": ("head_covering", lambda f: f.head_covering),
}


def _checks(outcomes: list[Outcome]) -> None:
    """Per check: how many photos it flags, how many a person labelled, and both (precision and
    recall against the labels), over the photos whose face could be measured."""
    measured = [o for o in outcomes if o.findings is not None and o.findings.face_width_px > 0]
    print(f"\nChecks of the face, over the {len(measured)} photos whose face was measured:\n")
    print("| check | flagged | labelled | both | precision | recall | flagged photos |")
    print("|---|---|---|---|---|---|---|")
    for name, (trait, flags) in CHECKS.items():
        flagged = [o for o in measured if o.findings is not None and flags(o.findings)]
        labelled = [o for o in measured if trait in o.photo.traits]
        both = [o for o in flagged if trait in o.photo.traits]
        precision = f"{100 * len(both) / len(flagged):.0f} %" if flagged else "–"
        recall = f"{100 * len(both) / len(labelled):.0f} %" if labelled else "–"
        names = ", ".join(o.photo.name for o in flagged)
        print(f"| {name} | {len(flagged)} | {len(labelled)} | {len(both)} | {precision} | {recall} | {names} |")


def _hands(delivered: list[Outcome]) -> str:
    """How many of the delivered photos labelled with a hand at the face the checklist fails for the
    hand (measured on the photo each was made of), and how many others it fails for it."""
    labelled = [o for o in delivered if _hand_labelled(o.photo)]
    others = sum(o.hand_at_face and not _hand_labelled(o.photo) for o in delivered)
    return f"{sum(o.hand_at_face for o in labelled)}/{len(labelled)}; {others}"


def _hand_labelled(photo: RealPhoto) -> bool:
    return "hand_on_face" in photo.traits or photo.expect == "occluded"


def figures(outcomes: list[Outcome]) -> list[tuple[str, str]]:
    """The summary's figures of one spec's run, each named."""
    makeable = [o for o in outcomes if o.photo.expect == "make"]
    delivered = [o for o in outcomes if o.delivered]
    clean = [o for o in delivered if o.clean]
    times = [o.seconds for o in delivered]
    expected_refusals = [o for o in outcomes if o.photo.expect != "make"]
    named = [
        ("frontal, single-person, uncut portraits made", _percent(sum(o.delivered for o in makeable), len(makeable))),
        ("delivered with a clean cut-out (leftovers < 0.1 %, halo < 5 %)", _percent(len(clean), len(delivered))),
        (
            "delivered with leftovers < 0.1 %",
            _percent(sum(o.leftover < CLEAN_LEFTOVER for o in delivered), len(delivered)),
        ),
        (
            "delivered with no halo (< 5 % of the hair's edge)",
            _percent(sum(o.halo < CLEAN_HALO for o in delivered), len(delivered)),
        ),
        ("delivered with a part of the person lost (> 0.5 %)", str(sum(o.missing > LOST for o in delivered))),
        (
            "of them with the top or sides of the head lost, warned before paying",
            str(sum(o.missing > LOST and o.cut_out.lost_head for o in delivered)),
        ),
        ("delivered within every band of the rule", _percent(sum(o.bands_ok for o in delivered), len(delivered))),
        ("delivered with a doubtful cut-out, warned before paying", str(sum(o.doubtful for o in delivered))),
        ("doubt against leftovers ≥ 0.1 %: precision, recall", _agreement(delivered, lambda o: not o.clean_leftover)),
        ("doubt against not clean (leftovers, halo): precision, recall", _agreement(delivered, lambda o: not o.clean)),
        (
            "delivered not clean, without a warning about the cut-out",
            str(sum(not o.clean and not o.doubtful for o in delivered)),
        ),
        (
            "photos that should be refused, refused",
            _percent(sum(not o.delivered for o in expected_refusals), len(expected_refusals)),
        ),
        ("delivered with a hand at the face: told (❌) of those labelled; others told", _hands(delivered)),
        (
            "refused as ending at the neck as the spec is picked, which the engine makes",
            str(sum(o.refused_early_but_made for o in outcomes)),
        ),
    ]
    if times:
        named.append(("check and photo, median (max)", f"{statistics.median(times):.2f} s ({max(times):.2f} s)"))
    return named


def summary(runs: list[tuple[Spec, str, list[Outcome]]]) -> None:
    """The figures of every spec's run side by side."""
    outcomes = runs[0][2]
    people = {o.photo.person for o in outcomes}
    busy = [o for o in outcomes if o.photo.background == "busy"]
    print(f"{len(outcomes)} photos of {len(people)} people, {len(busy)} in front of busy backgrounds.\n")
    columns = [f"{spec.spec_id} {spec.title} ({spec.px[0]}x{spec.px[1]}), #{bg}" for spec, bg, _ in runs]
    print(f"| figure | {' | '.join(columns)} |\n|---|{'---|' * len(runs)}")
    tables = [dict(figures(outcomes)) for _, _, outcomes in runs]
    for name in tables[0]:
        print(f"| {name} | {' | '.join(table.get(name, '–') for table in tables)} |")


def report(outcomes: list[Outcome], spec: Spec, bg: str) -> None:
    """One spec's run, photo by photo."""
    print(f"\n### Spec {spec.spec_id} {spec.title} ({spec.px[0]}x{spec.px[1]}), background #{bg}\n")
    print("| photo | person | background | expected | verdict | leftovers | lost | halo | doubt | bands | time |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for o in outcomes:
        scene = o.photo.background + (f" ({', '.join(o.photo.scene)})" if o.photo.scene else "")
        cells = (
            f"{o.leftover * 100:.3f} % | {o.missing * 100:.2f} % | {o.halo * 100:.1f} % | "
            f"{o.cut_out.doubt * 100:.2f} % | "
            f"{'✓' if o.bands_ok else '✗ ' + ', '.join(k for k, v in o.bands.items() if not v)} | {o.seconds:.2f} s"
            if o.result
            else "– | – | – | – | – | –"
        )
        verdict = f"{o.verdict} {o.reason}".strip()
        print(f"| {o.photo.name} | {o.photo.person} | {scene} | {o.photo.expect} | {verdict} | {cells} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--spec", nargs="+", default=["3110:blue", "3108:white"], help="spec ids, each with :background if not --bg"
    )
    parser.add_argument("--bg", default="blue", help="background: white, blue, red or hex (default blue)")
    parser.add_argument("--out", default=".bench", help="folder for the contact sheets")
    parser.add_argument("--only", nargs="*", help="only these photo names")
    parser.add_argument(
        "--photos",
        choices=("tuned", "held-out", "fresh", "all"),
        default="tuned",
        help="the photos the engine was tuned on (PHOTOS, the default), those held out from it, both of"
        " these (all), or the fresh ones (FRESH) gathered after the held-out set was looked at too often",
    )
    args = parser.parse_args()
    asked = [(item.partition(":")[0], item.partition(":")[2] or args.bg) for item in args.spec]
    specs = [(load_catalog().get(int(spec_id)) if spec_id.isdigit() else None, bg) for spec_id, bg in asked]
    missing = [item for item, (spec, _) in zip(args.spec, specs, strict=True) if spec is None]
    if missing:
        parser.error(f"no spec {', '.join(missing)}")
    chosen = {"tuned": PHOTOS, "held-out": HELD_OUT, "fresh": FRESH, "all": PHOTOS + HELD_OUT}[args.photos]
    photos = [p for p in chosen if not args.only or p.name in args.only]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for spec, bg in specs:
        assert spec is not None
        colour = _colour(bg)
        outcomes = []
        for photo in photos:
            outcomes.append(run_one(photo, spec, colour))
            print(f"{spec.spec_id} {photo.name}: {outcomes[-1].verdict} {outcomes[-1].reason}", file=sys.stderr)
        sheets = [out / f"idphoto_real_{spec.spec_id}.png", out / f"idphoto_real_{spec.spec_id}_marked.png"]
        _sheet(outcomes, marked=False).save(sheets[0])
        _sheet(outcomes, marked=True).save(sheets[1])
        print(f"Contact sheets: {sheets[0]}, {sheets[1]}", file=sys.stderr)
        runs.append((spec, colour, outcomes))
    summary(runs)
    for spec, colour, outcomes in runs:
        report(outcomes, spec, colour)
    _checks(runs[0][2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
