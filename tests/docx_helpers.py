"""Word documents for the contract tests: a minimal .docx (content types, relationships, document.xml) built
with zipfile, so a test states its paragraphs and tables and nothing else."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>'
)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _p(text: str) -> str:
    # Split the text over two runs, as Word does, to check runs are joined.
    half = len(text) // 2
    runs = "".join(
        f'<w:r><w:t xml:space="preserve">{escape(t)}</w:t></w:r>' for t in (text[:half], text[half:])
    )
    return f"<w:p>{runs}</w:p>"


def docx_xml(blocks: Sequence[str | list[list[str]]]) -> str:
    """A document.xml: a str is a paragraph, a list of rows is a table (each cell one paragraph)."""
    body = []
    for block in blocks:
        if isinstance(block, str):
            body.append(_p(block))
        else:
            rows = "".join(
                "<w:tr>" + "".join(f"<w:tc>{_p(cell)}</w:tc>" for cell in row) + "</w:tr>" for row in block
            )
            body.append(f"<w:tbl>{rows}</w:tbl>")
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W}">'
        f"<w:body>{''.join(body)}<w:sectPr/></w:body></w:document>"
    )


def write_docx(path: Path, blocks: Sequence[str | list[list[str]]]) -> Path:
    """A .docx at `path` (its folder made): a str is a paragraph, a list of rows a table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        z.writestr("word/document.xml", docx_xml(blocks))
    return path
