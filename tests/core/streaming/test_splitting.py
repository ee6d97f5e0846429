from hypothesis import given, settings
from hypothesis import strategies as st

from core.streaming.splitting import open_fence_at_end, split_first, split_markdown


def test_short_text_is_one_message():
    assert split_markdown("hello", 100) == ["hello"]
    assert split_markdown("", 100) == [""]


def test_prefers_paragraph_boundary():
    text = "a" * 60 + "\n\n" + "b" * 60
    chunks = split_markdown(text, 100)
    assert chunks == ["a" * 60, "b" * 60]


def test_falls_back_to_line_then_space_then_hard_cut():
    assert split_markdown("x" * 50 + "\n" + "y" * 80, 100) == ["x" * 50, "y" * 80]
    words = " ".join(["word"] * 40)
    chunks = split_markdown(words, 50)
    assert all(len(c) <= 50 for c in chunks)
    assert " ".join(chunks).split() == words.split()
    assert [len(c) for c in split_markdown("z" * 250, 100)] == [92, 92, 66]


def test_code_fence_is_closed_and_reopened_with_language():
    code = "\n".join(f"print({i})" for i in range(40))
    text = "Intro paragraph.\n\n```python\n" + code + "\n```\n\nAfter."
    chunks = split_markdown(text, 120)
    assert len(chunks) > 2
    for chunk in chunks:
        assert len(chunk) <= 120
        assert open_fence_at_end(chunk) is None, chunk
    for chunk in chunks[1:-1]:
        assert chunk.startswith("```python\n")
    lines = "\n".join(chunks).split("\n")
    assert [line for line in lines if line.startswith("print(")] == [f"print({i})" for i in range(40)]


def test_message_does_not_end_with_a_fence_that_just_opened():
    text = "p" * 80 + "\n```js\n" + "let a = 1;\n" * 20 + "```"
    head, _cut, _reopen = split_first(text, 100)
    assert not head.rstrip().endswith("```js")


def test_tilde_fences_and_inline_triple_backticks():
    assert open_fence_at_end("~~~~sh\nls\n") == open_fence_at_end("~~~~sh\n")
    assert open_fence_at_end("~~~~sh\nls\n~~~~\n") is None
    assert open_fence_at_end("use ```inline``` code") is None


def test_never_splits_combining_marks_or_joined_emoji():
    family = "👩\u200d👩\u200d👧\u200d👦"
    text = ("e\u0301" * 30) + family * 10
    chunks = split_markdown(text, 25)
    assert "".join(chunks) == text
    for chunk in chunks[1:]:
        assert chunk[0] not in "\u0301\u200d"


def test_min_cut_keeps_already_streamed_text():
    body = "para one\n\n" + "x" * 150
    _head, cut, _ = split_first(body, 100, min_cut=95)
    assert cut >= 95


markdown_text = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
        st.sampled_from(["\n", "\n\n", "```", "```python\n", "\n```\n", "~~~\n", " ", "👍", "e\u0301", "\u200d"]),
    ),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(markdown_text, st.integers(min_value=16, max_value=300))
def test_property_every_chunk_fits_and_no_text_is_lost(text, limit):
    chunks = split_markdown(text, limit)
    assert all(len(chunk) <= limit for chunk in chunks)
    # every non-space character of the input appears, in order, in the output
    joined = "".join(chunks)
    position = 0
    for ch in text:
        if ch.isspace():
            continue
        position = joined.find(ch, position)
        assert position >= 0, (text, chunks)
        position += 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abc xyz\n", max_size=40), max_size=30), st.integers(min_value=30, max_value=200))
def test_property_fenced_chunks_are_balanced(lines, limit):
    text = "start\n```python\n" + "\n".join(lines) + "\n```\nend"
    for chunk in split_markdown(text, limit):
        assert open_fence_at_end(chunk) is None


def test_rotation_cut_ends_at_a_paragraph_break_past_what_is_shown():
    from core.streaming.splitting import rotation_cut

    body = "one\n\ntwo\n\nthree and mo"
    assert rotation_cut(body, 4, force=False) == ("one\n\ntwo\n\n", 10, "")
    assert rotation_cut(body, 12, force=False) is None  # the last break is already on screen: wait for the next
    assert rotation_cut(body, 12, force=True) == ("one\n\ntwo\n\nthree and ", 20, "")  # the deadline: at a space
    code = "text\n\n```py\nx = 1\n\ny = 2"
    head, cut, reopen = rotation_cut(code, 6, force=False)
    assert head == "text\n\n```py\nx = 1\n\n```" and reopen == "```py\n" and code[cut:] == "y = 2"
