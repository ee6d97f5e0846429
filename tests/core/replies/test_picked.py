"""Messages a person picked, as the model reads them: only those, whoever wrote them, their files, what they reply
to and forward, within the prompt limit."""

from __future__ import annotations

from core.replies.picked import Picked, Request, Task, forwarded_text, language_of, prompt_for, quoted


def test_a_quote_names_the_author_the_reply_the_files_and_what_it_forwards():
    message = Picked(
        "alice",
        "Is this right?\n\nfor i in range(3): print(i)",
        files=("trace.txt",),
        forwarded=(Picked("", "original words", files=("pic.png",)),),
        replies_to=Picked("bob", "Try the loop\nwith three items"),
    )
    text = quoted(message)
    assert text.startswith("alice wrote:\n(in reply to bob: Try the loop with three items)")
    assert "> Is this right?\n>\n> for i in range(3): print(i)" in text
    assert "[attached: trace.txt]" in text
    assert "(forwarding this message:)\n> original words\n[attached: pic.png]" in text


def test_each_task_says_what_to_do():
    message = [Picked("alice", "Bonjour à tous")]
    assert prompt_for(Request(Task.TRANSLATE, message, locale="ja"), 5000).startswith(
        "Translate this message into Japanese."
    )
    assert "Explain the code" in prompt_for(Request(Task.EXPLAIN, message), 5000)
    assert prompt_for(Request(Task.ASK, message, question="Who is this for?"), 5000).startswith("Who is this for?")
    assert prompt_for(Request(Task.ASK, message), 5000).startswith("What should I know about this message?")
    assert "Summarize this thread" in prompt_for(Request(Task.SUMMARIZE, message), 5000)


def test_locales_name_languages():
    assert language_of("pt-BR") == "Brazilian Portuguese"
    assert language_of("fr") == "French"
    assert language_of("xx-YY") == "English"


def test_a_long_thread_keeps_its_newest_messages_within_the_limit():
    thread = [Picked(f"user{i}", f"message number {i} " * 20) for i in range(100)]
    prompt = prompt_for(Request(Task.SUMMARIZE, thread), 3000)
    assert len(prompt) <= 3000
    assert "user99 wrote:" in prompt and "user0 wrote:" not in prompt
    assert "older messages left out)" in prompt


def test_a_forward_with_and_without_a_comment():
    forwarded = [Picked("", "The meeting moved to 3pm.", files=("agenda.pdf",))]
    assert forwarded_text("", forwarded) == "Forwarded message:\n> The meeting moved to 3pm.\n[attached: agenda.pdf]"
    assert forwarded_text("What time now?", forwarded).startswith("What time now?\n\nForwarded message:")
