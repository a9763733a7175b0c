"""Plain-Python building blocks shared by the domain apps; nothing here knows HTTP."""
