"""Find a font that can draw the report's Chinese chart labels.

matplotlib's default font (DejaVu Sans) has no CJK glyphs: Chinese labels drawn with it come out as
boxes. A font qualifies here only if it really holds the glyphs (asked of the font file itself, not
guessed from its name), looked for in the caller's directories, then in $OPS_WATCH_FONT_DIRS, then among
the system's fonts, the well-known Simplified Chinese families first.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

ENV_FONT_DIRS = "OPS_WATCH_FONT_DIRS"
# Characters the charts draw (weekday names, panel titles): a font that lacks one of them is no use.
CJK_SAMPLE = "班次到位率周一二三四五六日内存问题新增已解决"
# Best first: families drawn with Simplified Chinese glyph shapes, then broad fallbacks. A name matches a
# family that starts with it ("AR PL UMing" matches "AR PL UMing CN").
PREFERRED_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "Noto Sans SC",
    "Noto Sans CJK",
    "Droid Sans Fallback",
    "AR PL UMing",
    "AR PL UKai",
)
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")


def find_cjk_font(extra_dirs: Sequence[Path] = ()) -> Path | None:
    """A font file with glyphs for the charts' Chinese labels, or None when the machine has none.

    Looks in `extra_dirs` (recursively; a font file may be named directly), then in the directories of
    $OPS_WATCH_FONT_DIRS (os.pathsep-separated), then in the system's fonts. The search opens font files,
    so its answer is kept per `extra_dirs` (and $OPS_WATCH_FONT_DIRS); `clear_font_cache()` forgets it.
    A collection (.ttc) qualifies as a whole; `font_face_index` says which of its faces to draw with.
    """
    return _search(tuple(str(d) for d in extra_dirs), os.environ.get(ENV_FONT_DIRS, ""))


def font_face_index(path: Path) -> int:
    """Which face of `path` to draw with: in a collection such as NotoSansCJK.ttc (JP, KR, SC, TC, ...)
    the best-ranked face that has the glyphs; 0 for a single font, or when none of its faces qualifies."""
    found = _inspect(str(path))
    return found[1] if found else 0


def has_cjk_glyphs(path: Path, text: str = CJK_SAMPLE) -> bool:
    """Whether some face of the font file `path` has a glyph for every character of `text`."""
    return any(_has_glyphs(face, text) for face in _open_faces(str(path)))


def clear_font_cache() -> None:
    """Forget earlier answers (after fonts were installed, or in tests)."""
    _search.cache_clear()
    _inspect.cache_clear()


@lru_cache(maxsize=16)
def _search(extra_dirs: tuple[str, ...], env_dirs: str) -> Path | None:
    tiers: list[Iterable[str]] = [
        _font_files(extra_dirs),
        _font_files(tuple(d for d in env_dirs.split(os.pathsep) if d.strip())),
        _system_font_files(),
    ]
    for files in tiers:
        ranked = sorted((found[0], path) for path in files if (found := _inspect(path)) is not None)
        if ranked:
            return Path(ranked[0][1])
    return None


def _font_files(dirs: Sequence[str]) -> list[str]:
    files: list[str] = []
    for entry in dirs:
        root = Path(entry.strip()).expanduser()
        if root.is_file():
            candidates: Iterable[Path] = [root]
        elif root.is_dir():
            candidates = sorted(root.rglob("*"))
        else:
            continue  # a missing directory is not an error: the next tier may have a font
        files.extend(str(p) for p in candidates if p.suffix.lower() in FONT_SUFFIXES and p.is_file())
    return files


def _system_font_files() -> list[str]:
    # Imported here: font_manager loads (on its first use, builds) matplotlib's font list, which the other
    # tiers do not need.
    import matplotlib
    from matplotlib import font_manager

    # findSystemFonts scans the font directories (and asks fontconfig) now, so a font installed after
    # matplotlib built its cache is still seen; ttflist adds fonts registered with addfont().
    files = set(font_manager.findSystemFonts(fontext="ttf"))
    files.update(entry.fname for entry in font_manager.fontManager.ttflist)
    bundled = str(Path(matplotlib.get_data_path()).resolve())  # DejaVu and friends: no CJK, skip them
    return sorted(f for f in files if not str(Path(f).resolve()).startswith(bundled))


@lru_cache(maxsize=512)
def _inspect(path: str) -> tuple[int, int] | None:
    """(rank, face index) of the best face of `path` that has the CJK glyphs; None if no face has them."""
    best: tuple[int, int] | None = None
    for index, face in enumerate(_open_faces(path)):
        if _has_glyphs(face, CJK_SAMPLE):
            key = (_family_rank(face.family_name), index)
            best = key if best is None else min(best, key)
    return best


def _open_faces(path: str) -> list:
    from matplotlib.ft2font import FT2Font

    try:
        first = FT2Font(path)
    except (OSError, RuntimeError, ValueError):
        return []  # unreadable or not a font: skip it, the search goes on
    faces = [first]
    for index in range(1, getattr(first, "num_faces", 1)):
        try:
            faces.append(FT2Font(path, face_index=index))
        except TypeError:
            break  # matplotlib < 3.10 opens only a collection's first face
        except (OSError, RuntimeError, ValueError):
            continue
    return faces


def _has_glyphs(face, text: str) -> bool:
    try:
        return all(face.get_char_index(ord(ch)) != 0 for ch in text)
    except (RuntimeError, ValueError):
        return False


def _family_rank(family: str | None) -> int:
    name = (family or "").casefold()
    for rank, preferred in enumerate(PREFERRED_FAMILIES):
        if name.startswith(preferred.casefold()):
            return rank
    return len(PREFERRED_FAMILIES)
