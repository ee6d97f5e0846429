"""Tools the model may call through the router (OpenAI function calling): web search, links, MCP servers.

`ToolService` decides, per answer, which tools a model gets; `run_with_tools` is the loop that streams
a round, runs the tools the model asked for, sends their results back, and streams the final answer.
"""

from core.tools.base import Source, Tool, ToolError, ToolRegistry, ToolResult

__all__ = ["Source", "Tool", "ToolError", "ToolRegistry", "ToolResult"]
