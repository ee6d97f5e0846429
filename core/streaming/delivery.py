"""The engine's delivery: post or update one message of an answer through the sink, with what each failure means
(a 429 slows the lane, a refused native stream falls back to posts and edits, a deleted message is written again,
a seal is retried until it lands or the answer is given up as undeliverable), where the answer went (its first and
last messages), and the file with the whole answer. Mixed into `ReplyStream` (core/streaming/engine.py)."""

from __future__ import annotations

import asyncio
import logging

from core.streaming.sink import (
    MessageGone,
    RateLimited,
    ReplyView,
    StoppedByUser,
    StreamUnavailable,
    Undeliverable,
)

log = logging.getLogger(__name__)


class Delivery:
    """Mixed into `ReplyStream`."""

    async def _deliver(self, index: int, text: str, *, seal: bool, last: bool) -> bool:
        """Post or update message `index`; `seal` means this is that message's last version.

        A sealing request (the one that finishes a message: Slack's chat.stopStream, a final edit) is one at a
        time for its message: the next attempt is sent only once the previous one has failed, and never before
        the Retry-After of its 429, whatever lane the message is paced on. `Undeliverable` is final: no retry."""
        final_answer = self.state.done and seal and last
        view = self._view(index, "done" if seal else "streaming", is_last=last)
        attempts = self.final_retries if seal else 1
        retry_at = 0.0  # a 429's Retry-After: the message's next attempt waits for it
        tasks_version = self.state.tasks_version  # what `view` shows of the tool calls
        for attempt in range(attempts):
            lane = self._lane_for_next()  # before sending: a post opens the message
            try:
                await self._send(index, text, view, seal)
                self.throttle.succeeded(lane)
                self._tasks_shown = tasks_version
                return True
            except RateLimited as exc:
                self.stats.rate_limited += 1
                # the lane of the request refused: once a new message is up (a stream started and stopped in one
                # go whose stop was refused), its retries are paced on the message's lane, no longer the post lane
                refused = self._lane_for_next()
                self.throttle.rate_limited_for(refused, exc.retry_after, self.sink.bucket, exc.scope_global)
                if self._native and index >= len(self._refs) and self.fallback is not None:
                    # the budget for new native streams is spent (Slack: ~20 starts a minute per workspace):
                    # this answer goes out by posts and edits now instead of queueing for a start
                    log.info("native stream refused for rate; answering with edits")
                    self._use_edit_path()
                    continue
                retry_at = self.throttle.clock.now() + exc.retry_after
            except Undeliverable:
                raise
            except StoppedByUser:
                # the person stopped it on the platform (Slack's native Stop): no more text goes in; the stream is
                # closed with what was written, marked stopped
                log.info("reply %s stopped on the platform", self.reply_id)
                self.stop()
                if not seal:
                    return False
            except StreamUnavailable as exc:
                log.info("native stream unavailable (%s); finishing with edits", exc)
                self._use_edit_path()
                if exc.ref is not None:
                    if index < len(self._refs):
                        self._refs[index] = exc.ref
                    else:
                        self._refs.append(exc.ref)
                        self._sent.append("")
                        self._open = True
                continue  # retry at once through the edit path
            except MessageGone:
                # someone deleted the message being written: go on in a fresh one
                if index < len(self._refs):
                    del self._refs[index:], self._sent[index:]
                    self._open = False
                index = self._index
            except Exception as exc:  # a platform 5xx or network error: skip a tick, retry a seal
                self.stats.failures += 1
                log.warning("platform request failed: %s", type(exc).__name__)
                if not seal:
                    return False
                await asyncio.sleep(min(0.25 * 2**attempt, 5.0))
            if attempt + 1 < attempts:
                if (wait := retry_at - self.throttle.clock.now()) > 0:
                    await self.throttle.clock.sleep(wait)
                await self._acquire()
        if seal:
            # the platform kept failing for minutes: the answer ends here, not delivered, rather than hold its
            # conversation (and a shutdown) forever
            log.error("gave up delivering reply %s (final=%s)", self.reply_id, final_answer)
            raise Undeliverable(f"gave up after {attempts} attempts")
        return False

    def _use_edit_path(self) -> None:
        """Finish with posts and edits: a native stream was refused, or its budget is spent."""
        self._native = False
        if self.fallback is not None:
            # edits count against the edit path's own budget (e.g. Slack's chat.update tier)
            self.throttle.leave(self.sink.bucket)
            self.throttle, self.limits = self.fallback
            self.throttle.join(self.sink.bucket)
            self._sharing = self.throttle
            self.fallback = None

    async def _send(self, index: int, text: str, view: ReplyView, seal: bool) -> None:
        sink = self.sink
        if index >= len(self._refs):
            if self._native:
                ref = await sink.stream_start(text, view)
                self._opened_at = self.throttle.clock.now()
                self._refs.append(ref)
                self._sent.append(text)
                self._open = True
                self.stats.appends += 1
            else:
                ref = await sink.post(text, view)
                self._refs.append(ref)
                self._sent.append(text)
                self._open = not seal
                self.stats.posts += 1
            # the next update waits its fair share from here, even if a new message spent no shared budget
            self.throttle.share_from_now(self.sink.lane, self.sink.bucket)
            self.stats.messages += 1
            if len(self._refs) == 1:
                await self._first_posted()
            if self._native and seal:  # started and finished at once; if the stop fails, it alone is retried
                await sink.stream_stop(ref, "", view)
                self._open = False
            return
        previous = self._sent[index]
        if self._native and self._open:
            delta = text[len(previous) :] if text.startswith(previous) else ""
            if seal:
                await sink.stream_stop(self._refs[index], delta, view)
            elif delta or self._tasks_unsent():
                await sink.stream_append(self._refs[index], delta, view)
            self.stats.appends += 1
        elif text != previous or seal:
            await sink.edit(self._refs[index], text, view)
            self.stats.edits += 1
        self._sent[index] = text
        if seal:
            self._open = False

    async def _first_posted(self) -> None:
        """Record where the answer went, beside the stream: a slow database must not hold up the next update
        (`run` waits for it before returning, so the final save still comes last)."""
        if self.on_first_message is None:
            return
        self._recording = asyncio.create_task(self._record_first(), name=f"reply-posted-{self.reply_id}")

    async def _record_first(self) -> None:
        assert self.on_first_message is not None
        try:
            await self.on_first_message(self.first_ref_id())
        except Exception as exc:  # never a reason to post the message again
            log.warning("could not record where the answer was posted: %s", type(exc).__name__)

    def first_ref_id(self) -> str:
        """The platform id of the first message of the answer ("" if nothing was posted)."""
        return self._ref_id(0)

    def last_ref_id(self) -> str:
        """The platform id of the answer's newest message, the one that carries its controls ("" if none).
        The core saves it with its checkpoints, so a restart can mark a cut answer where it stopped."""
        return self._ref_id(-1)

    def _ref_id(self, index: int) -> str:
        if not self._refs:
            return ""
        ref_id = getattr(self.sink, "ref_id", None)
        return ref_id(self._refs[index]) if ref_id else str(self._refs[index])

    async def _maybe_upload(self) -> None:
        every = self.limits.file_after_messages
        if not self.state.answer or not (self._overflowed or (every and len(self._refs) > every)):
            return
        try:
            await self.sink.upload("answer.md", self.state.answer, self._view(len(self._refs), "done", False))
        except Exception as exc:
            log.warning("could not upload the full answer: %s", type(exc).__name__)
