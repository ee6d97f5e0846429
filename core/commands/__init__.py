"""Commands: each defined once (registry: name, arguments, help, who may use it), rendered by every front end
(Discord app commands, Slack slash commands and the manifest, the terminal's help), and the words of the text
forms read once (text)."""
