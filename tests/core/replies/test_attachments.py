"""Files and images: sniffing, resizing, documents and PDFs, and how they reach the router's request."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from core.keys import Actor, ConversationKey
from core.records import Scope
from core.replies.attachments import Attachment, AttachmentLimits, NothingReadable, process, sniff
from core.streaming import PlatformLimits
from tests.fakes.fake_router import text_script
from tests.support.sinks import RecordingSink

KEY = ConversationKey("test", "W1", "C1", "files")
ALICE = Actor("test", "alice", "Alice", "W1")
VISION = "google/gemma-3-27b-it"


def png(width=64, height=48, color=(200, 30, 30), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def pdf(*pages: str) -> bytes:
    """A small valid PDF with one line of text per page."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>")
    font = 3 + 2 * len(pages)
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def sink():
    return RecordingSink(PlatformLimits(max_chars=2000, edit_interval=0.01))


async def ask(core, text, files, key=KEY):
    out = sink()
    submitted = await core.chat.submit(key, ALICE, text, out, attachments=files)
    await submitted.reply
    return submitted, out


# the pure part
def test_sniff_uses_bytes_not_names():
    assert sniff(png()) == "png"
    assert sniff(b"\xff\xd8\xff\xe0rest") == "jpeg"
    assert sniff(b"GIF89a....") == "gif"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff(pdf("hi")) == "pdf"
    assert sniff("héllo, wörld".encode()) == "text"
    assert sniff(b"MZ\x90\x00\x03\x00\x00\x00") == "binary"


def test_large_image_is_resized_and_reencoded():
    result = process([Attachment("big.png", "image/png", png(4000, 1000))])
    assert not result.notes
    [image] = result.images
    assert image["mime"] == "image/jpeg"  # no transparency: JPEG
    with Image.open(io.BytesIO(base64.b64decode(image["data"]))) as decoded:
        assert max(decoded.size) == AttachmentLimits().max_image_side
        assert decoded.size[0] / decoded.size[1] == pytest.approx(4.0, rel=0.01)


def test_transparent_image_stays_png():
    result = process([Attachment("logo.webp", "", png(10, 10, (0, 0, 0, 0), "RGBA"))])
    assert result.images[0]["mime"] == "image/png"


def test_lying_extension_too_large_and_unsupported_files_get_notes():
    files = [
        Attachment("cat.png", "image/png", b"MZ\x90\x00 not an image at all"),
        Attachment("huge.txt", "text/plain", b"x" * 101),
        Attachment("tool.exe", "application/octet-stream", b"MZ\x90\x00\x03\x00\x00\x00"),
        Attachment("fake.pdf", "application/pdf", b"hello, plain text"),
        Attachment("ok.py", "", b"print('hi')"),
    ]
    result = process(files, AttachmentLimits(max_file_bytes=100))
    notes = "\n".join(result.notes)
    assert "`cat.png` is named like a PNG image" in notes
    assert "`huge.txt` is too large" in notes
    assert "`tool.exe` is not a file type I can read" in notes
    assert "`fake.pdf` is named like a PDF" in notes
    assert [d["name"] for d in result.documents] == ["ok.py"]


def test_text_limits_and_invalid_utf8():
    result = process(
        [
            Attachment("long.md", "", b"a" * 500),
            Attachment("latin.csv", "", "name;city\nJosé;Zürich".encode("latin-1")),
        ],
        AttachmentLimits(max_document_chars=100),
    )
    assert len(result.documents[0]["text"]) == 100
    assert "Jos\ufffd" in result.documents[1]["text"]
    notes = "\n".join(result.notes)
    assert "only its first 100 of 500 characters" in notes and "not valid UTF-8" in notes


def test_image_named_as_text_is_still_an_image_and_damaged_images_are_noted():
    result = process([Attachment("notes.txt", "text/plain", png()), Attachment("bad.png", "", png()[:40])])
    assert len(result.images) == 1
    assert any("`bad.png` could not be read" in n for n in result.notes)


def test_pdf_pages_are_limited():
    result = process(
        [Attachment("doc.pdf", "application/pdf", pdf("one", "two", "three"))], AttachmentLimits(max_pdf_pages=2)
    )
    assert "one" in result.documents[0]["text"] and "three" not in result.documents[0]["text"]
    assert any("first 2 of 3 pages" in n for n in result.notes)


# through the chat service and the router
async def test_image_reaches_a_vision_model_as_image_url_part(core, fake_router):
    await core.chat.preferences.set_model(ALICE, KEY, Scope.CONVERSATION, VISION)
    fake_router.queue(text_script("A red rectangle."))
    _, out = await ask(core, "What is this?", [Attachment("photo.png", "image/png", png())])
    content = fake_router.requests[-1]["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert content[1]["type"] == "image_url"
    assert content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert out.texts() == ["A red rectangle."]
    # stored: the next turn still sends the image
    fake_router.queue(text_script("Still red."))
    await ask(core, "And the color?", [])
    first_turn = next(m for m in fake_router.requests[-1]["messages"] if m["role"] == "user")
    assert first_turn["content"][1]["type"] == "image_url", fake_router.requests[-1]["messages"]


async def test_image_to_a_text_model_is_left_out_with_a_note(core, fake_router):
    fake_router.queue(text_script("I see only text."))
    _, out = await ask(core, "Look", [Attachment("photo.png", "image/png", png())])
    assert fake_router.requests[-1]["messages"][-1] == {"role": "user", "content": "Look"}
    assert "cannot see images" in out.full_text() and VISION in out.full_text()


async def test_image_picks_omni_vision_route(core, fake_router):
    await core.chat.preferences.set_model(ALICE, KEY, Scope.CONVERSATION, "omni")
    fake_router.queue(text_script("Seen."))
    await ask(core, "What is it?", [Attachment("p.png", "", png())])
    request = fake_router.requests[-1]
    assert request["model"] == VISION
    assert request["messages"][-1]["content"][1]["type"] == "image_url"


async def test_pdf_text_reaches_the_prompt(core, fake_router):
    fake_router.queue(text_script("It says hello."))
    await ask(
        core, "Summarize", [Attachment("report.pdf", "application/pdf", pdf("Quarterly revenue grew 42 percent"))]
    )
    content = fake_router.requests[-1]["messages"][-1]["content"]
    assert content.startswith('Summarize\n\n<document name="report.pdf">')
    assert "Quarterly revenue grew 42 percent" in content


async def test_bad_files_get_notes_and_the_text_is_still_answered(core_factory, fake_router):
    core = await core_factory(fake_router.url)
    fake_router.queue(text_script("Here is my answer."))
    big = Attachment("huge.csv", "text/csv", b"", size=200 * 1024 * 1024)  # not downloaded: too large
    liar = Attachment("cat.jpg", "image/jpeg", b"#!/bin/sh\necho not a photo\n")
    _, out = await ask(core, "Answer anyway", [big, liar])
    final = out.full_text()
    assert final.startswith("Here is my answer.")
    assert "`huge.csv` is too large" in final and "`cat.jpg` is named like a JPEG image" in final
    assert fake_router.requests[-1]["messages"][-1] == {"role": "user", "content": "Answer anyway"}


async def test_files_only_message_and_nothing_readable(core, fake_router):
    fake_router.queue(text_script("A script."))
    submitted, _ = await ask(core, "", [Attachment("run.sh", "", b"echo hi")])
    assert "echo hi" in fake_router.requests[-1]["messages"][-1]["content"]
    assert submitted.conversation.title == "run.sh"
    with pytest.raises(NothingReadable, match="not a file type"):
        await core.chat.submit(KEY, ALICE, "  ", sink(), attachments=[Attachment("a.bin", "", b"\x00\x01\x02")])
