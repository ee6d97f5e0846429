"""Files sent with a message: images for vision models, text and PDFs as documents, notes for the rest.

The real type comes from the bytes, never from the name or the platform's content type: a `.png`
that is not a PNG is refused with a note, a PNG named `.txt` is still an image. Images are decoded,
shrunk within `AttachmentLimits` and re-encoded (which also drops metadata such as GPS tags) and kept
as base64, so the prompt can send them as OpenAI `image_url` data URLs and history still has them
on later turns. Text, code, JSON and CSV are inlined as documents; PDFs become their text.

Everything here is CPU work on bytes; `process_attachments` runs it in a thread off the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import PurePath

from core.errors import UserFacingError

log = logging.getLogger(__name__)

IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
_IMAGE_EXTENSIONS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp", ".gif": "gif"}
_TEXT_EXTENSIONS = frozenset(
    ".txt .md .markdown .rst .csv .tsv .json .jsonl .yaml .yml .toml .ini .cfg .conf .log .xml .html .htm .css "
    ".py .js .mjs .ts .tsx .jsx .java .kt .c .h .cpp .hpp .cc .cs .go .rs .rb .php .swift .scala .sh .bash .zsh "
    ".sql .r .lua .pl .hs .ex .exs .dart .vue .svelte .tex .diff .patch .env .gitignore .dockerfile".split()
)
IMAGE_TOKENS = 1000  # what one image costs in the context estimate (providers count 85 to ~1500)


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    max_files: int = 10  # per message
    max_file_bytes: int = 20 * 1024 * 1024  # any single file, as downloaded
    max_images: int = 4  # per message
    max_image_side: int = 1568  # longest side after resizing, in pixels
    max_image_pixels: int = 40_000_000  # refuse decompression bombs before decoding
    max_document_chars: int = 40_000  # per text document or PDF, after extraction
    max_total_document_chars: int = 60_000  # all documents of one message together
    max_pdf_pages: int = 50


@dataclass(slots=True)
class Attachment:
    """A file as the platform delivered it; `content_type` is the platform's claim, only a hint."""

    name: str
    content_type: str
    data: bytes
    size: int | None = None  # as the platform reported it, when the bytes were not fetched (too large)
    seconds: float | None = None  # audio: how long it plays, as the platform reported it (core.voice)
    voice: bool = False  # the platform marks it a voice message or an audio clip (core.voice)


@dataclass(slots=True)
class ProcessedAttachments:
    images: list[dict] = field(default_factory=list)  # {"name", "mime", "data" (base64)}
    documents: list[dict] = field(default_factory=list)  # {"name", "kind", "text"}
    notes: list[str] = field(default_factory=list)  # for the reply, one line per file not (fully) used

    def as_extra(self) -> dict:
        """What a StoredMessage.extra keeps of them."""
        extra: dict = {}
        if self.images:
            extra["images"] = self.images
        if self.documents:
            extra["documents"] = self.documents
        if self.notes:
            extra["attachment_notes"] = self.notes
        return extra

    @property
    def usable(self) -> bool:
        return bool(self.images or self.documents)


def sniff(data: bytes) -> str:
    """The real kind of a file from its first bytes: png, jpeg, gif, webp, pdf, text or binary."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.lstrip()[:5] == b"%PDF-":
        return "pdf"
    head = data[:8192]
    if b"\x00" in head:
        return "binary"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sample is still text
        if exc.start < len(head) - 4:
            return "binary"
    return "text"


def claimed_kind(name: str, content_type: str) -> str:
    """What the name (or, failing that, the content type) says the file is."""
    suffix = PurePath(name).suffix.lower()
    if suffix in _IMAGE_EXTENSIONS:
        return _IMAGE_EXTENSIONS[suffix]
    if suffix == ".pdf":
        return "pdf"
    if suffix in _TEXT_EXTENSIONS:
        return "text"
    content_type = (content_type or "").split(";")[0].strip().lower()
    for kind, mime in IMAGE_TYPES.items():
        if content_type == mime:
            return kind
    if content_type == "application/pdf":
        return "pdf"
    if content_type.startswith("text/") or content_type in ("application/json", "application/xml"):
        return "text"
    return ""


_KIND_NAMES = {"png": "a PNG image", "jpeg": "a JPEG image", "gif": "a GIF image", "webp": "a WebP image"}
_KIND_NAMES |= {"pdf": "a PDF", "text": "a text file"}


def _label(name: str) -> str:
    """A file name safe to show in a note: one line, no Markdown tricks, not too long."""
    clean = "".join(ch for ch in name if ch.isprintable()).replace("`", "'").strip() or "file"
    return clean[:80]


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def process(attachments: list[Attachment], limits: AttachmentLimits | None = None) -> ProcessedAttachments:
    """Turn files into prompt material; every file that cannot be used fully gets a note instead."""
    limits = limits or AttachmentLimits()
    out = ProcessedAttachments()
    document_room = limits.max_total_document_chars
    for index, attachment in enumerate(attachments):
        label = _label(attachment.name)
        if index >= limits.max_files:
            out.notes.append(f"📎 *Only the first {limits.max_files} files of a message are read; `{label}` was not.*")
            continue
        size = attachment.size if attachment.size is not None and not attachment.data else len(attachment.data)
        if size > limits.max_file_bytes:
            out.notes.append(
                f"📎 *`{label}` is too large ({_size(size)}; the limit is {_size(limits.max_file_bytes)}) "
                "and was not read.*"
            )
            continue
        data = attachment.data
        if not data:
            out.notes.append(f"📎 *`{label}` is empty and was skipped.*")
            continue
        real, claimed = sniff(data), claimed_kind(attachment.name, attachment.content_type)
        if claimed and claimed != "text" and real != claimed and not (real in IMAGE_TYPES and claimed in IMAGE_TYPES):
            out.notes.append(
                f"📎 *`{label}` is named like {_KIND_NAMES[claimed]} but its content is "
                f"{_KIND_NAMES.get(real, 'something else')}; it was not read.*"
            )
            continue
        try:
            if real in IMAGE_TYPES:
                if len(out.images) >= limits.max_images:
                    out.notes.append(f"🖼️ *Only {limits.max_images} images per message are read; `{label}` was not.*")
                    continue
                out.images.append(_image(label, data, limits))
            elif real == "pdf":
                text, note = _pdf_text(data, limits)
                if note:
                    out.notes.append(f"📄 *`{label}`: {note}*")
                if text.strip():
                    document_room = _add_document(out, label, "pdf", text, limits, document_room)
            elif real == "text":
                text = data.decode("utf-8", errors="replace").replace("\x00", "")
                if "\ufffd" in text and claimed != "text":
                    out.notes.append(f"📎 *`{label}` is not a file type I can read; it was skipped.*")
                    continue
                document_room = _add_document(out, label, "text", text, limits, document_room)
            elif claimed == "text" and b"\x00" not in data[:8192]:
                text = data.decode("utf-8", errors="replace")
                out.notes.append(f"📎 *`{label}` is not valid UTF-8; characters that could not be read were replaced.*")
                document_room = _add_document(out, label, "text", text, limits, document_room)
            else:
                out.notes.append(f"📎 *`{label}` is not a file type I can read (images, PDFs and text files are).*")
        except _Unreadable as exc:
            out.notes.append(f"📎 *`{label}` could not be read: {exc}.*")
    return out


async def process_attachments(
    attachments: list[Attachment], limits: AttachmentLimits | None = None
) -> ProcessedAttachments:
    return await asyncio.to_thread(process, attachments, limits)


class _Unreadable(Exception):
    pass


class NothingReadable(UserFacingError):
    """A message made only of files, none of which could be used; the text says why for each."""


def limits_for_room(tokens: int, base: AttachmentLimits | None = None) -> AttachmentLimits:
    """Limits whose documents fit in `tokens` of context (about 3 characters a token, some room kept)."""
    base = base or AttachmentLimits()
    room = max(0, int(tokens * 3 * 0.8))
    return dataclasses.replace(
        base,
        max_document_chars=min(base.max_document_chars, room),
        max_total_document_chars=min(base.max_total_document_chars, room),
    )


def _add_document(
    out: ProcessedAttachments, label: str, kind: str, text: str, limits: AttachmentLimits, room: int
) -> int:
    text = text.replace("\r\n", "\n").strip()
    keep = min(limits.max_document_chars, room)
    if keep <= 0:
        out.notes.append(f"📎 *`{label}` was not read: the message's documents already fill the space for files.*")
        return room
    if len(text) > keep:
        out.notes.append(f"📎 *`{label}` is long; only its first {keep:,} of {len(text):,} characters were read.*")
        text = text[:keep]
    out.documents.append({"name": label, "kind": kind, "text": text})
    return room - len(text)


def _image(label: str, data: bytes, limits: AttachmentLimits) -> dict:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > limits.max_image_pixels:
                    raise _Unreadable(f"the image is too large ({width}×{height} pixels)")
                image.seek(0)  # an animated GIF or WebP: its first frame
                image = ImageOps.exif_transpose(image)
                image.thumbnail((limits.max_image_side, limits.max_image_side))
                transparent = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
                buffer = io.BytesIO()
                if transparent:
                    image.convert("RGBA").save(buffer, "PNG", optimize=True)
                    mime = "image/png"
                else:
                    image.convert("RGB").save(buffer, "JPEG", quality=85, optimize=True)
                    mime = "image/jpeg"
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _Unreadable("the image is damaged or too large") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise _Unreadable("the image is damaged") from exc
    return {"name": label, "mime": mime, "data": base64.b64encode(buffer.getvalue()).decode("ascii")}


def _pdf_text(data: bytes, limits: AttachmentLimits) -> tuple[str, str]:
    """(text, note) of a PDF, reading at most `max_pdf_pages` pages and a little more than the char limit."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it warns about every odd PDF, with their content
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise _Unreadable("it is password-protected")
        pages = reader.pages
        total = len(pages)
        parts: list[str] = []
        chars = 0
        read = 0
        for page in pages[: limits.max_pdf_pages]:
            text = page.extract_text() or ""
            parts.append(text)
            chars += len(text)
            read += 1
            if chars > limits.max_document_chars:
                break
    except _Unreadable:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise _Unreadable("the PDF is damaged") from exc
    text = "\n\n".join(p.strip() for p in parts if p.strip())
    note = ""
    if not text.strip():
        note = "no text found (a scanned PDF?); send its pages as images instead"
    elif read < total and chars <= limits.max_document_chars:
        note = f"only its first {read} of {total} pages were read"
    return text, note


def document_block(document: dict) -> str:
    """How a document appears in the prompt."""
    return f'<document name="{document["name"]}">\n{document["text"]}\n</document>'


def image_part(image: dict) -> dict:
    return {"type": "image_url", "image_url": {"url": f"data:{image['mime']};base64,{image['data']}"}}
