"""Catch me up: a summary, on request, of what one person may read in a channel or thread."""
