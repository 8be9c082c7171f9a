"""What every layer shares and nothing else: the base of the library's named errors."""
