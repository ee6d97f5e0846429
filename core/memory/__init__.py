"""Memory the person controls: off until they turn it on (`/memory on`, per person and workspace); then the bot keeps
the facts they ask it to ("remember that …") and those the model proposes that they say yes to; `/memory` lists them
and deletes any or all; they join the system prompt of that person's own answers in that workspace, within a budget;
`/memory clear` and "delete all my data" erase them for real."""

from core.memory.prompt import memory_block
from core.memory.rules import remember_request
from core.memory.service import MAX_FACTS, MemoryService, Proposal

__all__ = ["MAX_FACTS", "MemoryService", "Proposal", "memory_block", "remember_request"]
